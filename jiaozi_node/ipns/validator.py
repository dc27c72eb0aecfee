"""The `/ipns/` record validator for the routing layer (the `RecordValidator` protocol of
`jiaozi_node.routing.base`). Pure: handed `now`.

    from jiaozi_node.routing.validators import default_validators
    validators = default_validators()          # {"ipns": IpnsValidator(), "pk": PublicKeyValidator()}
    validators["ipns"].validate(key, value, now=time.time())   # raises InvalidInput (InvalidRecord)

Every router (DHT server storing a PUT, DHT client reading GET_VALUE answers, the delegated
`/routing/v1/ipns` client and server, the gateway client) calls these — never its own checks.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import IPNS_LIMITS
from ..errors import InvalidInput
from .name import IpnsName
from .record import InvalidRecord, select_record, validate_record


class IpnsValidator:
    """`/ipns/<binary multihash>` keys: the spec's record validation and selection."""

    def __init__(self, *, max_record_bytes: int = IPNS_LIMITS.max_record_bytes) -> None:
        self.max_record_bytes = max_record_bytes

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        try:
            name = IpnsName.from_routing_key(bytes(key))
        except InvalidInput as exc:
            raise InvalidRecord(f"bad IPNS routing key: {exc}") from None
        validate_record(name, bytes(value), now=now, max_bytes=self.max_record_bytes)

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        try:
            name = IpnsName.from_routing_key(bytes(key))
        except InvalidInput as exc:
            raise InvalidRecord(f"bad IPNS routing key: {exc}") from None
        return select_record(name, values, now=now)
