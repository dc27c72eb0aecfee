import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import CID, RAW, dagcbor


def test_roundtrip_with_links_and_bytes():
    v = {"b": b"\x00\x01", "a": CID.of(b"x", codec=RAW), "n": [1, "two", None, True]}
    assert dagcbor.decode(dagcbor.encode(v)) == v


def test_rejects_non_canonical_key_order():
    # {"b":1,"a":2} encoded with keys out of canonical order
    raw = bytes([0xA2, 0x61, ord("b"), 0x01, 0x61, ord("a"), 0x02])
    with pytest.raises(CodecError):
        dagcbor.decode(raw)


def test_rejects_garbage():
    with pytest.raises(CodecError):
        dagcbor.decode(b"\xff\xff")
