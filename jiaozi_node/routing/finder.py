"""Bitswap sessions find providers through routing: a `BlockSource` raced in `Retrieval`.

    finder = ProviderFinder(router, dialer, bitswap)
    Retrieval(store, [bitswap, finder, gateways])      # node/retrieval.py races them (a single
                                                       # get); a DAG fetch starts `find` per late
                                                       # block instead (node/provider_watch.py)

`ProviderFinder.fetch(cid)` never returns bytes itself. When a search ran in the last
`provider_search_cooldown_s` (for the root of the DAG being fetched, typically) it first waits
`provider_search_delay_s` for a connected peer to deliver; otherwise (the start of a retrieval,
or no peer connected) it searches at once, in parallel with Bitswap asking the connected peers,
as Helia's sessions do. At most `max_concurrent_provider_searches` run at once. It asks routing for providers, dials them (`Dialer`: connected already, else addresses from the answer, the peer
store, or a `find_peer` lookup) and adds them to Bitswap, which sends them the session's wants.
The block then arrives through Bitswap and wins the race, which cancels this search. If it
does not, providers are searched again every `provider_search_cooldown_s` until the retrieval's
own timeout. One search per CID runs at a time (concurrent fetches of the same CID join it).

Preference: providers already connected join the session at once (no dial); the Bitswap session
sends want-block first to the peers that delivered its blocks (bitswap/client.py), so the
peers that served the session keep serving it while new providers are only asked want-have.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import trio

from ..config import ROUTING_LIMITS, RoutingLimits
from ..errors import JzfsError, NotFound
from ..ipld.cid import CID
from .base import PeerRecord, Router
from .peerstore import PeerStore

logger = logging.getLogger(__name__)


class Dialer:
    """Connect to a peer by ID, using what routing and the peer store know of it."""

    def __init__(self, host: Any, router: Router | None, peerstore: PeerStore | None, *,
                 limits: RoutingLimits = ROUTING_LIMITS,
                 clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.router = router
        self.peerstore = peerstore
        self.limits = limits
        self.clock = clock

    def remember(self, rec: PeerRecord) -> None:
        """Keep a routing answer's addresses in the peer store (second-hand: short TTL)."""
        if self.peerstore is not None and rec.addrs and rec.peer_id != self.host.peer_id:
            try:
                self.peerstore.add(rec.peer_id, rec.addrs, ttl_s=self.limits.peerstore_routing_ttl_s,
                                   now=self.clock(), source="routing")
            except sqlite3.Error as exc:  # the peer store is a cache: never fail a lookup on it
                logger.warning("routing: peer store write failed: %s", exc)

    async def connect(self, rec: PeerRecord) -> str:
        """Connect to `rec.peer_id`; returns it. Raises NotFound (no address) or NetworkError."""
        pid = rec.peer_id
        if pid == self.host.peer_id:
            raise NotFound("that is this node")
        if self.host.is_connected(pid):
            return pid
        addrs = list(rec.addrs)
        if self.peerstore is not None:
            addrs.extend(self.peerstore.addrs(pid, now=self.clock()))
        addrs = list(dict.fromkeys(addrs))
        if not addrs and self.router is not None:
            found = await self.router.find_peer(pid)
            self.remember(found)
            addrs = list(found.addrs)
        if not addrs:
            raise NotFound(f"no address known for {pid}")
        last: JzfsError | None = None
        for addr in addrs:
            full = addr if addr.endswith(f"/p2p/{pid}") else f"{addr}/p2p/{pid}"
            try:
                return await self.host.connect(full)
            except JzfsError as exc:
                last = exc
        assert last is not None
        raise last


class ProviderFinder:
    name = "routing"
    # Never returns bytes: it connects providers to the sources that do. Within `fetch_dag`,
    # Retrieval starts `find(cid)` for a block still missing after `search_delay()` (one watch
    # per DAG fetch) instead of racing `fetch(cid)` against Bitswap for every block.
    finds_providers = True

    def __init__(self, router: Router, dialer: Dialer, bitswap: Any, *,
                 limits: RoutingLimits = ROUTING_LIMITS) -> None:
        self.router = router
        self.dialer = dialer
        self.bitswap = bitswap
        self.limits = limits
        self._searches: dict[bytes, trio.Event] = {}
        self._last_search: float | None = None  # trio time the last search started
        self._slots = trio.CapacityLimiter(max(1, limits.max_concurrent_provider_searches))
        self._last: dict[bytes, float] = {}
        self.stats = {"searches": 0, "providers_found": 0, "dials_ok": 0, "dials_failed": 0}

    async def fetch(self, cid: CID) -> bytes:
        await trio.sleep(self.search_delay())
        return await self.find(cid)

    def search_delay(self) -> float:
        """How long a block may be missing before its providers are searched: at once at the
        start of a retrieval (or with no peer connected); `provider_search_delay_s` when a
        search just ran (for this DAG's root, most likely) and connected its providers, so the
        session's peers get the chance to deliver first."""
        if self.bitswap.peers() and self._searched_recently():
            return self.limits.provider_search_delay_s
        return 0.0

    async def find(self, cid: CID) -> bytes:
        """Search providers of `cid` now, then every `provider_search_cooldown_s`, until
        cancelled (the block arrived through another source). Never returns."""
        while True:
            try:
                await self.search(cid)
            except Exception:  # noqa: BLE001 - a search problem must never fail the retrieval
                logger.warning("routing: provider search for %s failed", cid, exc_info=True)
            await trio.sleep(self.limits.provider_search_cooldown_s)

    def _searched_recently(self) -> bool:
        last = self._last_search
        return last is not None and trio.current_time() - last < self.limits.provider_search_cooldown_s

    async def search(self, cid: CID) -> int:
        """Find providers of `cid` and connect them to Bitswap; joins a search already running.
        Returns the number of providers newly connected (0 when joining)."""
        key = cid.multihash
        running = self._searches.get(key)
        if running is not None:
            await running.wait()
            return 0
        last = self._last.get(key)
        now = trio.current_time()
        if last is not None and now - last < self.limits.provider_search_cooldown_s:
            return 0
        done = self._searches[key] = trio.Event()
        try:
            async with self._slots:
                self._last_search = trio.current_time()
                return await self._search(cid)
        finally:
            self._last[key] = trio.current_time()
            if len(self._last) > 4096:  # bounded: forget the oldest cooldowns
                for k in list(self._last)[:2048]:
                    del self._last[k]
            del self._searches[key]
            done.set()

    async def _search(self, cid: CID) -> int:
        self.stats["searches"] += 1
        connected = 0
        send, recv = trio.open_memory_channel[PeerRecord](0)

        async def dial(rec: PeerRecord) -> None:
            nonlocal connected
            try:
                pid = await self.dialer.connect(rec)
            except JzfsError as exc:
                self.stats["dials_failed"] += 1
                logger.info("routing: cannot dial provider %s of %s: %s", rec.peer_id, cid, exc)
                return
            self.stats["dials_ok"] += 1
            connected += 1
            self.bitswap.add_peer(pid)

        async def dial_worker(recv: trio.MemoryReceiveChannel[PeerRecord]) -> None:
            async with recv:
                async for rec in recv:
                    await dial(rec)

        async with trio.open_nursery() as nursery:
            async with recv:
                for _ in range(max(1, self.limits.provider_dial_concurrency)):
                    nursery.start_soon(dial_worker, recv.clone())
            async with send:
                async with aclosing(self.router.find_providers(
                        cid, limit=self.limits.session_providers)) as provs:
                    async for rec in provs:
                        if rec.peer_id == self.dialer.host.peer_id:
                            continue
                        self.stats["providers_found"] += 1
                        self.dialer.remember(rec)
                        if self.dialer.host.is_connected(rec.peer_id):
                            self.bitswap.add_peer(rec.peer_id)  # already a session peer
                            continue
                        await send.send(rec)  # dialled in arrival order, a few at a time
        return connected
