"""The static-peering router: what this node knows without asking anyone.

* `find_peer`: a connected peer's addresses (host), a `Peering.Peers` entry's configured
  addresses, or the persistent peer store's unexpired ones.
* `find_providers`, `provide`, `get_value`, `put_value`: `RoutingUnsupported` (knowing a peer
  is not knowing what it holds; Bitswap already asks every connected peer, and the peering
  service keeps `Peering.Peers` connected).

Handed `now` through a clock function; no I/O beyond the host's in-memory state and the peer
store's SQLite.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from ..errors import NotFound
from ..ipld.cid import CID
from ..net.peering import PeeringPeer
from .base import PeerRecord, RoutingUnsupported
from .peerstore import PeerStore


class StaticRouter:
    name = "peering"

    def __init__(self, host: Any, peering: Sequence[PeeringPeer] = (), *,
                 peerstore: PeerStore | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.peering = {p.peer_id: p for p in peering}
        self.peerstore = peerstore
        self.clock = clock

    async def find_providers(self, cid: CID, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        # Knowing a peer is not knowing what it holds: Bitswap asks every connected peer (and
        # the peering service keeps `Peering.Peers` connected), so nothing to add here.
        raise RoutingUnsupported("the peering router does not know who provides what")
        yield  # pragma: no cover - makes this an async generator

    def _record(self, peer_id: str) -> PeerRecord:
        addrs: list[str] = []
        if self.host.is_connected(peer_id):
            addrs.extend(self.host.known_addrs(peer_id))
        peer = self.peering.get(peer_id)
        if peer is not None:
            suffix = f"/p2p/{peer_id}"
            addrs.extend(a[: -len(suffix)] if a.endswith(suffix) else a for a in peer.addrs)
        if self.peerstore is not None:
            addrs.extend(self.peerstore.addrs(peer_id, now=self.clock()))
        return PeerRecord(peer_id, tuple(dict.fromkeys(addrs)))

    async def find_peer(self, peer_id: str) -> PeerRecord:
        rec = self._record(peer_id)
        if not rec.addrs:
            raise NotFound(f"no known address for {peer_id}")
        return rec

    async def provide(self, cids: Sequence[CID]) -> None:
        raise RoutingUnsupported("the peering router does not announce")

    async def get_value(self, key: bytes) -> bytes:
        raise RoutingUnsupported("the peering router holds no records")

    async def put_value(self, key: bytes, value: bytes) -> None:
        raise RoutingUnsupported("the peering router holds no records")
