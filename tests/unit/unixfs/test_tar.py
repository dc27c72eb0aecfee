from __future__ import annotations

import io
import tarfile

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipld import dagpb
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.unixfs.tar import tar_stream


def test_tree_round_trips_through_tar():
    d = DagBuilder()
    long_name = "n" * 150 + ".csv"
    big = d.chunked(bytes(range(256)) * 40, chunk=1000, width=4)
    root = d.directory({long_name: d.raw(b"long\n"), "名前.txt": d.raw(b"unicode\n"), "big.bin": big,
                        "empty": d.directory({}), "link": d.symlink("big.bin"),
                        "sub": d.directory({"x": d.raw(b"")})})
    data = b"".join(tar_stream(d.store, root, "top"))
    assert len(data) % 512 == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        names = tf.getnames()
        assert f"top/{long_name}" in names and "top/名前.txt" in names and "top/empty" in names
        assert tf.extractfile("top/big.bin").read() == bytes(range(256)) * 40
        assert tf.extractfile("top/sub/x").read() == b""
        assert tf.getmember("top/link").issym() and tf.getmember("top/link").linkname == "big.bin"
        assert tf.getmember("top/empty").isdir()


def test_unsafe_names_are_refused():
    d = DagBuilder()
    meta = pb.encode(pb.UnixFSData(type=pb.DataType.Directory))
    evil = d.raw_node(dagpb.PBNode(links=(dagpb.PBLink(d.raw(b"x"), "..", 1),), data=meta))
    with pytest.raises(InvalidInput):
        b"".join(tar_stream(d.store, evil, "top"))
