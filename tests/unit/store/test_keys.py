from __future__ import annotations

import pytest

from jiaozi_node.errors import CorruptBlock, HashMismatch, InvalidInput
from jiaozi_node.ipld import multihash
from jiaozi_node.ipld.cid import CID, DAG_PB, RAW
from jiaozi_node.store.keys import check_stored, cid_of_key, identity_data, is_identity, key_of


def test_key_is_multihash_and_back_to_raw_v1():
    v0 = CID(0, DAG_PB, multihash.digest(multihash.SHA2_256, b"x"))
    assert key_of(v0) == key_of(v0.to_v1()) == v0.multihash
    assert cid_of_key(key_of(v0)) == CID(1, RAW, v0.multihash)


def test_identity():
    cid = CID(1, RAW, multihash.digest(multihash.IDENTITY, b"abc"))
    assert is_identity(cid) and identity_data(cid) == b"abc"
    assert not is_identity(CID.of(b"abc"))


def test_check_stored():
    cid = CID.of(b"data")
    check_stored(cid, b"data")
    with pytest.raises(CorruptBlock) as e:
        check_stored(cid, b"dat4")
    assert isinstance(e.value, HashMismatch)
    sha512 = CID(1, RAW, multihash.digest(multihash.SHA2_512, b"data"))
    check_stored(sha512, b"data")
    with pytest.raises(InvalidInput):
        check_stored(CID(1, RAW, bytes([0x1B, 2, 0, 0])), b"")  # keccak-256 header: unsupported
