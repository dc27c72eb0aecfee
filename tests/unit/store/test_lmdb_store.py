from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from jiaozi_node.errors import CorruptBlock
from jiaozi_node.store.lmdb_store import DATA_FILE, LmdbBlockstore
from jiaozi_node.testing.blockstore import CHECKS, blocks, flip_byte_in_file


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check, tmp_path):
    check(lambda: LmdbBlockstore(tmp_path / "s"))


def test_corrupt_block_on_disk_raises(tmp_path):
    s = LmdbBlockstore(tmp_path / "s")
    good, bad = blocks(2, 5000, seed=3)
    s.put_many([good, bad])
    s.close()
    flip_byte_in_file(tmp_path / "s" / DATA_FILE, bad.data[1000:1100])
    s = LmdbBlockstore(tmp_path / "s")
    assert s.get(good.cid) == good.data
    with pytest.raises(CorruptBlock):
        s.get(bad.cid)
    assert LmdbBlockstore.get(LmdbBlockstore(tmp_path / "s", verify_on_read=False), bad.cid) != bad.data


def test_map_grows_past_initial_size(tmp_path):
    s = LmdbBlockstore(tmp_path / "s", initial_map_size=1 << 20, max_batch_bytes=3 << 20)
    bs = blocks(12, 1 << 20, seed=5)
    s.put_many(bs[:6])
    for b in bs[6:]:  # single puts take the MapFullError -> grow -> retry path
        s.put(b.cid, b.data)
    assert len(s) == 12
    assert s.get(bs[-1].cid) == bs[-1].data
    assert s.disk_usage() >= 12 << 20


def test_full_map_raises_limit_exceeded(tmp_path):
    from jiaozi_node.errors import LimitExceeded

    s = LmdbBlockstore(tmp_path / "s", initial_map_size=1 << 20, max_map_size=2 << 20)
    with pytest.raises(LimitExceeded):
        s.put_many(blocks(4, 1 << 20))


def test_second_process_sees_writes_and_grown_map(tmp_path):
    path = tmp_path / "s"
    s = LmdbBlockstore(path, initial_map_size=1 << 20)
    first = blocks(1, 100, seed=9)[0]
    s.put(first.cid, first.data)
    script = textwrap.dedent(f"""
        from jiaozi_node.store.lmdb_store import LmdbBlockstore
        from jiaozi_node.testing.blockstore import blocks
        s = LmdbBlockstore({str(path)!r}, initial_map_size=1 << 20)
        s.put_many(blocks(8, 1 << 20, seed=11))
        s.close()
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    # the other process grew the map file well past our mapping: we must adopt it, not fail
    for b in blocks(8, 1 << 20, seed=11):
        assert s.get(b.cid) == b.data
    assert len(s) == 9
    more = blocks(1, 1 << 20, seed=12)[0]
    s.put(more.cid, more.data)
    assert s.has(more.cid)
