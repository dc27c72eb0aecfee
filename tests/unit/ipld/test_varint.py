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
