"""Providing: the persistent queue, the strategies, batching and bounded concurrency, hooks
(pin/add/commit enqueue without touching the network), retries and restarts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import pytest
import trio

from jiaozi_node.config import ROUTING_LIMITS
from jiaozi_node.errors import NetworkError
from jiaozi_node.ipld.cid import CID
from jiaozi_node.node import Node
from jiaozi_node.routing.provider import ProvideQueue, Provider, strategy_of

DATA = os.urandom(3 * 1024 * 1024)  # 3+ blocks under any profile


class FakeRouter:
    name = "fake"

    def __init__(self, *, fail: bool = False, delay: float = 0.0) -> None:
        self.fail = fail
        self.delay = delay
        self.batches: list[list[CID]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def provide(self, cids: Sequence[CID]) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await trio.sleep(self.delay)
            if self.fail:
                raise NetworkError("router down")
            self.batches.append(list(cids))
        finally:
            self.in_flight -= 1

    @property
    def provided(self) -> list[CID]:
        return [c for b in self.batches for c in b]


def provider(node: Node, router: FakeRouter, strategy: str, **limits: object) -> Provider:
    lim = replace(ROUTING_LIMITS, **limits)
    return Provider(node, router, ProvideQueue.open(node.repo.path, limits=lim), strategy=strategy,
                    limits=lim)


@pytest.fixture
def node(tmp_path):
    n = Node.open(tmp_path / "r")
    yield n
    n.close()


def test_queue_persists_backs_off_and_is_bounded(tmp_path):
    c1, c2, c3 = (CID.decode(s) for s in (
        "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        "bafkreiaxnnnb7qz2focittuqq3ya25q7rcv3bqynnczfzako47346wosmu",
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"))
    q = ProvideQueue.open(tmp_path, limits=replace(ROUTING_LIMITS, provide_queue_max=2))
    q.add([c1], walk=True, now=1)
    q.add([c1], walk=False, now=2)  # walk is kept
    q.close()
    q = ProvideQueue.open(tmp_path, limits=replace(ROUTING_LIMITS, provide_queue_max=2))
    assert q.due(10, now=5) == [(c1, True)]
    q.failed([c1], now=10)
    assert q.due(10, now=10 + ROUTING_LIMITS.provide_retry_min_s - 1) == []
    assert q.due(10, now=10 + ROUTING_LIMITS.provide_retry_min_s) == [(c1, True)]
    q.failed([c1], now=100)  # second failure: twice the wait
    assert q.next_due() == 100 + 2 * ROUTING_LIMITS.provide_retry_min_s
    q.add([c2, c3], walk=False, now=200)
    assert len(q) == 2 and c1 not in [c for c, _ in q.due(10, now=1e9)]  # oldest dropped
    q.done([c2])
    assert len(q) == 1
    q.set_state("last_reprovide", 42.0)
    assert q.get_state("last_reprovide") == 42.0
    q.close()


def test_pin_and_commit_enqueue_without_network(node, tmp_path):
    root = node.add_bytes(DATA)  # pins -> queued
    q = ProvideQueue.open(node.repo.path)
    assert q.due(10, now=1e12) == [(root, True)]
    vs = node.versioning
    vs.create_repo("ds", now=1)
    d = tmp_path / "d"
    d.mkdir()
    (d / "f").write_bytes(b"hello")
    res = vs.commit("ds", d, branch="main", message="m", now=1)
    queued = {c for c, _ in q.due(10, now=1e12)}
    assert {res.cid, res.commit.root} <= queued
    q.close()


def test_routing_type_none_enqueues_nothing(node):
    node.repo.set_config("Routing.Type", "none")
    node.add_bytes(b"x" * 100)
    q = ProvideQueue.open(node.repo.path)
    assert len(q) == 0
    q.close()


async def test_roots_strategy_announces_the_root_only(node):
    root = node.add_bytes(DATA)
    router = FakeRouter()
    p = provider(node, router, "roots")
    assert await p.drain() == 1
    assert router.provided == [root]
    assert len(p.queue) == 0 and p.stats()["TotalProvides"] == 1


async def test_pinned_strategy_walks_the_dag_in_bounded_batches(node):
    root = node.add_bytes(DATA)
    blocks = list(node.blocks.cids())
    router = FakeRouter(delay=0.01)
    p = provider(node, router, "pinned", provide_batch=2, provide_concurrency=2)
    await p.drain()
    assert sorted(c.multihash for c in router.provided) == sorted(c.multihash for c in blocks)
    assert root in router.provided
    assert all(len(b) <= 2 for b in router.batches)
    assert router.max_in_flight == 2  # bounded, and used


async def test_failed_provide_stays_queued_across_restart(node):
    root = node.add_bytes(DATA)
    p = provider(node, FakeRouter(fail=True), "roots", provide_retry_min_s=0.0)
    assert await p.drain() == 1  # tried once, not in a loop
    assert p.stats()["FailedBatches"] == 1
    p.queue.close()
    # a restart: the entry is still there (retry pending), and goes out once due
    router = FakeRouter()
    p2 = provider(node, router, "roots", provide_retry_min_s=0.0)
    assert await p2.drain() == 1
    assert router.provided == [root]


async def test_reprovide_sets_per_strategy(node, tmp_path):
    root = node.add_bytes(DATA)
    extra = node.add_bytes(b"unpinned", pin=False)
    vs = node.versioning
    vs.create_repo("ds", now=1)
    d = tmp_path / "d"
    d.mkdir()
    (d / "f").write_bytes(b"v1")
    c1 = vs.commit("ds", d, branch="main", message="1", now=1)
    (d / "f").write_bytes(b"v2")
    c2 = vs.commit("ds", d, branch="main", message="2", now=2)
    every = {c.multihash for c in node.blocks.cids()}
    roots = {c.multihash for c in provider(node, FakeRouter(), "roots").reprovide_set()}
    assert {c.multihash for c in (root, c1.cid, c2.cid, c1.commit.root, c2.commit.root)} <= roots
    assert extra.multihash not in roots and len(roots) < len(every)
    pinned = {c.multihash for c in provider(node, FakeRouter(), "pinned").reprovide_set()}
    assert roots <= pinned and extra.multihash not in pinned and len(pinned) > len(roots)
    router = FakeRouter()
    p = provider(node, router, "all")
    n = await p.reprovide()
    assert n == len(every) and {c.multihash for c in router.provided} == every
    assert p.queue.get_state("last_reprovide") is not None
    assert p.stats()["LastReprovideBatchSize"] == n


async def test_service_loop_drains_on_wake_and_reprovides_on_schedule(node, autojump_clock):
    router = FakeRouter()
    lim = replace(ROUTING_LIMITS, reprovide_interval_s=1000.0, reprovide_initial_delay_s=0.5)
    p = Provider(node, router, ProvideQueue.open(node.repo.path, limits=lim), strategy="roots", limits=lim)
    async with trio.open_nursery() as nursery:
        await nursery.start(p.run)
        await trio.sleep(1)
        assert p.last_reprovide_count == 0  # nothing pinned yet: an empty first pass
        root = node.add_bytes(b"announce me")  # the live provider is woken by the hook
        await trio.sleep(0.1)
        assert router.provided == [root]
        await trio.sleep(1000)
        assert p.last_reprovide_count == 1  # the next pass, one interval later
        nursery.cancel_scope.cancel()


def test_strategy_config(node):
    assert strategy_of(node) == "roots"
    node.repo.set_config("Reprovider.Strategy", "bogus")
    with pytest.raises(Exception, match="Reprovider.Strategy"):
        strategy_of(node)


async def test_new_connection_brings_failed_provides_forward(node, autojump_clock):
    import time as _time

    router = FakeRouter(fail=True)
    lim = replace(ROUTING_LIMITS, provide_retry_min_s=3600.0, reprovide_initial_delay_s=1e6)
    p = Provider(node, router, ProvideQueue.open(node.repo.path, limits=lim), strategy="roots", limits=lim)
    root = node.add_bytes(b"to announce")
    async with trio.open_nursery() as nursery:
        await nursery.start(p.run)
        await trio.sleep(1)
        assert p.stats()["FailedBatches"] == 1 and len(p.queue) == 1  # waiting an hour
        router.fail = False  # the DHT found its peers...
        p.network_changed()  # ...because a peer connected
        p.network_changed()  # (debounced)
        await trio.sleep(lim.provide_retry_on_connect_s + 1)
        assert router.provided == [root] and len(p.queue) == 0
        assert p.queue.retry_now(now=_time.time()) == 0
        nursery.cancel_scope.cancel()


async def test_enqueue_from_a_worker_thread_of_the_daemon(node, autojump_clock):
    """The RPC API pins in worker threads: the hook must reach the trio-owned queue safely."""
    router = FakeRouter()
    lim = replace(ROUTING_LIMITS, reprovide_initial_delay_s=1e6)
    p = Provider(node, router, ProvideQueue.open(node.repo.path, limits=lim), strategy="roots", limits=lim)
    async with trio.open_nursery() as nursery:
        await nursery.start(p.run)
        root = await trio.to_thread.run_sync(node.add_bytes, b"added in a thread")
        await trio.sleep(0.1)
        assert router.provided == [root]
        nursery.cancel_scope.cancel()


async def test_a_router_bug_does_not_stop_the_provider(node, autojump_clock):
    class Buggy(FakeRouter):
        broken = True

        async def provide(self, cids):
            if self.broken:
                raise RuntimeError("a bug in some router")
            await super().provide(cids)

    router = Buggy()
    lim = replace(ROUTING_LIMITS, reprovide_initial_delay_s=1e6)
    p = Provider(node, router, ProvideQueue.open(node.repo.path, limits=lim), strategy="roots", limits=lim)
    async with trio.open_nursery() as nursery:
        await nursery.start(p.run)
        root = node.add_bytes(b"announce despite a bug")
        await trio.sleep(1)
        assert router.provided == [] and len(p.queue) == 1  # logged, still queued
        router.broken = False
        await trio.sleep(lim.provide_retry_min_s + lim.provide_queue_poll_s + 1)
        assert router.provided == [root]
        nursery.cancel_scope.cancel()
