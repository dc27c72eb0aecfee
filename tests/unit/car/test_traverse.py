import hashlib

import pytest

from jiaozi_node.car.traverse import dag_blocks, parse_entity_bytes
from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.ipld import dagcbor, dagpb
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import DAG_CBOR
from jiaozi_node.unixfs.exporter_testing import DagBuilder


def data_of(n):
    return hashlib.shake_128(b"t").digest(n)


def build():
    dag = DagBuilder()
    big = dag.chunked(data_of(1000), chunk=100, width=4)  # 10 leaves, 3 mid, 1 root
    small = dag.raw(b"small")
    many = {f"e{i}": dag.raw(str(i).encode()) for i in range(300)}
    many["big"] = big
    h = dag.hamt(many)
    sub = dag.directory({"big": big, "dup": big, "small": small})
    root = dag.directory({"h": h, "sub": sub})
    return dag, root, h, sub, big, small


def cids(blocks):
    return [b.cid for b in blocks]


def preorder(dag, cid, out=None):
    out = [] if out is None else out
    if cid not in out:
        out.append(cid)
        if cid.codec == 0x70:
            for link in dagpb.decode(dag.store.get(cid)).links:
                preorder(dag, link.cid, out)
    return out


def test_all_is_dfs_preorder_without_duplicates():
    dag, root, *_ = build()
    got = cids(dag_blocks(dag.store, root))
    assert got == preorder(dag, root)
    assert len(got) == len(set(got)) == len(dag.store)
    blocks = list(dag_blocks(dag.store, root))
    assert all(b.data == dag.store.get(b.cid) for b in blocks)


def test_path_blocks_come_first_then_target():
    dag, root, h, sub, big, small = build()
    got = cids(dag_blocks(dag.store, root, ["sub", "small"], scope="all"))
    assert got == [root, sub, small]
    got = cids(dag_blocks(dag.store, root, ["h", "big"], scope="block"))
    assert got[0] == root and got[1] == h and got[-1] == big
    assert all(c.codec == 0x70 for c in got)  # the root, the shards on the way, the target


def test_entity_scope():
    dag, root, h, sub, big, small = build()
    # a file: every block of it
    assert cids(dag_blocks(dag.store, root, ["sub", "big"], scope="entity")) == [root, sub] + preorder(dag, big)
    # a plain directory: only its block
    assert cids(dag_blocks(dag.store, root, ["sub"], scope="entity")) == [root, sub]
    # a HAMT: every shard node, but no entries
    got = cids(dag_blocks(dag.store, root, ["h"], scope="entity"))
    assert got[:2] == [root, h] and all(c.codec == 0x70 for c in got) and len(got) > 2
    # non-UnixFS: just the block
    cb = Block.create(dagcbor.encode({"x": big}), codec=DAG_CBOR)
    dag.store.put(cb.cid, cb.data)
    assert cids(dag_blocks(dag.store, cb.cid, scope="entity")) == [cb.cid]
    assert cids(dag_blocks(dag.store, cb.cid, scope="all"))[:2] == [cb.cid, big]


def test_entity_bytes_only_needed_leaves():
    dag, root, h, sub, big, small = build()
    got = cids(dag_blocks(dag.store, big, entity_bytes=(250, 350), scope="entity"))
    leaves = [c for c in got if c.codec == 0x55]
    assert len(leaves) == 2 and got[0] == big
    every = cids(dag_blocks(dag.store, big, entity_bytes="0:*", scope="entity"))
    assert every == preorder(dag, big)
    last = cids(dag_blocks(dag.store, big, entity_bytes="-50:*", scope="entity"))
    assert len([c for c in last if c.codec == 0x55]) == 1
    assert cids(dag_blocks(dag.store, big, entity_bytes="5000:6000", scope="entity")) == [big]


def test_parse_entity_bytes():
    assert parse_entity_bytes("0:*") == (0, None)
    assert parse_entity_bytes("10:19") == (10, 20)
    assert parse_entity_bytes("-100:*", 1000) == (900, None)
    assert parse_entity_bytes("499:-1000", 5000) == (499, 4001)
    with pytest.raises(InvalidInput):
        parse_entity_bytes("a:b")
    with pytest.raises(InvalidInput):
        parse_entity_bytes("-1:*")


def test_identity_blocks_skipped_and_missing_raises():
    dag = DagBuilder()
    ident = dag.identity(b"tiny")
    f = dag.file([ident, dag.raw(b"rest")])
    assert ident not in cids(dag_blocks(dag.store, f))
    with pytest.raises(InvalidInput, match="dag-scope"):
        list(dag_blocks(dag.store, f, scope="bogus"))
    dag.store.delete(dagpb.decode(dag.store.get(f)).links[1].cid)
    with pytest.raises(NotFound):
        list(dag_blocks(dag.store, f))
