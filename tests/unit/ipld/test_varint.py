import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import varint


@pytest.mark.parametrize("n", [0, 1, 127, 128, 300, 2**32, 2**63 - 1])
def test_roundtrip(n):
    assert varint.decode(varint.encode(n)) == (n, len(varint.encode(n)))


@pytest.mark.parametrize("raw", [b"", b"\x80", b"\xff" * 10, b"\x80\x00"])
def test_rejects_truncated_overlong_nonminimal(raw):
    with pytest.raises(CodecError):
        varint.decode(raw)


def test_decode_partial_waits_then_decodes():
    from jiaozi_node.ipld.varint import decode_partial

    assert decode_partial(b"") is None
    assert decode_partial(b"\x80\x80") is None
    assert decode_partial(b"\xac\x02rest") == (300, 2)
    assert decode_partial(b"xx\x05", 2) == (5, 3)
    with pytest.raises(CodecError, match="too long"):
        decode_partial(b"\x80" * 9)
    with pytest.raises(CodecError, match="non-minimal"):
        decode_partial(b"\x80\x00")


def test_decode_protobuf_bounds_and_errors():
    from jiaozi_node.errors import RemoteProtocolError
    from jiaozi_node.ipld.varint import decode_protobuf, encode

    big = encode((1 << 64) - 1)
    assert len(big) == 10 and decode_protobuf(big, 0, 10) == ((1 << 64) - 1, 10)
    assert decode_protobuf(b"\x80\x00", 0, 2) == (0, 2)  # protobuf accepts non-minimal
    with pytest.raises(CodecError, match="unixfs: non-minimal"):
        decode_protobuf(b"\x80\x00", 0, 2, what="unixfs", minimal=True)
    with pytest.raises(RemoteProtocolError, match="bitswap: truncated"):
        decode_protobuf(b"\x80\x80", 0, 2, error=RemoteProtocolError, what="bitswap")
    with pytest.raises(CodecError, match="longer than 10"):
        decode_protobuf(b"\xff" * 11, 0, 11)
    with pytest.raises(CodecError, match="overflows"):
        decode_protobuf(b"\xff" * 9 + b"\x7f", 0, 10)


def test_no_other_varint_reader_in_the_package():
    """Every varint is read by ipld/varint.py: no hand-written LEB128 decode loop elsewhere."""
    import re
    from pathlib import Path

    import jiaozi_node

    root = Path(jiaozi_node.__file__).parent
    loop = re.compile(r"\|= \(\w+ & 0x7[fF]\) << ")
    found = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
             if loop.search(p.read_text()) and p.relative_to(root).as_posix() != "ipld/varint.py"]
    assert found == []
