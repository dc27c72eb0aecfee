import hashlib

import pytest

from jiaozi_node.errors import CodecError, InvalidInput, LimitExceeded
from jiaozi_node.ipld import multihash


def test_sha256_and_identity():
    assert multihash.digest(multihash.SHA2_256, b"a") == b"\x12\x20" + hashlib.sha256(b"a").digest()
    assert multihash.digest(multihash.IDENTITY, b"abc") == b"\x00\x03abc"
    assert multihash.decode(b"\x00\x03abc") == (0, b"abc")


def test_limits_and_errors():
    with pytest.raises(LimitExceeded):
        multihash.digest(multihash.IDENTITY, b"x" * 1000)
    with pytest.raises(CodecError):
        multihash.decode(b"\x12\x20abc")
    with pytest.raises(InvalidInput):
        multihash.code_of("md5")
