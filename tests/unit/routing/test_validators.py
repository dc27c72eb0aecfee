"""/pk/ record validation against real peer IDs (Ed25519 inline, RSA hashed)."""

from __future__ import annotations

import base58
import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.identity import Identity
from jiaozi_node.routing.validators import (
    PublicKeyValidator,
    default_validators,
    peer_id_multihash,
    validate_record,
)


def test_ed25519_peer_id_matches_identity():
    ident = Identity.generate()
    assert base58.b58encode(peer_id_multihash(ident.public_key_protobuf)).decode() == ident.peer_id


def test_rsa_style_key_is_hashed():
    fake_rsa = b"\x08\x00\x12\x80\x02" + b"\x01" * 256
    mh = peer_id_multihash(fake_rsa)
    assert mh[:2] == b"\x12\x20" and len(mh) == 34


def test_pk_record_valid_and_invalid():
    v = PublicKeyValidator()
    ident, other = Identity.generate(), Identity.generate()
    key = b"/pk/" + base58.b58decode(ident.peer_id)
    v.validate(key, ident.public_key_protobuf, now=0)
    with pytest.raises(InvalidInput):
        v.validate(key, other.public_key_protobuf, now=0)
    with pytest.raises(InvalidInput):
        v.validate(key, b"garbage", now=0)
    with pytest.raises(InvalidInput):
        v.validate(b"/pk/", ident.public_key_protobuf, now=0)
    assert v.select(key, [ident.public_key_protobuf], now=0) == 0


def test_ipns_refused_with_reason_until_built_and_unknown_namespaces():
    validators = default_validators()
    with pytest.raises(InvalidInput):  # not built yet, or not a valid record
        validate_record(validators, b"/ipns/\x00\x24abc", b"rec", now=0)
    with pytest.raises(InvalidInput, match="not accepted"):
        validate_record(validators, b"/foo/bar", b"x", now=0)
