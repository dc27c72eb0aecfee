import pytest

from jiaozi_node.errors import HashMismatch, LimitExceeded
from jiaozi_node.ipld import CID, RAW, Block, verify


def test_verify_accepts_and_rejects():
    b = Block.create(b"data", codec=RAW)
    b.verify()
    with pytest.raises(HashMismatch):
        verify(b.cid, b"other")
    with pytest.raises(LimitExceeded):
        verify(b.cid, b"x" * (2 * 1024 * 1024 + 1))


def test_identity_cid_verifies():
    c = CID.of(b"tiny", codec=RAW, hash_code=0)
    verify(c, b"tiny")


def test_hash_block_computes_the_cid_from_the_bytes():
    import pytest

    from jiaozi_node.errors import CodecError
    from jiaozi_node.ipld.block import hash_block
    from jiaozi_node.ipld.cid import CID, RAW

    cid = CID.of(b"hi", codec=RAW)
    prefix = cid.buffer[: -32]
    vb = hash_block(prefix, b"hi")
    assert vb.cid_bytes == cid.buffer and vb.cid == cid and vb.is_block_of(cid)
    assert hash_block(b"", b"x").cid_bytes[:2] == b"\x12\x20"  # CIDv0
    with pytest.raises(CodecError):
        hash_block(b"\x01\x55\x16\x20", b"x")  # sha3-256: not computed
