from __future__ import annotations

import pytest

from jiaozi_node.errors import CorruptBlock
from jiaozi_node.store.sqlite_store import DB_FILE, SqliteBlockstore
from jiaozi_node.testing.blockstore import CHECKS, blocks, flip_byte_in_file


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check, tmp_path):
    check(lambda: SqliteBlockstore(tmp_path / "s"))


def test_corrupt_block_on_disk_raises(tmp_path):
    s = SqliteBlockstore(tmp_path / "s")
    good, bad = blocks(2, 5000, seed=3)
    s.put_many([good, bad])
    s.close()  # checkpoints the WAL into the main file
    flip_byte_in_file(tmp_path / "s" / DB_FILE, bad.data[2000:2100])
    s = SqliteBlockstore(tmp_path / "s")
    assert s.get(good.cid) == good.data
    with pytest.raises(CorruptBlock):
        s.get(bad.cid)


def test_batches_commit_separately(tmp_path):
    s = SqliteBlockstore(tmp_path / "s", max_batch_bytes=2500)
    bs = blocks(10, 1000)
    s.put_many(bs)
    assert len(s) == 10
