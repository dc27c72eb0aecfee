"""ProviderFinder and Dialer over fakes (virtual clock): when a search starts, de-duplication,
bounded concurrency, dialling with the peer store and find_peer, failures counted."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from jiaozi_node.config import ROUTING_LIMITS
from jiaozi_node.errors import NetworkError, NotFound
from jiaozi_node.ipld.cid import CID
from jiaozi_node.routing.base import PeerRecord
from jiaozi_node.routing.finder import Dialer, ProviderFinder
from jiaozi_node.routing.peerstore import ROUTING_DB_FILE, PeerStore, open_routing_db

C1, C2 = CID.of(b"one"), CID.of(b"two")


class Host:
    peer_id = "SELF"

    def __init__(self, reachable: set[str]) -> None:
        self.reachable = reachable
        self.connected: set[str] = set()
        self.dialled: list[str] = []

    def is_connected(self, peer: str) -> bool:
        return peer in self.connected

    async def connect(self, addr: str) -> str:
        self.dialled.append(addr)
        await trio.sleep(0.01)
        peer = addr.rsplit("/p2p/", 1)[1]
        if addr not in self.reachable:
            raise NetworkError(f"cannot connect to {addr}")
        self.connected.add(peer)
        return peer


class Bitswap:
    def __init__(self, peers: list[str] | None = None) -> None:
        self._peers = list(peers or [])
        self.added: list[str] = []

    def peers(self) -> list[str]:
        return self._peers

    def add_peer(self, peer: str) -> None:
        self.added.append(peer)
        self._peers.append(peer)


class Router:
    name = "fake"

    def __init__(self, providers: list[PeerRecord], *, lookup_s: float = 0.5,
                 peers: dict[str, PeerRecord] | None = None) -> None:
        self.providers = providers
        self.lookup_s = lookup_s
        self.peers = peers or {}
        self.searches: list[tuple[CID, float]] = []
        self.running = 0
        self.max_running = 0

    async def find_providers(self, cid, *, limit=20):
        self.searches.append((cid, trio.current_time()))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await trio.sleep(self.lookup_s)
            for rec in self.providers[:limit]:
                yield rec
        finally:
            self.running -= 1

    async def find_peer(self, peer_id):
        if peer_id not in self.peers:
            raise NotFound(peer_id)
        return self.peers[peer_id]


def make(providers, *, reachable=(), bitswap_peers=None, **limits):
    host = Host(set(reachable))
    router = Router(providers)
    lim = replace(ROUTING_LIMITS, **limits)
    finder = ProviderFinder(router, Dialer(host, router, None, limits=lim), Bitswap(bitswap_peers),
                            limits=lim)
    return finder, router, host


async def run_fetch(finder, cid, seconds):
    with trio.move_on_after(seconds):
        await finder.fetch(cid)


async def test_no_peers_search_at_once_and_dial(autojump_clock):
    finder, router, host = make([PeerRecord("P1", ("/ip4/127.0.0.1/tcp/1",)),
                                 PeerRecord("P2", ("/ip4/127.0.0.1/tcp/2",))],
                                reachable={"/ip4/127.0.0.1/tcp/1/p2p/P1"})
    await run_fetch(finder, C1, 3)
    assert router.searches == [(C1, 0)]
    assert finder.bitswap.added == ["P1"] and finder.stats["dials_ok"] == 1
    assert finder.stats["dials_failed"] == 1 and finder.stats["providers_found"] == 2


async def test_first_block_searches_at_once_later_ones_wait(autojump_clock):
    finder, router, _ = make([], bitswap_peers=["X"])
    await run_fetch(finder, C1, 0.1)  # start of a retrieval: at once, although X is connected
    assert router.searches == [(C1, 0)]
    t0 = trio.current_time()
    await run_fetch(finder, C2, 3)  # right after: give X the delay first
    assert router.searches[1] == (C2, pytest.approx(t0 + ROUTING_LIMITS.provider_search_delay_s))


async def test_same_cid_searched_once_and_cooldown(autojump_clock):
    finder, router, _ = make([])
    async with trio.open_nursery() as n:
        for _ in range(5):
            n.start_soon(run_fetch, finder, C1, 2)
    assert len(router.searches) == 1  # joined, then cooling down
    await run_fetch(finder, C1, ROUTING_LIMITS.provider_search_cooldown_s + 1)
    assert len(router.searches) == 2  # searched again once the cooldown passed


async def test_concurrent_searches_bounded(autojump_clock):
    finder, router, _ = make([], max_concurrent_provider_searches=2)
    async with trio.open_nursery() as n:
        for i in range(6):
            n.start_soon(run_fetch, finder, CID.of(bytes([i])), 5)
    assert len(router.searches) == 6 and router.max_running == 2


async def test_already_connected_provider_joins_without_dial(autojump_clock):
    finder, _, host = make([PeerRecord("P1", ())])
    host.connected.add("P1")
    await run_fetch(finder, C1, 2)
    assert finder.bitswap.added == ["P1"] and host.dialled == []


async def test_dialer_uses_peer_store_then_find_peer(tmp_path):
    store = PeerStore(open_routing_db(tmp_path / ROUTING_DB_FILE))
    host = Host({"/ip4/127.0.0.1/tcp/7/p2p/P1", "/ip4/127.0.0.1/tcp/8/p2p/P2"})
    router = Router([], peers={"P2": PeerRecord("P2", ("/ip4/127.0.0.1/tcp/8",))})
    dialer = Dialer(host, router, store)
    store.add("P1", ["/ip4/127.0.0.1/tcp/7"], ttl_s=100, now=1e12 - 1, source="identify")
    dialer.clock = lambda: 1e12
    assert await dialer.connect(PeerRecord("P1")) == "P1"  # from the peer store
    assert await dialer.connect(PeerRecord("P2")) == "P2"  # found through routing
    assert store.addrs("P2", now=1e12) == ["/ip4/127.0.0.1/tcp/8"]  # and remembered
    with pytest.raises(NotFound):
        await dialer.connect(PeerRecord("P3"))
    with pytest.raises(NotFound):
        await dialer.connect(PeerRecord("SELF"))
    store.close()


async def test_peer_store_failure_does_not_fail_the_search(autojump_clock):
    import sqlite3

    class BrokenStore:
        def add(self, *a, **kw):
            raise sqlite3.OperationalError("database is locked")

        def addrs(self, *a, **kw):
            return []

    host = Host({"/ip4/127.0.0.1/tcp/1/p2p/P1"})
    router = Router([PeerRecord("P1", ("/ip4/127.0.0.1/tcp/1",))])
    finder = ProviderFinder(router, Dialer(host, router, BrokenStore()), Bitswap())
    await run_fetch(finder, C1, 2)
    assert finder.bitswap.added == ["P1"]
