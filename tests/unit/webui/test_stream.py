from __future__ import annotations

import random

import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import dagpb
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.webui.stream import read_from


@pytest.mark.parametrize("raw_leaves", [True, False])
def test_same_bytes_as_the_exporter_from_any_offset(raw_leaves):
    rnd = random.Random(3)
    data = bytes(rnd.getrandbits(8) for _ in range(50_000))
    d = DagBuilder()
    for width in (3, 1024):
        cid = d.chunked(data, chunk=997, width=width, raw_leaves=raw_leaves)
        for off in [0, 1, 996, 997, 4000, 49_999, 50_000, 60_000] + [rnd.randrange(50_000) for _ in range(10)]:
            assert b"".join(read_from(d.store, cid, off)) == b"".join(read_file(d.store, cid, off)) == data[off:]
    leaf = d.raw(b"just a leaf")
    assert b"".join(read_from(d.store, leaf, 5)) == b"a leaf"


def test_reads_only_what_is_pulled():
    d = DagBuilder()
    cid = d.chunked(b"x" * 100_000, chunk=1000, width=1024)

    class Counting:
        n = 0

        def get(self, c):
            Counting.n += 1
            return d.store.get(c)

    it = read_from(Counting(), cid, 50_500)
    assert next(it) == b"x" * 500 and Counting.n == 2  # the root and one leaf


def test_lying_blocksizes_and_not_a_file():
    d = DagBuilder()
    leaf = d.raw(b"y" * 10)
    meta = pb.encode(pb.UnixFSData(type=pb.DataType.File, filesize=20, blocksizes=(20,)))
    lying = d.raw_node(dagpb.PBNode(links=(dagpb.PBLink(leaf, "", 10),), data=meta))
    with pytest.raises(CodecError):
        b"".join(read_from(d.store, lying))
    with pytest.raises(Exception, match="not a file"):
        b"".join(read_from(d.store, d.directory({"a": leaf})))
