"""Node identities: Ed25519 keys in libp2p's protobuf encoding, peer IDs, signatures.

Keys are stored like Kubo stores them (`Identity.PrivKey`: base64 of the libp2p `PrivateKey`
protobuf), so the same repo key is used by the libp2p host and for signing commits. Peer IDs of
Ed25519 keys are identity multihashes of the protobuf `PublicKey` (`12D3KooW…`).
"""

from __future__ import annotations

import base64

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import InvalidInput, SignatureError
from .frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class
from .ipld import varint

KEY_TYPE_ED25519 = 1  # libp2p crypto.proto KeyType


def _pb_key(key_type: int, data: bytes) -> bytes:
    # message PublicKey/PrivateKey { required KeyType Type = 1; required bytes Data = 2; }
    return b"\x08" + varint.encode(key_type) + b"\x12" + varint.encode(len(data)) + data


def _parse_pb_key(raw: bytes) -> tuple[int, bytes]:
    pos = 0
    key_type = None
    data = None
    while pos < len(raw):
        tag, pos = varint.decode(raw, pos)
        if tag == 0x08:
            key_type, pos = varint.decode(raw, pos)
        elif tag == 0x12:
            n, pos = varint.decode(raw, pos)
            data = raw[pos : pos + n]
            pos += n
        else:
            raise InvalidInput("malformed libp2p key protobuf")
    if key_type is None or data is None:
        raise InvalidInput("malformed libp2p key protobuf")
    return key_type, bytes(data)


def _raw_public(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_protobuf(pub: Ed25519PublicKey) -> bytes:
    return _pb_key(KEY_TYPE_ED25519, _raw_public(pub))


def peer_id_of(pub: Ed25519PublicKey) -> str:
    pb = public_key_protobuf(pub)
    return base58.b58encode(b"\x00" + varint.encode(len(pb)) + pb).decode()


def public_key_from_peer_id(peer_id: str) -> Ed25519PublicKey:
    """Recover the Ed25519 key inlined in a `12D3KooW…` peer ID."""
    try:
        raw = base58.b58decode(peer_id)
    except ValueError:
        raise InvalidInput(f"invalid peer ID {peer_id!r}") from None
    if not raw or raw[0] != 0x00:
        raise InvalidInput(f"peer ID {peer_id!r} does not inline an Ed25519 key")
    n, pos = varint.decode(raw, 1)
    key_type, data = _parse_pb_key(raw[pos : pos + n])
    if key_type != KEY_TYPE_ED25519 or len(data) != 32:
        raise InvalidInput(f"peer ID {peer_id!r} is not an Ed25519 key")
    return Ed25519PublicKey.from_public_bytes(data)


def verify_signature(pub: Ed25519PublicKey | bytes, signature: bytes, message: bytes) -> None:
    """Raise SignatureError unless `signature` is valid for `message`."""
    key = Ed25519PublicKey.from_public_bytes(pub) if isinstance(pub, bytes) else pub
    try:
        key.verify(signature, message)
    except InvalidSignature:
        raise SignatureError("invalid signature") from None


@dataclass(frozen=True)
class Identity:
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> Identity:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_config(cls, priv_b64: str) -> Identity:
        key_type, data = _parse_pb_key(base64.b64decode(priv_b64))
        if key_type != KEY_TYPE_ED25519:
            raise InvalidInput("only Ed25519 node identities are supported")
        # libp2p stores 64 bytes: seed || public key
        return cls(Ed25519PrivateKey.from_private_bytes(data[:32]))

    def to_config(self) -> str:
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption())
        return base64.b64encode(_pb_key(KEY_TYPE_ED25519, seed + self.public_bytes)).decode()

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_bytes(self) -> bytes:
        return _raw_public(self.public_key)

    @property
    def public_key_protobuf(self) -> bytes:
        return public_key_protobuf(self.public_key)

    @property
    def peer_id(self) -> str:
        return peer_id_of(self.public_key)

    @property
    def seed(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption())

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)
