"""Value records (`/pk/…`, `/ipns/…`): validated before they are stored or handed out. Pure.

Validators are pluggable: a mapping namespace -> `RecordValidator` (routing/base.py). This
module brings the `/pk/` one (the value is a libp2p public key whose multihash is the peer ID in
the key). `/ipns/` needs the IPNS validator (jiaozi_node/ipns, passed in by whoever starts the
DHT); until one is given, `/ipns/` records are refused with that reason. Any other namespace is
refused, as go-libp2p-kad-dht does with its default validator set.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from ...config import DHT_LIMITS
from ...errors import InvalidInput, LimitExceeded, NotFound
from ..base import RecordValidator, key_namespace
from .keys import check_peer_bytes

IPNS_NOT_YET = ("IPNS records are not accepted yet: this node has no IPNS validator "
                "(IPNS support arrives with jiaozi_node.ipns)")


class PublicKeyValidator:
    """`/pk/<binary peer ID>` -> the peer's public key (libp2p `PublicKey` protobuf)."""

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        if not key.startswith(b"/pk/"):
            raise InvalidInput("public key record key must start with /pk/")
        pid = key[4:]
        try:
            check_peer_bytes(pid)
        except InvalidInput as exc:
            raise InvalidInput(f"/pk/ record: {exc}") from None
        if pid[0] == 0x00:
            ok = pid[2:] == value
        else:
            ok = hashlib.sha256(value).digest() == pid[2:]
        if not ok:
            raise InvalidInput("/pk/ record: the public key does not hash to the peer ID")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        return 0  # every valid value is the same key


def default_validators() -> dict[str, RecordValidator]:
    return {"pk": PublicKeyValidator()}


class Validators:
    """Dispatch by namespace; `/ipns/` without a validator is refused with a clear reason."""

    def __init__(self, validators: Mapping[str, RecordValidator] | None = None) -> None:
        self._v: dict[str, RecordValidator] = default_validators()
        self._v.update(validators or {})

    def _get(self, key: bytes) -> RecordValidator:
        ns = key_namespace(key)
        v = self._v.get(ns)
        if v is None:
            if ns == "ipns":
                raise InvalidInput(IPNS_NOT_YET)
            raise InvalidInput(f"records under /{ns}/ are not accepted (only /pk/ and /ipns/)")
        return v

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        self._get(key).validate(key, value, now=now)

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        if len(values) == 1:
            return 0
        i = self._get(key).select(key, values, now=now)
        if not 0 <= i < len(values):
            raise InvalidInput("record selector returned an index out of range")
        return i


class RecordStore:
    """key -> (value, received) for validated records; bounded, expiring (least recent first)."""

    def __init__(self, validators: Validators, *, max_records: int = DHT_LIMITS.max_records,
                 ttl_s: float = DHT_LIMITS.record_ttl_s,
                 max_value_bytes: int = DHT_LIMITS.max_record_value_bytes) -> None:
        self.validators = validators
        self.max_records = max_records
        self.ttl_s = ttl_s
        self.max_value_bytes = max_value_bytes
        self._recs: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._recs)

    def put(self, key: bytes, value: bytes, now: float) -> bool:
        """Validate and store; False if the record we hold is better (kept). Raises InvalidInput."""
        if len(value) > self.max_value_bytes:
            raise LimitExceeded(f"record of {len(value)} bytes (> {self.max_value_bytes})")
        self.validators.validate(key, value, now=now)
        old = self._recs.get(key)
        if old is not None and old[1] + self.ttl_s > now and old[0] != value:
            try:
                self.validators.validate(key, old[0], now=now)
                if self.validators.select(key, [old[0], value], now=now) == 0:
                    return False
            except InvalidInput:
                pass  # the old one is no longer valid (expired IPNS record): replace it
        self._recs[key] = (value, now)
        self._recs.move_to_end(key)
        while len(self._recs) > self.max_records:
            self._recs.popitem(last=False)
        return True

    def get(self, key: bytes, now: float) -> bytes:
        """The stored value, re-validated (an IPNS record may have expired); raises NotFound."""
        rec = self._recs.get(key)
        if rec is None:
            raise NotFound("no record for that key")
        value, received = rec
        try:
            if received + self.ttl_s <= now:
                raise InvalidInput("record too old")
            self.validators.validate(key, value, now=now)
        except InvalidInput:
            del self._recs[key]
            raise NotFound("no valid record for that key") from None
        return value
