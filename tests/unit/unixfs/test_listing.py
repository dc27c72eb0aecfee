from __future__ import annotations

import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import dagpb
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.unixfs.listing import dir_entries, pb_links
from jiaozi_node.versioning.tree import list_dir


def _same(d, cid):
    ref = sorted((n, link.cid.buffer, link.tsize) for n, link in list_dir(d.store.get, cid).items())
    assert sorted(dir_entries(d.store.get, cid, max_entries=10**6)) == ref


def test_plain_and_hamt_match_the_tree_reader():
    d = DagBuilder()
    files = {f"file-{i}": d.raw(str(i).encode() * 50) for i in range(3000)}
    _same(d, d.directory(dict(list(files.items())[:10])))
    _same(d, d.hamt(files))
    _same(d, d.hamt({"é ü 名": d.raw(b"x"), "a": d.raw(b"y")}, fanout=16))


def test_limit_and_hostile_blocks():
    d = DagBuilder()
    big = d.hamt({f"f{i}": d.raw(b"x") for i in range(500)})
    with pytest.raises(CodecError, match="more than"):
        dir_entries(d.store.get, big, max_entries=100)
    raw = d.store.get(d.directory({"a": d.raw(b"1")}))
    with pytest.raises(CodecError):
        pb_links(raw[:-3])  # truncated
    with pytest.raises(CodecError):
        pb_links(b"\x1a\x00")  # field 3 is not dag-pb
    with pytest.raises(CodecError):
        pb_links(b"\x12\x02\x18\x01")  # a link without a hash
    # a HAMT shard whose link name has no hex prefix
    child = d.raw(b"z")
    data = pb.encode(pb.UnixFSData(type=pb.DataType.HAMTShard, fanout=256, hash_type=0x22, data=b"\x01"))
    bad = d.raw_node(dagpb.PBNode(links=(dagpb.PBLink(child, "zzname", 1),), data=data))
    with pytest.raises(CodecError, match="hex prefix"):
        dir_entries(d.store.get, bad, max_entries=10)
