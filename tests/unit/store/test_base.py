from __future__ import annotations

import pytest

from jiaozi_node.errors import HashMismatch
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, DAG_PB, RAW
from jiaozi_node.store.base import Blockstore, MemoryBlockstore
from jiaozi_node.store.flatfs import FlatfsBlockstore
from jiaozi_node.store.lmdb_store import LmdbBlockstore
from jiaozi_node.store.pack import PackBlockstore
from jiaozi_node.store.sqlite_store import SqliteBlockstore
from jiaozi_node.testing.blockstore import CHECKS, check_keyed_by_multihash


@pytest.mark.parametrize("check", [c for c in CHECKS if c is not check_keyed_by_multihash],
                         ids=lambda c: c.__name__)
def test_memory_conformance(check):
    store = MemoryBlockstore()
    check(lambda: store)  # close() is a no-op: "reopening" returns the same store


def test_memory_keys_by_multihash_but_lists_first_cid():
    s = MemoryBlockstore()
    b = Block.create(b"x", codec=DAG_PB, version=0)
    s.put(b.cid, b.data)
    assert s.has(CID(1, RAW, b.cid.multihash))
    assert list(s.cids()) == [b.cid]
    assert len(s) == 1


def test_memory_verify_on_read():
    s = MemoryBlockstore(verify_on_read=True)
    b = Block.create(b"x", codec=RAW)
    s.put(b.cid, b"y")
    with pytest.raises(HashMismatch):
        s.get(b.cid)


def test_every_engine_satisfies_the_protocol(tmp_path):
    for store in (MemoryBlockstore(), LmdbBlockstore(tmp_path / "l"), SqliteBlockstore(tmp_path / "s"),
                  FlatfsBlockstore(tmp_path / "f"), PackBlockstore(tmp_path / "p")):
        assert isinstance(store, Blockstore)
        store.close()
