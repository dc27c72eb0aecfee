"""Record validators for routing keys (pure): which values may be stored under which key.

`/pk/<binary peer ID>` holds the peer's public key (libp2p protobuf `PublicKey`); it is valid
when hashing it the way peer IDs are made gives the key's peer ID. `/ipns/` records are
validated by the IPNS module (`ipns/validator.py`).

    validators = default_validators()
    validators["pk"].validate(key, value, now=time.time())
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InvalidInput
from ..ipns.crypto import PublicKey
from .base import RecordValidator, key_namespace


def peer_id_multihash(public_key_protobuf: bytes) -> bytes:
    """The binary peer ID (a multihash) of a libp2p protobuf public key (InvalidInput if it is
    not one): inlined for keys of at most 42 bytes, else their SHA-256 (the peer-ID spec)."""
    return PublicKey.from_protobuf(public_key_protobuf).peer_id_multihash()


class PublicKeyValidator:
    """`/pk/` records: the value must be the key whose peer ID is the key's suffix."""

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        if not key.startswith(b"/pk/") or len(key) <= 4:
            raise InvalidInput("a /pk/ key is /pk/ followed by a binary peer ID")
        try:
            mh = peer_id_multihash(value)
        except InvalidInput as exc:
            raise InvalidInput(f"/pk/ record is not a libp2p public key: {exc}") from None
        if mh != key[4:]:
            raise InvalidInput("/pk/ record: the public key does not match the peer ID in the key")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        if not values:
            raise InvalidInput("no values to select from")
        return 0  # every valid value is the same key


def default_validators() -> dict[str, RecordValidator]:
    """The namespaces this node accepts, each with its validator: `/pk/` (here) and `/ipns/`
    (the IPNS module's, the one validation every path uses)."""
    from ..ipns.validator import IpnsValidator

    return {"pk": PublicKeyValidator(), "ipns": IpnsValidator()}


def validate_record(validators: dict[str, RecordValidator], key: bytes, value: bytes, *,
                    now: float) -> None:
    """Raise InvalidInput unless `value` is a valid record for `key` (unknown namespaces too)."""
    ns = key_namespace(key)
    v = validators.get(ns)
    if v is None:
        raise InvalidInput(f"routing records under /{ns}/ are not accepted (only "
                           f"{', '.join('/' + n + '/' for n in sorted(validators))})")
    v.validate(key, value, now=now)
