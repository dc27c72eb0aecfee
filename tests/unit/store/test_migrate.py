from __future__ import annotations

import pytest

from jiaozi_node.errors import CorruptBlock, InvalidInput
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.node.core import Node
from jiaozi_node.repo import Repo
from jiaozi_node.store.migrate import migrate
from jiaozi_node.store.open import ENGINES, engine_name
from jiaozi_node.testing.blockstore import blocks, flip_byte_in_file


def _lmdb_repo(tmp_path, bs):
    """A repo as session 1 made them: config `default`, blocks in blocks/lmdb."""
    repo = Repo.init(tmp_path / "r")
    old = ENGINES["lmdb"](tmp_path / "r" / "blocks" / "lmdb")
    old.put_many(bs)
    old.close()
    assert engine_name(repo) == "lmdb"
    return repo


def test_lmdb_repo_moves_to_pack_with_every_block_and_pin(tmp_path):
    bs = blocks(50, 3000) + blocks(3, 1 << 20, seed=2)
    repo = _lmdb_repo(tmp_path, bs)
    with Node.open(tmp_path / "r") as node:
        node.pins.add(bs[0].cid)
    seen = []
    assert migrate(repo, "pack", on_block=seen.append) == 53
    assert sum(seen) == sum(len(b.data) for b in bs)
    assert engine_name(repo) == "pack" and repo.get_config_default("Datastore.Engine", None) == "pack"
    assert not (tmp_path / "r" / "blocks" / "lmdb").exists()
    with Node.open(tmp_path / "r") as node:
        assert node.blocks.name == "pack"
        assert all(node.blocks.get(b.cid) == b.data for b in bs)
        assert node.pins.pin_type(bs[0].cid) == "recursive"


def test_a_rotten_block_stops_the_migration_and_nothing_switches(tmp_path):
    bs = blocks(5, 5000, seed=3)
    repo = _lmdb_repo(tmp_path, bs)
    flip_byte_in_file(tmp_path / "r" / "blocks" / "lmdb" / "data.mdb", bs[2].data[1000:1100])
    with pytest.raises(CorruptBlock):
        migrate(repo, "pack")
    assert engine_name(repo) == "lmdb"  # although blocks/pack now exists, half filled
    assert (tmp_path / "r" / "blocks" / "pack").exists()
    assert (tmp_path / "r" / "blocks" / "lmdb").exists()


def test_an_interrupted_migration_resumes(tmp_path):
    bs = blocks(30, 1000, seed=4)
    repo = _lmdb_repo(tmp_path, bs)
    repo.set_config("Datastore.Engine", "lmdb")  # what migrate writes first ...
    partial = ENGINES["pack"](tmp_path / "r" / "blocks" / "pack")  # ... then a crash mid-copy
    partial.put_many(bs[:10])
    partial.close()
    assert engine_name(repo) == "lmdb"
    assert migrate(repo, "pack", keep_old=True) == 30
    assert (tmp_path / "r" / "blocks" / "lmdb").exists()
    with Node.open(tmp_path / "r") as node:
        assert sorted(node.blocks.cids()) == sorted(b.cid for b in bs)


def test_refuses_the_same_or_an_unknown_engine(tmp_path):
    repo = Repo.init(tmp_path / "r")
    with pytest.raises(InvalidInput, match="already"):
        migrate(repo, "pack")
    with pytest.raises(InvalidInput, match="unknown"):
        migrate(repo, "rocks")


def test_pack_to_sqlite_and_back(tmp_path):
    repo = Repo.init(tmp_path / "r")
    b = Block.create(b"round trip", codec=RAW)
    with Node.open(tmp_path / "r") as node:
        node.blocks.put(b.cid, b.data)
    assert migrate(repo, "sqlite") == 1
    assert migrate(repo, "pack") == 1
    with Node.open(tmp_path / "r") as node:
        assert node.blocks.name == "pack" and node.blocks.get(b.cid) == b.data
