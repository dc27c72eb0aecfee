"""The routing contract every router implements, and the values that cross it (pure: no I/O).

Conventions (the same for every router):

* Peer IDs are base58 strings as `Libp2pHost` uses them (`12D3KooW…`, `Qm…`); addresses are
  multiaddr strings without the `/p2p/` suffix.
* Record keys are **bytes** exactly as on the wire (`/ipns/` + binary peer ID, `/pk/` + binary
  peer ID): never decoded as text.
* Missing things raise `NotFound` (never return None); a router that cannot do something at all
  (a delegated router asked to provide, say) raises `RoutingUnsupported`, which the parallel
  router treats as "no answer from this one".
* Values handed out by `get_value` have been validated by the record validator for their
  namespace (see `RecordValidator`) — whoever served them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from multiformats import CID

from ..errors import JzfsError


class RoutingUnsupported(JzfsError):
    """This router does not do that operation (e.g. PUT on a read-only delegated router)."""


@dataclass(frozen=True)
class PeerRecord:
    """A peer and what we know of how to reach it."""

    peer_id: str
    addrs: tuple[str, ...] = ()
    protocols: tuple[str, ...] = field(default=())


@runtime_checkable
class Router(Protocol):
    """What the node asks of routing. Implementations: DHT, delegated HTTP, parallel composite."""

    name: str

    def find_providers(self, cid: CID, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        """Providers of `cid` (keyed by its multihash), streamed as they are found; at most
        `limit`. Ends when the lookup is exhausted or the limit reached."""
        ...

    async def provide(self, cids: Sequence[CID]) -> None:
        """Announce that this node holds `cids` (raises RoutingUnsupported where impossible)."""
        ...

    async def find_peer(self, peer_id: str) -> PeerRecord:
        """Addresses of `peer_id` (raises NotFound)."""
        ...

    async def get_value(self, key: bytes) -> bytes:
        """The best valid record stored under `key` (raises NotFound)."""
        ...

    async def put_value(self, key: bytes, value: bytes) -> None:
        """Store a record under `key` (validated first; raises InvalidInput if invalid)."""
        ...


class RecordValidator(Protocol):
    """Validation and selection for one key namespace (`pk`, `ipns`), as libp2p's record
    validators: `validate` raises InvalidInput with the reason; `select` returns the index of
    the best of several valid values (IPNS: highest sequence, then longest validity)."""

    def validate(self, key: bytes, value: bytes, *, now: float) -> None: ...

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int: ...


def key_namespace(key: bytes) -> str:
    """`b"/ipns/…"` -> "ipns"; raises InvalidInput for keys without a `/ns/` prefix."""
    from ..errors import InvalidInput

    if not key.startswith(b"/"):
        raise InvalidInput("routing key must start with /namespace/")
    end = key.find(b"/", 1)
    if end <= 1:
        raise InvalidInput("routing key must start with /namespace/")
    try:
        return key[1:end].decode("ascii")
    except UnicodeDecodeError as exc:
        raise InvalidInput("routing key namespace is not ASCII") from exc
