"""Record validators for routing keys (pure): which values may be stored under which key.

`/pk/<binary peer ID>` holds the peer's public key (libp2p protobuf `PublicKey`); it is valid
when hashing it the way peer IDs are made gives the key's peer ID. `/ipns/` records are
validated by the IPNS module ([4 of 5]); until it lands they are refused with that reason.

    validators = default_validators()
    validators["pk"].validate(key, value, now=time.time())
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..errors import InvalidInput
from .base import RecordValidator, key_namespace

# A libp2p peer ID inlines the key (identity multihash) when its protobuf is at most 42 bytes
# (Ed25519, secp256k1), else it is the key's SHA-256 multihash (RSA).
_MAX_INLINE_KEY_BYTES = 42
_KEY_TYPES = {0, 1, 2, 3}  # RSA, Ed25519, Secp256k1, ECDSA (libp2p crypto.proto)


def peer_id_multihash(public_key_protobuf: bytes) -> bytes:
    """The binary peer ID (a multihash) of a libp2p protobuf public key."""
    if len(public_key_protobuf) <= _MAX_INLINE_KEY_BYTES:
        return bytes([0x00, len(public_key_protobuf)]) + public_key_protobuf
    return b"\x12\x20" + hashlib.sha256(public_key_protobuf).digest()


def _check_key_protobuf(value: bytes) -> None:
    """Field 1 (varint key type) then field 2 (bytes), as libp2p's PublicKey message."""
    if len(value) < 4 or value[0] != 0x08 or value[1] not in _KEY_TYPES or value[2] != 0x12:
        raise InvalidInput("/pk/ record is not a libp2p public key")


class PublicKeyValidator:
    """`/pk/` records: the value must be the key whose peer ID is the key's suffix."""

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        if not key.startswith(b"/pk/") or len(key) <= 4:
            raise InvalidInput("a /pk/ key is /pk/ followed by a binary peer ID")
        _check_key_protobuf(value)
        if peer_id_multihash(value) != key[4:]:
            raise InvalidInput("/pk/ record: the public key does not match the peer ID in the key")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        if not values:
            raise InvalidInput("no values to select from")
        return 0  # every valid value is the same key


class IpnsNotYetValidator:
    """Placeholder for `/ipns/` until IPNS validation lands: refuses with the reason."""

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        raise InvalidInput("/ipns/ records are not accepted yet: IPNS validation is not built")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        raise InvalidInput("/ipns/ records are not accepted yet: IPNS validation is not built")


def default_validators() -> dict[str, RecordValidator]:
    """The namespaces this node accepts, each with its validator: the IPNS module's
    (`routing/records.py`, [4 of 5]) once it is there, else `/pk/` here and `/ipns/` refused."""
    try:
        from .records import default_validators as full  # type: ignore[import-not-found]
    except ImportError:
        return {"pk": PublicKeyValidator(), "ipns": IpnsNotYetValidator()}
    return dict(full())


def validate_record(validators: dict[str, RecordValidator], key: bytes, value: bytes, *,
                    now: float) -> None:
    """Raise InvalidInput unless `value` is a valid record for `key` (unknown namespaces too)."""
    ns = key_namespace(key)
    v = validators.get(ns)
    if v is None:
        raise InvalidInput(f"routing records under /{ns}/ are not accepted (only "
                           f"{', '.join('/' + n + '/' for n in sorted(validators))})")
    v.validate(key, value, now=now)
