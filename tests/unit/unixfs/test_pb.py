"""UnixFS Data protobuf: byte-exact encodings of what Kubo emits, strict decoding."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import CID, DAG_PB, dagpb
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.pb import DataType, UnixFSData, UnixTime


def _v0(data: bytes) -> str:
    return str(CID.of(dagpb.encode(dagpb.PBNode((), data)), codec=DAG_PB, version=0))


def test_well_known_kubo_cids() -> None:
    # Kubo's empty directory and empty file (dag-pb leaves, CIDv0).
    assert _v0(pb.directory()) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    assert _v0(pb.file_leaf(b"")) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    assert pb.file_leaf(b"") == pb.EMPTY_FILE_DATA


def test_leaf_bytes() -> None:
    assert pb.file_leaf(b"hi") == b"\x08\x02\x12\x02hi\x18\x02"
    big = b"x" * 300
    assert pb.file_leaf(big) == b"\x08\x02\x12\xac\x02" + big + b"\x18\xac\x02"
    assert pb.decode(pb.file_leaf(big)) == UnixFSData(DataType.File, data=big, filesize=300)


def test_file_node_bytes() -> None:
    raw = pb.file_node([262144, 5])
    assert raw == b"\x08\x02\x18\x85\x80\x10\x20\x80\x80\x10\x20\x05"
    msg = pb.decode(raw)
    assert msg.blocksizes == (262144, 5) and msg.filesize == 262149 and msg.data is None


def test_hamt_and_symlink() -> None:
    raw = pb.hamt_shard(b"\x01\x02")
    assert raw == b"\x08\x05\x12\x02\x01\x02\x28\x22\x30\x80\x02"
    msg = pb.decode(raw)
    assert (msg.type, msg.data, msg.hash_type, msg.fanout) == (DataType.HAMTShard, b"\x01\x02", 0x22, 256)
    assert pb.symlink(b"../a") == b"\x08\x04\x12\x04../a"


@pytest.mark.parametrize(
    "msg",
    [
        UnixFSData(DataType.Raw, data=b"abc"),
        UnixFSData(DataType.Directory, mode=0o755, mtime=UnixTime(1700000000, 5)),
        UnixFSData(DataType.File, filesize=0, mtime=UnixTime(-5)),
        UnixFSData(DataType.Metadata, data=pb.encode_metadata("text/plain")),
        UnixFSData(DataType.File, data=b"", filesize=0),
        UnixFSData(DataType.File, filesize=1 << 63, blocksizes=(1, 2, 3)),
    ],
)
def test_roundtrip(msg: UnixFSData) -> None:
    assert pb.decode(pb.encode(msg)) == msg


def test_mtime_negative_seconds_is_ten_byte_varint() -> None:
    raw = pb.encode(UnixFSData(DataType.File, mtime=UnixTime(-1)))
    assert raw == b"\x08\x02\x42\x0b\x08" + b"\xff" * 9 + b"\x01"


def test_packed_blocksizes_accepted() -> None:
    raw = b"\x08\x02\x18\x03\x22\x02\x01\x02"
    assert pb.decode(raw).blocksizes == (1, 2)


def test_metadata_roundtrip() -> None:
    assert pb.decode_metadata(pb.encode_metadata("text/html")) == "text/html"
    assert pb.decode_metadata(b"") is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # missing Type
        b"\x08\x09",  # unknown Type
        b"\x08\x02\x08\x02",  # duplicate Type
        b"\x08\x02\x12\x05ab",  # truncated Data
        b"\x08\x02\x48\x01",  # unknown field 9
        b"\x08\x02\x1a\x00",  # filesize with wrong wire type
        b"\x08\x02\x18\x80\x00",  # non-minimal varint
        b"\x08\x02\x18" + b"\xff" * 10 + b"\x01",  # overlong varint
        b"\x08\x02\x42\x02\x15\x00",  # mtime without Seconds / truncated
        b"\x08\x02\x38\x80\x80\x80\x80\x10",  # mode > uint32
    ],
)
def test_strict_decode_rejects(raw: bytes) -> None:
    with pytest.raises(CodecError):
        pb.decode(raw)
