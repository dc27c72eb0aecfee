"""gateway/content.py: path resolution with roots and proofs; CAR block selection."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import NotFound
from jiaozi_node.gateway.content import car_blocks, resolve_path
from jiaozi_node.ipld import DAG_CBOR, Block, dagcbor
from jiaozi_node.unixfs.exporter_testing import DagBuilder


def test_resolve_through_dirs_hamt_and_cbor() -> None:
    dag = DagBuilder()
    leaf = dag.raw(b"leaf")
    shard = dag.hamt({f"n{i}": leaf for i in range(30)}, fanout=4)
    d = dag.directory({"s": shard, "f": leaf})
    obj = Block.create(dagcbor.encode({"m": {"list": [d]}}), codec=DAG_CBOR)
    dag.store.put(obj.cid, obj.data)
    r = resolve_path(dag.store, obj.cid, ("m", "list", "0", "s", "n17"))
    assert r.cid == leaf
    assert r.roots[0] == obj.cid and r.roots[-1] == leaf
    assert r.proof[:3] == (obj.cid, d, shard) and len(r.proof) >= 3  # sub-shards follow
    with pytest.raises(NotFound):
        resolve_path(dag.store, obj.cid, ("m", "nope"))
    with pytest.raises(NotFound):
        resolve_path(dag.store, d, ("f", "below-a-file"))
    with pytest.raises(NotFound):
        resolve_path(dag.store, obj.cid, ("m",))  # ends inside a block, not at a link


def test_car_blocks_no_duplicates_and_scopes() -> None:
    dag = DagBuilder()
    same = dag.raw(b"same bytes")
    f = dag.file([same, same, dag.raw(b"other")])
    d = dag.directory({"a": f, "b": f})
    r = resolve_path(dag.store, d, ())
    cids = [c for c, _ in car_blocks(dag.store, r, "all")]
    assert len(cids) == len(set(cids)) == 4
    assert [c for c, _ in car_blocks(dag.store, r, "block")] == [d]
    r2 = resolve_path(dag.store, d, ("a",))
    assert [c for c, _ in car_blocks(dag.store, r2, "block")] == [d, f]
    ident = dag.identity(b"inline")
    d2 = dag.directory({"i": ident})
    assert [c for c, _ in car_blocks(dag.store, resolve_path(dag.store, d2, ()), "all")] == [d2]
