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
