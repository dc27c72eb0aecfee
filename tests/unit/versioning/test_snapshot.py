from __future__ import annotations

import os

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.importer import import_bytes
from jiaozi_node.versioning.snapshot import BlockSink, SnapshotStats, cache_key, snapshot
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
