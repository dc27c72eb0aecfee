import pytest

from jiaozi_node.errors import CodecError, NotFound
from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.cid import CID
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_data import get_node
from jiaozi_node.unixfs.exporter_hamt import (
    hamt_hash,
    hamt_lookup,
    hamt_shard_nodes,
)
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.unixfs.listing import dir_entries


def hamt_entries(store, shard):
    """(name, CID) of every entry, through the one lister (unixfs.listing)."""
    return [(n, CID.from_bytes(h)) for n, h, _t in dir_entries(store.get, shard.cid)]


def test_reader_uses_the_builders_hash():
    # murmur3 x64 128 (seed 0) of b"hello": h1 = 0xcbd8a7b341bd9b02; boxo/Helia use h1 big-endian.
    # The exporter reads with the very function the importer's HAMT builder hashes with.
    from jiaozi_node.unixfs import hamt

    assert hamt_hash is hamt.hamt_hash
    assert hamt_hash("hello") == bytes.fromhex("cbd8a7b341bd9b02")
    assert hamt_hash("") == bytes(8)


@pytest.mark.parametrize("fanout", [256, 16, 4])
def test_lookup_and_entries(fanout):
    dag = DagBuilder()
    entries = {f"name {i}": dag.raw(str(i).encode()) for i in range(200)}
    root = dag.hamt(entries, fanout=fanout)
    shard = get_node(dag.store, root)
    listed = dict(hamt_entries(dag.store, shard))
    assert listed == entries
    for name, cid in list(entries.items())[::17]:
        link, visited = hamt_lookup(dag.store, shard, name)
        assert link.cid == cid
        assert visited[0].cid == root
        assert all(v.kind == "hamt-shard" for v in visited)
    with pytest.raises(NotFound, match="no link named 'nope'"):
        hamt_lookup(dag.store, shard, "nope")
    nodes = list(hamt_shard_nodes(dag.store, shard))
    assert nodes[0].cid == root and len({n.cid for n in nodes}) == len(nodes) > 1


def test_prefix_only_names_and_short_names():
    dag = DagBuilder()
    # Names that are themselves two hex-looking characters must still work as entries.
    entries = {"AB": dag.raw(b"1"), "0": dag.raw(b"2"), "": dag.raw(b"3")}
    root = dag.hamt({k: v for k, v in entries.items() if k})
    shard = get_node(dag.store, root)
    assert dict(hamt_entries(dag.store, shard)) == {
        "AB": entries["AB"], "0": entries["0"]}


def test_malformed_shards():
    dag = DagBuilder()
    leaf = dag.raw(b"x")
    bad_prefix = dag.raw_node(dagpb.PBNode((dagpb.PBLink(leaf, "zzname", 1),), pb.hamt_shard(b"\x00")))
    with pytest.raises(CodecError, match="hex prefix"):
        list(hamt_entries(dag.store, get_node(dag.store, bad_prefix)))
    short = dag.raw_node(dagpb.PBNode((dagpb.PBLink(leaf, "A", 1),), pb.hamt_shard(b"\x00")))
    with pytest.raises(CodecError, match="shorter"):
        list(hamt_entries(dag.store, get_node(dag.store, short)))
    # A sub-shard link pointing at a file
    not_shard = dag.raw_node(dagpb.PBNode((dagpb.PBLink(leaf, "0A", 1),), pb.hamt_shard(b"\x00")))
    with pytest.raises(CodecError, match="not a shard"):
        list(hamt_entries(dag.store, get_node(dag.store, not_shard)))
    bad_hash = dag.raw_node(dagpb.PBNode((), pb.hamt_shard(b"\x00", hash_type=0x12)))
    with pytest.raises(CodecError, match="hash type"):
        get_node(dag.store, bad_hash)
    bad_fanout = dag.raw_node(dagpb.PBNode((), pb.hamt_shard(b"\x00", fanout=100)))
    with pytest.raises(CodecError, match="fanout"):
        get_node(dag.store, bad_fanout)
