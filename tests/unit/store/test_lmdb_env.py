from __future__ import annotations

import os
import threading

from jiaozi_node.store import lmdb_env
from jiaozi_node.store.lmdb_store import LmdbBlockstore
from jiaozi_node.testing.blockstore import blocks


def rss_file_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


def test_shared_env_is_refcounted(tmp_path):
    a = LmdbBlockstore(tmp_path / "s")
    b = LmdbBlockstore(tmp_path / "s")
    key = os.path.realpath(tmp_path / "s")
    assert lmdb_env._ENVS[key].refs == 2
    a.close()
    a.close()  # idempotent
    assert lmdb_env._ENVS[key].refs == 1
    b.close()
    assert key not in lmdb_env._ENVS


def test_mapping_found_and_pages_released_without_losing_data(tmp_path):
    s = LmdbBlockstore(tmp_path / "s")
    shared = s._shared
    shared._unmap_after = 1 << 40  # only the explicit release below
    bs = blocks(24, 1 << 20, seed=21)
    s.put_many(bs)
    start, end = lmdb_env.mapping_of(shared.data_path)
    assert end - start == s._env.info()["map_size"]
    for b in bs:
        s.get(b.cid)
    before = rss_file_kib()
    assert shared.release_pages()
    after = rss_file_kib()
    assert before - after > 16 * 1024  # most of the 24 MiB we touched is no longer mapped
    assert all(s.get(b.cid) == b.data for b in bs)  # faulted back in from the page cache
    s.close()
    s = LmdbBlockstore(tmp_path / "s")
    assert all(s.get(b.cid) == b.data for b in bs)
    s.close()


def test_touched_releases_past_threshold_and_mapping_refreshed_after_resize(tmp_path):
    s = LmdbBlockstore(tmp_path / "s", initial_map_size=1 << 20)
    shared = s._shared
    shared._unmap_after = 4 << 20
    calls = []
    real = shared.release_pages
    shared.release_pages = lambda: calls.append(1) or real()  # type: ignore[method-assign]
    bs = blocks(12, 1 << 20, seed=22)
    for b in bs:  # grows the map several times: the cached mapping must follow
        s.put(b.cid, b.data)
    assert len(calls) >= 2
    assert lmdb_env.mapping_of(shared.data_path)[1] - lmdb_env.mapping_of(shared.data_path)[0] == \
        s._env.info()["map_size"]
    assert all(s.get(b.cid) == b.data for b in bs)
    s.close()


def test_release_concurrent_with_reads_and_writes(tmp_path):
    s = LmdbBlockstore(tmp_path / "s", initial_map_size=1 << 20)
    s._shared._unmap_after = 256 << 10
    bs = blocks(40, 200_000, seed=23)
    s.put_many(bs[:10])
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(5):
                for b in bs[:10]:
                    assert s.get(b.cid) == b.data
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for b in bs[10:]:
        s.put(b.cid, b.data)
    for t in threads:
        t.join()
    assert not errors
    assert all(s.get(b.cid) == b.data for b in bs)
    s.close()


def test_has_size_and_listing_do_not_touch_block_pages(tmp_path):
    # py-lmdb touches every page of any value it returns (even to list keys): has/size/cids must
    # only read the small index, or listing a big store would read all of it
    s = LmdbBlockstore(tmp_path / "s")
    s._shared._unmap_after = 1 << 40
    bs = blocks(48, 1 << 20, seed=24)
    s.put_many(bs)
    s._shared.release_pages()
    before = rss_file_kib()
    for b in bs:
        assert s.has(b.cid)
        assert s.size(b.cid) == 1 << 20
    assert s.has_many([b.cid for b in bs]) == [True] * 48
    assert len(list(s.cids())) == len(s) == 48
    assert rss_file_kib() - before < 4 * 1024  # 48 MiB of blocks, none of it mapped
    s.close()


def vm_flags(path: str) -> list[str]:
    """VmFlags of this process's mapping of `path`, from /proc/self/smaps."""
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            if line[0] in "0123456789abcdef" and "-" in line.split()[0]:
                inside = line.rstrip("\n").endswith(" " + path)
            elif inside and line.startswith("VmFlags:"):
                return line.split()[1:]
    raise AssertionError(f"{path} is not mapped")


def test_small_block_batches_turn_read_around_off_only_while_writing(tmp_path):
    s = LmdbBlockstore(tmp_path / "s", initial_map_size=1 << 20)  # small batches must grow it
    shared = s._shared
    seen: list[list[str]] = []
    orig = shared.random_access

    def spy(on: bool) -> None:
        orig(on)
        seen.append(vm_flags(shared.data_path))

    shared.random_access = spy  # type: ignore[method-assign]
    small = blocks(3000, size=1500)
    s.put_many(small)
    assert seen and "rr" in seen[0]  # MADV_RANDOM while the transaction ran
    assert "rr" not in vm_flags(shared.data_path)  # read-around back on afterwards
    assert all(s.get(b.cid) == b.data for b in small)
    seen.clear()
    s.put_many(blocks(3, size=256 * 1024, seed=9))  # large blocks keep read-around
    assert seen == []
    s.close()
