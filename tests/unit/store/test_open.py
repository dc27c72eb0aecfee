from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.node.core import Node
from jiaozi_node.repo import Repo
from jiaozi_node.store.open import (
    DEFAULT_ENGINE,
    ENGINES,
    PREVIOUS_DEFAULT,
    engine_name,
    open_blockstore,
)


def test_default_engine_is_pack(tmp_path):
    repo = Repo.init(tmp_path / "r")
    assert engine_name(repo) == DEFAULT_ENGINE == "pack"
    s = open_blockstore(repo)
    assert type(s).__name__ == "PackBlockstore"
    assert s.root == tmp_path / "r" / "blocks" / "pack"
    s.close()


def test_repo_made_when_lmdb_was_the_default_keeps_it(tmp_path):
    repo = Repo.init(tmp_path / "r")
    old = ENGINES[PREVIOUS_DEFAULT](tmp_path / "r" / "blocks" / PREVIOUS_DEFAULT)
    b = Block.create(b"from an older jzfs", codec=RAW)
    old.put(b.cid, b.data)
    old.close()
    assert engine_name(repo) == "lmdb"
    with Node.open(tmp_path / "r") as node:
        assert node.blocks.get(b.cid) == b.data


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_selectable_and_node_roundtrip(tmp_path, engine):
    repo = Repo.init(tmp_path / "r")
    repo.set_config("Datastore.Engine", engine)
    with Node.open(tmp_path / "r") as node:
        assert node.blocks.name == engine
        b = Block.create(b"hi " + engine.encode(), codec=RAW)
        node.blocks.put(b.cid, b.data)
        node.pins.add(b.cid)
    with Node.open(tmp_path / "r") as node:
        assert node.blocks.get(b.cid) == b.data
        assert node.pins.pin_type(b.cid) == "recursive"


def test_unknown_engine(tmp_path):
    repo = Repo.init(tmp_path / "r")
    repo.set_config("Datastore.Engine", "bogus")
    with pytest.raises(InvalidInput, match="bogus"):
        open_blockstore(repo)


def test_two_nodes_on_one_repo_in_one_process(tmp_path):
    a = Node.open(tmp_path / "r")
    b = Node.open(tmp_path / "r")
    blk = Block.create(b"shared", codec=RAW)
    a.blocks.put(blk.cid, blk.data)
    assert b.blocks.get(blk.cid) == blk.data
    a.close()
    assert b.blocks.get(blk.cid) == blk.data  # closing one does not close the shared env
    b.close()
