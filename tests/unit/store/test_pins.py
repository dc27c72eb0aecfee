from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput, NotFound, PinnedError
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, DAG_CBOR, DAG_PB, RAW
from jiaozi_node.ipld.dagpb import PBLink, PBNode, encode
from jiaozi_node.store.lmdb_store import LmdbBlockstore
from jiaozi_node.store.pins import PinStore


def dag(blocks, n_leaves=3, seed=b"x"):
    """A dag-pb root over raw leaves; returns (root, leaves)."""
    leaves = [Block.create(seed + bytes([i]) * 50, codec=RAW) for i in range(n_leaves)]
    root = Block.create(encode(PBNode(links=tuple(PBLink(lf.cid, f"l{i}", 50) for i, lf in enumerate(leaves)))),
                        codec=DAG_PB, version=0)
    blocks.put_many([*leaves, root])
    return root.cid, [lf.cid for lf in leaves]


@pytest.fixture
def store(tmp_path):
    blocks = LmdbBlockstore(tmp_path / "blocks")
    pins = PinStore(tmp_path / "pins.db", blocks)
    yield pins
    pins.close()
    blocks.close()


def test_recursive_pin_lists_indirect(store):
    root, leaves = dag(store.blocks)
    store.add(root)
    assert store.ls("recursive") == [(root, "recursive")]
    assert sorted(c for c, _ in store.ls("indirect")) == sorted(leaves)
    assert store.pin_type(leaves[0]) == "indirect"
    assert store.pin_type(root) == "recursive"
    assert store.pin_type(root.to_v1()) == "recursive"  # same multihash
    assert len(store.ls("all")) == 4


def test_recursive_pin_of_incomplete_dag_names_missing_block(store):
    root, leaves = dag(store.blocks)
    store.blocks.delete(leaves[1])
    with pytest.raises(NotFound, match=str(leaves[1])):
        store.add(root)
    assert store.ls() == []


def test_pin_missing_root(store):
    cid = Block.create(b"nope", codec=RAW).cid
    with pytest.raises(NotFound, match=str(cid)):
        store.add(cid)
    with pytest.raises(NotFound):
        store.add(cid, recursive=False)


def test_direct_pin_and_upgrade_to_recursive(store):
    root, leaves = dag(store.blocks)
    store.add(root, recursive=False)
    assert store.ls("direct") == [(root, "direct")]
    assert store.ls("indirect") == []
    store.add(root)
    assert store.ls("all")[0] == (root, "recursive")
    with pytest.raises(PinnedError, match="recursively"):
        store.add(root, recursive=False)


def test_rm(store):
    root, leaves = dag(store.blocks)
    store.add(root)
    with pytest.raises(PinnedError, match="recursively"):
        store.rm(root, recursive=False)
    with pytest.raises(PinnedError, match="indirectly"):
        store.rm(leaves[0])
    store.rm(root)
    assert store.ls() == []
    with pytest.raises(NotFound, match="not pinned"):
        store.rm(root)
    with pytest.raises(NotFound):
        store.pin_type(root)


def test_pins_persist_and_dagcbor_links_are_followed(tmp_path):
    blocks = LmdbBlockstore(tmp_path / "blocks")
    leaf = Block.create(b"leaf", codec=RAW)
    node = Block.create(dagcbor.encode({"a": [leaf.cid], "n": 1}), codec=DAG_CBOR)
    blocks.put_many([leaf, node])
    pins = PinStore(tmp_path / "pins.db", blocks)
    pins.add(node.cid)
    pins.close()
    pins = PinStore(tmp_path / "pins.db", blocks)
    assert pins.ls() == [(node.cid, "recursive"), (leaf.cid, "indirect")]
    assert pins.protected_keys() == {leaf.cid.multihash, node.cid.multihash}


def test_ls_rejects_unknown_type(store):
    with pytest.raises(InvalidInput):
        store.ls("weird")
    with pytest.raises(InvalidInput):
        store.roots("weird")


def test_root_providers_protect_dags(store):
    root, leaves = dag(store.blocks)
    assert store.protected_keys() == set()
    store.add_root_provider(lambda: [root])
    assert store.protected_keys() == {root.multihash, *(c.multihash for c in leaves)}


def test_verify_reports_missing_and_corrupt(store):
    root, leaves = dag(store.blocks)
    store.add(root)
    other = Block.create(b"direct", codec=RAW)
    store.blocks.put(other.cid, other.data)
    store.add(other.cid, recursive=False)
    assert store.verify() == []
    store.blocks.delete(leaves[2])
    store.blocks.delete(other.cid)
    problems = store.verify()
    assert [c for c, _ in problems] == [root, other.cid]
    assert str(leaves[2]) in problems[0][1]


def test_verify_covers_the_extra_roots_and_corrupt_bytes(store):
    """What GC keeps for the versioning refs (commits, trees) is checked too, and a block whose
    bytes changed under its CID is reported (`pin verify` said all was well with a corrupt commit)."""
    root, leaves = dag(store.blocks)
    store.add_root_provider(lambda: [root])
    assert store.verify() == []
    data = store.blocks.get(leaves[0])
    store.blocks.delete(leaves[0])
    store.blocks.put(leaves[0], data + b"!")
    problems = store.verify()
    assert [c for c, _ in problems] == [root] and "hash" in problems[0][1]


def test_cid_versions_are_separate_pins(store):
    root, _ = dag(store.blocks)
    store.add(root)
    store.add(CID(1, DAG_PB, root.multihash))
    assert len(store.ls("recursive")) == 2
