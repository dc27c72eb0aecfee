import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import CID, RAW, dagjson


def test_canonical_encoding():
    c = CID.of(b"x", codec=RAW)
    out = dagjson.encode({"z": 1, "a": c, "m": b"hi"})
    assert out == b'{"a":{"/":"' + str(c).encode() + b'"},"m":{"/":{"bytes":"aGk"}},"z":1}'
    assert dagjson.decode(out) == {"z": 1, "a": c, "m": b"hi"}


@pytest.mark.parametrize("bad", [b"{", b'{"a":1,"a":2}', b'{"/":"notacid"}', b"\xff"])
def test_rejects_bad_input(bad):
    with pytest.raises(Exception) as info:
        dagjson.decode(bad)
    assert isinstance(info.value, (CodecError, ValueError))
