"""Local peer discovery over mDNS (`Discovery.MDNS.Enabled`, Kubo's key; off by default).

    svc = MdnsDiscovery(host, dialer, peerstore)
    await nursery.start(svc.run)        # announce ourselves, connect to the peers we see

The protocol work is py-libp2p's (`Libp2pHost.start_mdns`, zeroconf, the libp2p mDNS spec);
this service decides what to do with a sighting: remember the addresses (peer store, short
TTL) and connect, as Kubo does, at most once per `mdns_redial_s` per peer and with at most
`mdns_max_dials` dials in flight. Nothing here runs unless the user enabled it: mDNS sends
multicast on every interface.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

import trio

from ..config import ROUTING_LIMITS, RoutingLimits
from ..errors import JzfsError
from .base import PeerRecord

logger = logging.getLogger(__name__)


def mdns_enabled(node: Any) -> bool:
    return node.settings.discovery.mdns_enabled


class MdnsDiscovery:
    def __init__(self, host: Any, dialer: Any, peerstore: Any, *, bitswap: Any = None,
                 limits: RoutingLimits = ROUTING_LIMITS) -> None:
        self.host = host
        self.dialer = dialer
        self.peerstore = peerstore
        self.bitswap = bitswap
        self.limits = limits
        self._last_dial: dict[str, float] = {}
        self._slots = trio.CapacityLimiter(max(1, limits.mdns_max_dials))
        self._nursery: trio.Nursery | None = None
        self.seen: set[str] = set()
        self.stats = {"sightings": 0, "dials_ok": 0, "dials_failed": 0}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        stop = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                stop = await self.host.start_mdns(self._found)
                task_status.started()
                await trio.sleep_forever()
        finally:
            if stop is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await trio.to_thread.run_sync(stop)

    def _found(self, peer_id: str, addrs: list[str]) -> None:
        self.stats["sightings"] += 1
        self.seen.add(peer_id)
        if len(self.seen) > self.limits.peerstore_max_peers:  # bounded, like the peer store
            self.seen.clear()
        if self.peerstore is not None:
            try:
                self.peerstore.add(peer_id, addrs, ttl_s=self.limits.mdns_addr_ttl_s,
                                   now=time.time(), source="mdns")
            except sqlite3.Error as exc:  # a cache: the sighting is still used
                logger.warning("mdns: peer store write failed: %s", exc)
        if self.host.is_connected(peer_id) or self._nursery is None:
            return
        now = trio.current_time()
        last = self._last_dial.get(peer_id)
        if last is not None and now - last < self.limits.mdns_redial_s:
            return
        self._last_dial[peer_id] = now
        if len(self._last_dial) > 4096:
            for k in list(self._last_dial)[:2048]:
                del self._last_dial[k]
        self._nursery.start_soon(self._dial, PeerRecord(peer_id, tuple(addrs)))

    async def _dial(self, rec: PeerRecord) -> None:
        async with self._slots:
            try:
                pid = await self.dialer.connect(rec)
            except JzfsError as exc:
                self.stats["dials_failed"] += 1
                logger.info("mdns: cannot connect to %s: %s", rec.peer_id, exc)
                return
        self.stats["dials_ok"] += 1
        if self.bitswap is not None:
            self.bitswap.add_peer(pid)
