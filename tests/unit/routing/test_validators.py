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
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    der = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pb = b"\x08\x00\x12" + bytes([len(der) & 0x7F | 0x80, len(der) >> 7]) + der
    mh = peer_id_multihash(pb)
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


def test_bad_ipns_record_and_unknown_namespaces_refused():
    validators = default_validators()
    with pytest.raises(InvalidInput):  # not a valid record
        validate_record(validators, b"/ipns/\x00\x24abc", b"rec", now=0)
    with pytest.raises(InvalidInput, match="not accepted"):
        validate_record(validators, b"/foo/bar", b"x", now=0)
