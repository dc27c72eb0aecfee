"""Value records (`/pk/…`, `/ipns/…`): validated before they are stored or handed out. Pure.

Validators are pluggable: a mapping namespace -> `RecordValidator` (routing/base.py). The `/pk/`
validator (routing/validators.py) is always there. `/ipns/` needs the IPNS validator (passed in
by whoever starts the DHT; `start_dht` does); without one, `/ipns/` records are refused with that
reason. Any other namespace is
refused, as go-libp2p-kad-dht does with its default validator set.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

from ...config import DHT_LIMITS
from ...errors import InvalidInput, LimitExceeded, NotFound
from ..base import RecordValidator, key_namespace
from ..validators import PublicKeyValidator

IPNS_NOT_YET = ("IPNS records are not accepted yet: this node has no IPNS validator "
                "(IPNS support arrives with jiaozi_node.ipns)")


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
