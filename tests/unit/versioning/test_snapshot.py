from __future__ import annotations

import os
import time

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.importer import import_bytes
from jiaozi_node.versioning.snapshot import (
    BlockSink,
    SnapshotStats,
    cache_key,
    dir_fingerprint,
    snapshot,
)
from jiaozi_node.versioning.statcache import StatCache
from jiaozi_node.versioning.tree import SYMLINK, list_dir, walk_files


def tree(tmp_path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_bytes(b"hello")
    (d / ".hidden").write_bytes(b"h")
    (d / "sub" / "big").write_bytes(os.urandom(3 * 1024 * 1024))
    (d / "empty").mkdir()
    os.symlink("a.txt", d / "link")
    os.mkfifo(d / "fifo")
    return d


def test_snapshot_matches_the_importer(tmp_path):
    d = tree(tmp_path)
    store = MemoryBlockstore()
    stats = SnapshotStats()
    root = snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(store, stats), cache=None, stats=stats)
    entries = list_dir(store.get, root.cid)
    assert set(entries) == {"a.txt", ".hidden", "sub", "empty", "link"}  # the FIFO is skipped
    assert entries["a.txt"].cid == import_bytes(b"hello", UNIXFS_V1_2025)[0]
    kinds = {p: k for p, _, k in walk_files(store.get, root.cid)}
    assert kinds["link"] == SYMLINK and "empty/" in kinds
    assert stats.files == 3 and stats.hashed_files == 3
    assert stats.new_blocks == len(store) and stats.new_bytes == sum(len(store.get(c)) for c in store.cids())
    # same tree again: nothing new
    stats2 = SnapshotStats()
    again = snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(store, stats2), cache=None, stats=stats2)
    assert again == root and stats2.new_blocks == 0


def test_status_mode_stores_nothing(tmp_path):
    d = tree(tmp_path)
    store = MemoryBlockstore()
    stats = SnapshotStats()
    sink = BlockSink(store, stats, write=False)
    root = snapshot(str(d), profile=UNIXFS_V0_2015, sink=sink, cache=None, stats=stats)
    assert len(store) == 0 and root.cid.version == 0
    assert set(list_dir(sink.get, root.cid)) >= {"a.txt", "sub"}


def test_cache_avoids_reading_unchanged_files(tmp_path):
    d = tree(tmp_path)
    for p in d.rglob("*"):
        if p.is_file() and not p.is_symlink():
            os.utime(p, ns=(0, 1_000_000_000))
    store = MemoryBlockstore()
    cache = StatCache(tmp_path / "c.db")
    stats = SnapshotStats()
    first = snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(store, stats), cache=cache, stats=stats)
    cache.record(stats.recorded, cache_key(UNIXFS_V1_2025), now_ns=2_000_000_000_000_000_000,
                 dirs=stats.recorded_dirs)
    (d / "a.txt").write_bytes(b"HELLO")
    os.utime(d / "a.txt", ns=(0, 2_000_000_000))  # same size: only the mtime tells
    stats2 = SnapshotStats()
    second = snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(store, stats2), cache=cache, stats=stats2)
    assert second != first
    assert stats2.hashed_files == 1 and stats2.files == 3  # sub/big was not read again
    cache.close()


def test_non_utf8_names_are_a_clear_error(tmp_path):
    import pytest

    from jiaozi_node.errors import InvalidInput

    d = tmp_path / "d"
    d.mkdir()
    (d / os.fsdecode(b"bad\xffname")).write_bytes(b"x")
    stats = SnapshotStats()
    with pytest.raises(InvalidInput, match="UTF-8"):
        snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(MemoryBlockstore(), stats), cache=None, stats=stats)


def _commit(d, store, cache, *, now_ns):
    stats = SnapshotStats()
    root = snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(store, stats), cache=cache, stats=stats)
    cache.record(stats.recorded, cache_key(UNIXFS_V1_2025), now_ns=now_ns, dirs=stats.recorded_dirs)
    return root, stats


def test_unchanged_directories_are_taken_whole_and_a_deep_change_still_shows(tmp_path):
    d = tree(tmp_path)
    (d / "sub" / "deeper").mkdir()
    (d / "sub" / "deeper" / "f").write_bytes(b"one")
    for p in d.rglob("*"):
        if not p.is_symlink():
            os.utime(p, ns=(0, 1_000_000_000))
    store, cache = MemoryBlockstore(), StatCache(tmp_path / "c.db")
    first, stats = _commit(d, store, cache, now_ns=2_000_000_000_000_000_000)
    assert {p for p, _, _ in stats.recorded_dirs} == {str(d), str(d / "sub"), str(d / "sub" / "deeper"),
                                                       str(d / "empty")}
    again, stats = _commit(d, store, cache, now_ns=2_000_000_000_000_000_000)
    assert again == first and stats.hashed_files == 0 and stats.files == 4
    assert stats.recorded_dirs == []  # every directory was a fingerprint hit: nothing rebuilt
    (d / "sub" / "deeper" / "f").write_bytes(b"two")  # same size; only the mtime tells
    os.utime(d / "sub" / "deeper" / "f", ns=(0, 2_000_000_000))
    changed, stats = _commit(d, store, cache, now_ns=2_000_000_000_000_000_000)
    assert changed != first and stats.hashed_files == 1
    # the change rebuilt its directory and every ancestor (their fingerprints hold the new CID),
    # and nothing beside them
    assert {p for p, _, _ in stats.recorded_dirs} == {str(d), str(d / "sub"), str(d / "sub" / "deeper")}
    assert changed == snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(MemoryBlockstore(), SnapshotStats()),
                               cache=None, stats=SnapshotStats())
    cache.close()


def test_a_change_within_the_same_mtime_tick_is_seen(tmp_path):
    """Racy git: a directory whose newest file is younger than RACY_WINDOW_NS is not recorded, and
    neither is that file trusted, so rewriting it with the same size and the same mtime (as a
    second write within one timestamp tick leaves it) is still seen by the next snapshot."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "old").write_bytes(b"old")
    os.utime(d / "old", ns=(0, 1_000_000_000))
    (d / "fresh").write_bytes(b"aaaa")
    # Stamped an hour ahead: racily new however slowly this test runs.
    os.utime(d / "fresh", ns=(0, time.time_ns() + 3600 * 10**9))
    st = os.stat(d / "fresh")
    store, cache = MemoryBlockstore(), StatCache(tmp_path / "c.db")
    first, stats = _commit(d, store, cache, now_ns=time.time_ns())
    assert stats.recorded_dirs == [] and len(stats.recorded) == 2  # `fresh` is racily new: no fingerprint for d
    (d / "fresh").write_bytes(b"bbbb")
    os.utime(d / "fresh", ns=(st.st_atime_ns, st.st_mtime_ns))  # the same tick
    assert os.stat(d / "fresh").st_mtime_ns == st.st_mtime_ns and os.stat(d / "fresh").st_ino == st.st_ino
    second, stats = _commit(d, store, cache, now_ns=time.time_ns())
    assert second != first and stats.hashed_files == 1  # `old` came from the stat cache
    assert list_dir(store.get, second.cid)["fresh"].cid == import_bytes(b"bbbb", UNIXFS_V1_2025)[0]
    cache.close()


def test_fingerprint_covers_every_field_and_the_listing_order():
    base = (["a", "bc"], [1, 2], [10, 20], [100, 200], [("D", "s", b"\x01cid")])
    fp = dir_fingerprint(*base)
    assert fp == dir_fingerprint(*base)
    variants = [
        (["ab", "c"], *base[1:]),  # the same characters, split elsewhere
        (base[0], [1, 3], *base[2:]),
        (base[0], base[1], [10, 21], *base[3:]),
        (*base[:3], [100, 201], base[4]),
        (*base[:4], [("D", "s", b"\x01other")]),
        (*base[:4], [("L", "s", "\x01cid")]),
        (["bc", "a"], [2, 1], [20, 10], [200, 100], base[4]),  # listed in another order: a rebuild
    ]
    assert len({fp, *(dir_fingerprint(*v) for v in variants)}) == len(variants) + 1


def test_a_directory_listed_in_another_order_gives_the_same_tree(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, order in ((a, range(50)), (b, reversed(range(50)))):
        d.mkdir()
        for i in order:
            (d / f"f{i:02d}").write_bytes(str(i).encode())
    links = [snapshot(str(d), profile=UNIXFS_V1_2025, sink=BlockSink(MemoryBlockstore(), SnapshotStats()),
                      cache=None, stats=SnapshotStats()) for d in (a, b)]
    assert links[0] == links[1]
