from __future__ import annotations

import os
import random
import time
from dataclasses import replace

import pytest

from jiaozi_node.config import PROFILES, UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.ipld.cid import CID, DAG_PB, RAW
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.directory import DirEntry, build_directory, needs_sharding
from jiaozi_node.unixfs.importer import import_bytes
from jiaozi_node.versioning.snapshot import (
    SnapshotSink,
    SnapshotStats,
    cache_key,
    dir_fingerprint,
    plain_dir_block,
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
    root = snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(store, stats), cache=None, stats=stats)
    entries = list_dir(store.get, root.cid)
    assert set(entries) == {"a.txt", ".hidden", "sub", "empty", "link"}  # the FIFO is skipped
    assert entries["a.txt"].cid == import_bytes(b"hello", UNIXFS_V1_2025)[0]
    kinds = {p: k for p, _, k in walk_files(store.get, root.cid)}
    assert kinds["link"] == SYMLINK and "empty/" in kinds
    assert stats.files == 3 and stats.hashed_files == 3
    assert stats.new_blocks == len(store) and stats.new_bytes == sum(len(store.get(c)) for c in store.cids())
    # same tree again: nothing new
    stats2 = SnapshotStats()
    again = snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(store, stats2), cache=None, stats=stats2)
    assert again == root and stats2.new_blocks == 0


def test_status_mode_stores_nothing(tmp_path):
    d = tree(tmp_path)
    store = MemoryBlockstore()
    stats = SnapshotStats()
    sink = SnapshotSink(store, stats, write=False)
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
    first = snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(store, stats), cache=cache, stats=stats)
    cache.record(stats.recorded, cache_key(UNIXFS_V1_2025), now_ns=2_000_000_000_000_000_000,
                 dirs=stats.recorded_dirs)
    (d / "a.txt").write_bytes(b"HELLO")
    os.utime(d / "a.txt", ns=(0, 2_000_000_000))  # same size: only the mtime tells
    stats2 = SnapshotStats()
    second = snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(store, stats2), cache=cache, stats=stats2)
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
        snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(MemoryBlockstore(), stats), cache=None, stats=stats)


def _commit(d, store, cache, *, now_ns):
    stats = SnapshotStats()
    root = snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(store, stats), cache=cache, stats=stats)
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
    assert {r.path for r in stats.recorded_dirs} == {str(d), str(d / "sub"), str(d / "sub" / "deeper"),
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
    assert {r.path for r in stats.recorded_dirs} == {str(d), str(d / "sub"), str(d / "sub" / "deeper")}
    assert changed == snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(MemoryBlockstore(), SnapshotStats()),
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
    links = [snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(MemoryBlockstore(), SnapshotStats()),
                      cache=None, stats=SnapshotStats()) for d in (a, b)]
    assert links[0] == links[1]


def _entries(rng, n, *, name_len=12):
    alphabet = "abcXYZ019._-é中😀"
    out = {}
    while len(out) < n:
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, name_len)))
        if name in (".", ".."):
            continue
        kind = rng.randrange(4)
        data = rng.randbytes(8)
        cid = (CID.of(data) if kind == 0 else CID(1, DAG_PB, CID.of(data).multihash) if kind == 1
               else CID(0, DAG_PB, CID.of(data).multihash) if kind == 2 else CID(1, RAW, b"\x00\x03abc"))
        out[name] = (cid, rng.choice([0, 1, 127, 128, 300, 2**20, 2**40 + 7]))
    return [DirEntry(name, cid, tsize) for name, (cid, tsize) in out.items()]


@pytest.mark.parametrize("profile", sorted(PROFILES.values(), key=lambda p: p.name), ids=lambda p: p.name)
def test_plain_dir_block_is_build_directory_byte_for_byte(profile):
    rng = random.Random(5)
    for n in (0, 1, 2, 17, 300):
        entries = _entries(rng, n)
        cid, tsize, blocks = build_directory(entries, profile=profile)
        block = plain_dir_block([(e.name.encode(), e.cid.buffer, e.tsize) for e in reversed(entries)], profile)
        assert block is not None and block.cid == cid and [block] == blocks
        assert tsize == len(block.data) + sum(e.tsize for e in entries)


@pytest.mark.parametrize("profile", sorted(PROFILES.values(), key=lambda p: p.name), ids=lambda p: p.name)
def test_plain_dir_block_leaves_sharding_to_build_directory(profile):
    """Around the HAMT threshold: None exactly when build_directory shards."""
    rng = random.Random(6)
    entries = _entries(rng, 6000, name_len=40)
    lo, hi = 1, len(entries)  # bisect for the largest plain prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if needs_sharding(entries[:mid], profile):
            hi = mid - 1
        else:
            lo = mid
    for k in (lo - 1, lo, lo + 1):
        part = entries[:k]
        block = plain_dir_block([(e.name.encode(), e.cid.buffer, e.tsize) for e in part], profile)
        if needs_sharding(part, profile):
            assert block is None
        else:
            assert block is not None and block.cid == build_directory(part, profile=profile)[0]
    assert plain_dir_block([], replace(profile, hamt_size_estimation="other")) is None


def test_a_directory_is_rebuilt_from_its_recorded_links(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for i in range(20):
        (d / f"f{i:02d}").write_bytes(b"%d" % i)
        os.utime(d / f"f{i:02d}", ns=(0, 1_000_000_000 + i))
    store, cache = MemoryBlockstore(), StatCache(tmp_path / "c.db")
    first, stats = _commit(d, store, cache, now_ns=2_000_000_000_000_000_000)
    assert stats.recorded_dirs[0].files is not None
    cache._db.execute("DELETE FROM stat")  # only the directory's recorded links can tell now
    (d / "f03").write_bytes(b"x3")
    os.utime(d / "f03", ns=(0, 2_000_000_000))
    second, stats = _commit(d, store, cache, now_ns=2_000_000_000_000_000_000)
    assert stats.hashed_files == 1 and second != first
    assert second == snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(MemoryBlockstore(), SnapshotStats()),
                              cache=None, stats=SnapshotStats())
    # the recorded node is gone (GC): its links are not trusted, every file is read again
    store.delete(second.cid)
    (d / "f04").write_bytes(b"x4")
    os.utime(d / "f04", ns=(0, 3_000_000_000))
    cache._db.execute("DELETE FROM stat")
    third, stats = _commit(d, store, cache, now_ns=2_000_000_000_000_000_000)
    assert stats.hashed_files == 20
    cache.close()


def test_random_edits_give_the_tree_of_a_fresh_snapshot(tmp_path):
    """Edits of every kind between cached snapshots: the result is always what a snapshot without
    any cache gives (a stale fingerprint, recorded link or stat-cache row would show here)."""
    rng = random.Random(11)
    d = tmp_path / "d"
    store, cache = MemoryBlockstore(), StatCache(tmp_path / "c.db")
    clock = [1_000_000_000]

    def touch(p):
        clock[0] += 1_000_000
        os.utime(p, ns=(0, clock[0]), follow_symlinks=False)

    def write(p, data):
        p.write_bytes(data)
        touch(p)

    for sub in ("", "a", "a/b", "c"):
        (d / sub).mkdir(parents=True, exist_ok=True)
        for i in range(8):
            write(d / sub / f"f{i}", rng.randbytes(rng.randint(0, 40)))
    for _ in range(12):
        files = sorted(p for p in d.rglob("*") if p.is_file() and not p.is_symlink())
        dirs = sorted([d, *(p for p in d.rglob("*") if p.is_dir() and not p.is_symlink())])
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(7)
            if op == 0 and files:  # new content, new mtime
                write(rng.choice(files), rng.randbytes(rng.randint(0, 40)))
            elif op == 1 and files:  # same size, same mtime, new inode (replaced by a rename)
                p = rng.choice(files)
                st = os.stat(p)
                tmp = p.with_name(p.name + ".new")
                tmp.write_bytes(bytes(b ^ 1 for b in p.read_bytes()))
                os.utime(tmp, ns=(0, st.st_mtime_ns))
                os.replace(tmp, p)
            elif op == 2:
                write(rng.choice(dirs) / f"n{rng.randrange(1000)}", rng.randbytes(5))
            elif op == 3 and files:
                p = rng.choice(files)
                p.unlink()
                files.remove(p)
            elif op == 4 and files:
                p = rng.choice(files)
                p.rename(p.with_name(p.name + "r"))
                files.remove(p)
            elif op == 5:
                link = rng.choice(dirs) / f"l{rng.randrange(1000)}"
                if not os.path.lexists(link):
                    os.symlink(f"t{rng.randrange(9)}", link)
            elif op == 6:
                (rng.choice(dirs) / f"s{rng.randrange(1000)}").mkdir(exist_ok=True)
        got, _ = _commit(d, store, cache, now_ns=2_000_000_000_000_000_000)
        want = snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(MemoryBlockstore(), SnapshotStats()),
                        cache=None, stats=SnapshotStats())
        assert got == want
    cache.close()


@pytest.mark.parametrize("profile", [UNIXFS_V1_2025, UNIXFS_V0_2015,
                                     replace(UNIXFS_V1_2025, hash_function="sha2-512")])
def test_snapshot_and_jzfs_add_give_the_same_tree(tmp_path, profile):
    """One add pipeline: a snapshot's files and symlinks are imported by node.files (as `jzfs add
    -r --hidden` does them), so the trees are identical, whatever the profile's hash."""
    from jiaozi_node.node import Node
    from jiaozi_node.node.files import add_path

    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "a.csv").write_bytes(b"x,y\n" * 100_000)
    (d / "sub" / ".hidden").write_bytes(b"h")
    (d / "sub" / "empty").write_bytes(b"")
    os.symlink("../a.csv", d / "sub" / "link")
    stats = SnapshotStats()
    root = snapshot(str(d), profile=profile, sink=SnapshotSink(MemoryBlockstore(), stats), cache=None, stats=stats)
    with Node.open(tmp_path / "repo") as node:
        added = add_path(node, [d], recursive=True, hidden=True, profile=profile, only_hash=True)
    assert root.cid == added[-1].cid
    assert stats.hashed_bytes == 400_000 + 1


def test_snapshot_limits_are_passed_in_not_read_from_the_module(tmp_path):
    from jiaozi_node.config import VERSIONING_LIMITS

    class Counting(MemoryBlockstore):
        batches: list[int] = []

        def put_many(self, blocks):
            blocks = list(blocks)
            self.batches.append(len(blocks))
            return super().put_many(blocks)

    d = tmp_path / "d"
    d.mkdir()
    for i in range(5):
        (d / f"f{i}").write_bytes(b"%d" % i)
    store, stats = Counting(), SnapshotStats()
    limits = replace(VERSIONING_LIMITS, snapshot_put_batch_blocks=2)
    snapshot(str(d), profile=UNIXFS_V1_2025, sink=SnapshotSink(store, stats, limits=limits), cache=None,
             stats=stats, limits=limits)
    assert max(store.batches) <= 2 and sum(store.batches) == 6  # 5 files + the directory


def test_files_are_read_with_the_given_add_tuning(tmp_path, monkeypatch):
    from jiaozi_node.config import AddTuning
    from jiaozi_node.node import files
    from jiaozi_node.versioning.snapshot import SnapshotSink, SnapshotStats, snapshot

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"z" * 5000)
    tuning = AddTuning(read_bytes=4096)
    seen = []
    real = files.import_stream
    monkeypatch.setattr(files, "import_stream", lambda *a, **kw: (seen.append(kw["tuning"]), real(*a, **kw))[1])
    stats = SnapshotStats()
    snapshot(str(tmp_path / "d"), profile=UNIXFS_V1_2025, sink=SnapshotSink(MemoryBlockstore(), stats), cache=None,
             stats=stats, tuning=tuning)
    assert seen == [tuning]
