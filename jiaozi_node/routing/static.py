"""The static-peering router: what this node knows without asking anyone.

* `find_peer`: a connected peer's addresses (host), a `Peering.Peers` entry's configured
  addresses, or the persistent peer store's unexpired ones.
* `find_providers`: the `Peering.Peers` (Kubo keeps them connected so Bitswap always asks
  them; listing them as candidate providers lets a session reconnect to one that dropped).
  Connected peers are not listed: Bitswap already asks every one of them.
* `provide`, `get_value`, `put_value`: `RoutingUnsupported` (nothing to announce to).

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
        n = 0
        for peer in self.peering.values():
            if n >= limit:
                return
            if peer.peer_id == self.host.peer_id:
                continue
            n += 1
            yield self._record(peer.peer_id)

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
