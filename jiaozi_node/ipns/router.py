"""Our own IPNS records as a router (joined to the node's composed router by ipns/service.py).

The node's `/routing/v1/ipns/{name}` server and DHT answers come from the composed router's
`get_value`; this router makes the records we published (and valid records we resolved, from
the cache) part of those answers, so a Helia or Kubo peer asking our delegated-routing endpoint
gets them. It never accepts PUTs (`RoutingUnsupported`): publishing is the IPNS service's job,
and a publish must not count as done just because we stored it ourselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from ..errors import InvalidInput, NotFound
from ..routing.base import PeerRecord, RoutingUnsupported
from .name import IpnsName
from .record import InvalidRecord, better, validate_record
from .store import IpnsStore


class LocalIpnsRouter:
    name = "ipns-local"

    def __init__(self, store: IpnsStore, *, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    async def find_providers(self, cid: Any, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        return
        yield  # an empty async generator: we know no providers

    async def provide(self, cids: Sequence[Any]) -> None:
        raise RoutingUnsupported("the local IPNS store does not provide content")

    async def find_peer(self, peer_id: str) -> PeerRecord:
        raise RoutingUnsupported("the local IPNS store knows no peers")

    async def get_value(self, key: bytes) -> bytes:
        if not key.startswith(b"/ipns/"):
            raise RoutingUnsupported("the local IPNS store only holds /ipns/ records")
        try:
            name = IpnsName.from_routing_key(key)
        except InvalidInput:
            raise NotFound("not an IPNS name") from None
        now = self.clock()
        best = None
        pub = self.store.published(name)
        cached = self.store.cached(name)
        for raw in (pub.record if pub else None, cached[0] if cached else None):
            if raw is None:
                continue
            try:
                rec = validate_record(name, raw, now=now)
            except InvalidRecord:
                continue
            if best is None or better(rec, best):
                best = rec
        if best is None:
            raise NotFound(f"no local record for /ipns/{name}")
        return best.raw

    async def put_value(self, key: bytes, value: bytes) -> None:
        raise RoutingUnsupported("the local IPNS store is written by the IPNS service only")
