"""Index runs on disk (store/pack/runs.py): written once, mapped, searched; files of the wrong
size are rejected with a RepoError, and so is a store whose run files are damaged or missing."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import struct

import numpy as np
import pytest

from jiaozi_node.config import STORE_LIMITS
from jiaozi_node.errors import RepoError
from jiaozi_node.store.pack import PackBlockstore
from jiaozi_node.store.pack.entries import LOC_DTYPE, Entries
from jiaozi_node.store.pack.format import TOMBSTONE, key_hash
from jiaozi_node.store.pack.merge import sliced
from jiaozi_node.store.pack.runs import COLUMNS, Run, remove_run, run_paths, write_run
from jiaozi_node.testing.blockstore import blocks


def _rows(seed: int, n: int = 300) -> list[tuple[bytes, int, int, int, int]]:
    rng = random.Random(seed)
    rows = [(bytes([0x12, 0x20]) + rng.randbytes(32), rng.randrange(50), rng.randrange(1 << 40),
             rng.randrange(1 << 20), TOMBSTONE if rng.random() < 0.2 else 0) for _ in range(n)]
    tail = b"\x09" * 8  # keys sharing the index hash, of different lengths
    rows += [(b"\x12\x20" + bytes([i]) * 22 + tail, 1, i, i, 0) for i in range(4)]
    rows += [(tail, 2, 99, 9, 0), (b"\x00" + tail, 3, 98, 8, 0)]
    return rows


def _written(tmp_path, rows, run_id: int = 3, slice_entries: int = 50) -> tuple[Run, Entries]:
    e = Entries.build(rows)
    n = write_run(tmp_path, run_id, sliced([e], drop_tombstones=False, slice_entries=slice_entries),
                  e.width, sync=True)
    assert n == len(rows)
    return Run(tmp_path, run_id, n, e.width), e


def test_write_open_find(tmp_path):
    rows = _rows(1)
    run, _ = _written(tmp_path, rows)
    for key, pack, off, length, flags in rows:
        assert run.find(key, key_hash(key)) == (pack, off, length, flags)
    rng = random.Random(2)
    for _ in range(200):
        key = b"\x12\x20" + rng.randbytes(32)
        assert run.find(key, key_hash(key)) is None
    # a key sharing the hash of stored ones, and a stored key's prefix/extension
    assert run.find(b"\x12\x20" + b"\x07" * 22 + b"\x09" * 8, key_hash(b"\x09" * 8)) is None
    assert run.find(b"\x00\x00" + b"\x09" * 8, key_hash(b"\x09" * 8)) is None
    assert run.find(rows[0][0][:-1], key_hash(rows[0][0][:-1])) is None
    run.close()


def test_entries_are_the_written_columns(tmp_path):
    rows = _rows(3)
    run, e = _written(tmp_path, rows, slice_entries=7)
    got = run.entries()
    assert np.array_equal(got.h, e.h) and np.array_equal(got.loc, e.loc) and np.array_equal(got.keys, e.keys)
    assert got.loc.dtype == LOC_DTYPE and got.width == e.width
    run.close()


def test_slices_of_a_narrower_width_are_widened(tmp_path):
    short = Entries.build([(b"\x01\x02\x03", 0, 1, 1, 0)])
    wide = Entries.build([(b"\x12\x20" + b"w" * 40, 1, 2, 2, 0)])
    n = write_run(tmp_path, 0, [short, wide], 42, sync=False)
    run = Run(tmp_path, 0, n, 42)
    assert run.find(b"\x01\x02\x03", key_hash(b"\x01\x02\x03")) == (0, 1, 1, 0)
    assert run.find(b"\x12\x20" + b"w" * 40, key_hash(b"\x12\x20" + b"w" * 40)) == (1, 2, 2, 0)
    run.close()


def test_an_empty_run_leaves_no_files(tmp_path):
    assert write_run(tmp_path, 5, [Entries.empty(), Entries.empty()], 1, sync=False) == 0
    assert write_run(tmp_path, 6, [], 34, sync=False) == 0
    assert list(tmp_path.iterdir()) == []


def test_remove_run(tmp_path):
    run, _ = _written(tmp_path, _rows(4), run_id=12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000012.h", "00000012.key", "00000012.loc"]
    assert set(run_paths(tmp_path, 12)) == set(COLUMNS)
    remove_run(tmp_path, 12)
    remove_run(tmp_path, 12)  # twice is fine
    assert list(tmp_path.iterdir()) == []
    # a mapped run survives its files' removal (a merge elsewhere), like any mapping
    key = _rows(4)[0][0]
    assert run.find(key, key_hash(key)) is not None
    run.close()


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("change", ["short", "long", "empty"])
def test_files_of_the_wrong_size_are_rejected(tmp_path, column, change):
    rows = _rows(5)
    run, e = _written(tmp_path, rows)
    run.close()
    path = run_paths(tmp_path, 3)[column]
    size = path.stat().st_size
    os.truncate(path, {"short": size - 1, "long": size + 8, "empty": 0}[change])
    with pytest.raises(RepoError, match="damaged"):
        Run(tmp_path, 3, len(rows), e.width)


def test_wrong_counts_and_widths_are_rejected(tmp_path):
    rows = _rows(6)
    run, e = _written(tmp_path, rows)
    run.close()
    for n, width in [(len(rows) + 1, e.width), (len(rows), e.width + 1), (0, e.width), (0, 0)]:
        with pytest.raises(RepoError):
            Run(tmp_path, 3, n, width)


def test_a_missing_file_is_file_not_found(tmp_path):
    """Merged away by another process meanwhile: the store looks at the manifest again."""
    rows = _rows(7)
    run, e = _written(tmp_path, rows)
    run.close()
    run_paths(tmp_path, 3)["key"].unlink()
    with pytest.raises(FileNotFoundError):
        Run(tmp_path, 3, len(rows), e.width)


def test_close_while_a_listing_holds_a_view(tmp_path):
    rows = _rows(8)
    run, _ = _written(tmp_path, rows)
    view = run.entries()
    run.close()
    run.close()
    assert len(view) == len(rows) and int(view.h[-1]) == max(key_hash(r[0]) for r in rows)


def test_a_garbled_location_is_a_repo_error_not_a_huge_read(tmp_path):
    rows = [(b"\x12\x20" + bytes([i]) * 32, 0, 100 * i, 10, 0) for i in range(3)]
    run, e = _written(tmp_path, rows)
    run.close()
    loc = run_paths(tmp_path, 3)["loc"]
    raw = bytearray(loc.read_bytes())
    struct.pack_into("<Q", raw, 0, 2**64 - 3)  # the first entry's offset
    loc.write_bytes(bytes(raw))
    run = Run(tmp_path, 3, 3, e.width)
    first = e.key(0)
    with pytest.raises(RepoError, match="damaged"):
        run.find(first, key_hash(first))
    for i in (1, 2):
        assert run.find(e.key(i), int(e.h[i])) is not None
    run.close()


# ------------------------------------------------------------------------------ in a store

SMALL = dataclasses.replace(STORE_LIMITS, pack_tail_entries=16, pack_tail_batches=5, pack_max_bytes=20_000,
                            pack_slice_entries=7, pack_batch_entries=50)


def _store_with_runs(path):
    s = PackBlockstore(path, limits=SMALL)
    bs = blocks(100, 500)
    for i in range(0, 100, 10):
        s.put_many(bs[i: i + 10])
    s.close()
    runs = json.loads((path / "MANIFEST").read_text())["runs"]
    assert runs
    return bs, runs


@pytest.mark.parametrize("column", COLUMNS)
def test_a_truncated_run_file_is_a_repo_error_on_open(tmp_path, column):
    _, runs = _store_with_runs(tmp_path / "s")
    path = run_paths(tmp_path / "s" / "runs", runs[0][0])[column]
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(RepoError, match="damaged"):
        PackBlockstore(tmp_path / "s", limits=SMALL)


@pytest.mark.parametrize("column", COLUMNS)
def test_a_missing_run_file_is_a_repo_error_on_open(tmp_path, column):
    _, runs = _store_with_runs(tmp_path / "s")
    run_paths(tmp_path / "s" / "runs", runs[0][0])[column].unlink()
    with pytest.raises(RepoError, match="is missing"):
        PackBlockstore(tmp_path / "s", limits=SMALL)


def test_a_run_damaged_while_a_store_is_open(tmp_path):
    """Another process flushes; the run it names is short: the next read says so."""
    bs, runs = _store_with_runs(tmp_path / "s")
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    writer = PackBlockstore(tmp_path / "s", limits=SMALL)
    for i in range(4):
        writer.put_many(blocks(20, 100, seed=50 + i))
    new = json.loads((tmp_path / "s" / "MANIFEST").read_text())["runs"]
    fresh = [r for r in new if r not in runs]
    assert fresh
    path = run_paths(tmp_path / "s" / "runs", fresh[-1][0])["h"]
    os.truncate(path, 8)
    for _ in range(2):  # again and again, not once and then a stale view
        with pytest.raises(RepoError):
            s.get(bs[0].cid)
    s.close()
    writer.close()
