"""libp2p keys: protobuf round trips, peer IDs, signatures for every key type."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput, SignatureError
from jiaozi_node.identity import Identity
from jiaozi_node.ipns.crypto import PrivateKey, PublicKey, decode_key_protobuf


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "secp256k1", "ecdsa"])
def test_roundtrip_sign_verify(kind):
    key = PrivateKey.generate(kind)
    again = PrivateKey.from_protobuf(key.to_protobuf())
    assert again.public_key == key.public_key
    assert PrivateKey.from_pem(key.to_pem()).public_key == key.public_key
    pub = PublicKey.from_protobuf(key.public_key.protobuf)
    sig = again.sign(b"hello")
    pub.verify(sig, b"hello")
    with pytest.raises(SignatureError):
        pub.verify(sig, b"hellO")


def test_ed25519_peer_id_matches_identity_module():
    ident = Identity.generate()
    key = PrivateKey.from_protobuf(__import__("base64").b64decode(ident.to_config()))
    import base58
    assert base58.b58encode(key.public_key.peer_id_multihash()).decode() == ident.peer_id


def test_rsa_peer_id_is_sha256():
    key = PrivateKey.generate("rsa")
    assert key.public_key.peer_id_multihash()[:2] == b"\x12\x20"


@pytest.mark.parametrize("raw", [b"", b"\x08\x01", b"\x08\x09\x12\x00", b"\x08\x01\x12\x05ab",
                                 b"\x18\x01"])
def test_malformed_protobuf(raw):
    with pytest.raises(InvalidInput):
        decode_key_protobuf(raw)


def test_malformed_keys():
    with pytest.raises(InvalidInput):
        PublicKey.from_protobuf(b"\x08\x01\x12\x03abc")  # ed25519 of 3 bytes
    with pytest.raises(InvalidInput):
        PublicKey.from_protobuf(b"\x08\x00\x12\x03abc")  # RSA, not DER
    with pytest.raises(InvalidInput):
        PrivateKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
