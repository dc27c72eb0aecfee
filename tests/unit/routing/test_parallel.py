"""ParallelRouter with fake routers: streaming, de-duplication, failures isolated, best record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import replace

import pytest
import trio
import trio.testing

from jiaozi_node.config import ROUTING_LIMITS
from jiaozi_node.errors import InvalidInput, NetworkError, NotFound, Timeout
from jiaozi_node.ipld.cid import CID
from jiaozi_node.routing.base import PeerRecord, Router, RoutingUnsupported
from jiaozi_node.routing.parallel import ParallelRouter

CID1 = CID.decode("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")


class Fake:
    """A router scripted per test: providers with delays, peers, records, failures."""

    def __init__(self, name: str, *, providers: Sequence[tuple[float, PeerRecord]] = (),
                 fail: BaseException | None = None, peers: dict[str, PeerRecord] | None = None,
                 values: dict[bytes, bytes] | None = None, delay: float = 0.0,
                 hang_after: bool = False) -> None:
        self.name = name
        self._providers = list(providers)
        self.fail = fail
        self.peers = peers or {}
        self.values = values or {}
        self.delay = delay
        self.hang_after = hang_after
        self.provided: list[CID] = []
        self.put: dict[bytes, bytes] = {}
        self.cancelled = False

    async def find_providers(self, cid: CID, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        try:
            for delay, rec in self._providers:
                await trio.sleep(delay)
                yield rec
            if self.fail is not None:
                raise self.fail
            if self.hang_after:
                await trio.sleep_forever()
        except trio.Cancelled:
            self.cancelled = True
            raise

    async def provide(self, cids: Sequence[CID]) -> None:
        await trio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        self.provided.extend(cids)

    async def find_peer(self, peer_id: str) -> PeerRecord:
        await trio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        if peer_id not in self.peers:
            raise NotFound(peer_id)
        return self.peers[peer_id]

    async def get_value(self, key: bytes) -> bytes:
        await trio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        if key not in self.values:
            raise NotFound(repr(key))
        return self.values[key]

    async def put_value(self, key: bytes, value: bytes) -> None:
        if self.fail is not None:
            raise self.fail
        self.put[key] = value


class SeqValidator:
    """Values are b"seq:N"; b"bad" is invalid; the highest N wins."""

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        if not value.startswith(b"seq:"):
            raise InvalidInput("bad record")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        return max(range(len(values)), key=lambda i: int(values[i][4:]))


def rec(pid: str, *addrs: str) -> PeerRecord:
    return PeerRecord(pid, tuple(addrs))


async def collect(router: ParallelRouter, limit: int = 20) -> list[PeerRecord]:
    out = []
    async with aclosing(router.find_providers(CID1, limit=limit)) as it:
        async for r in it:
            out.append(r)
    return out


def test_fake_is_a_router():
    assert isinstance(Fake("x"), Router)
    assert isinstance(ParallelRouter([]), Router)


async def test_providers_streamed_in_arrival_order_and_deduplicated(autojump_clock):
    a = Fake("a", providers=[(1, rec("P1", "/ip4/127.0.0.1/tcp/1")), (5, rec("P3", "/x"))])
    b = Fake("b", providers=[(2, rec("P1", "/ip4/127.0.0.1/tcp/9")), (1, rec("P2", "/y"))])
    router = ParallelRouter([a, b])
    seen: list[tuple[str, float]] = []
    async with aclosing(router.find_providers(CID1)) as it:
        async for r in it:
            seen.append((r.peer_id, trio.current_time()))
    assert [p for p, _ in seen] == ["P1", "P2", "P3"]  # P1 once, although both routers found it
    assert [t for _, t in seen] == [1, 3, 6]  # each as soon as it arrived, not at the end


async def test_duplicate_with_addresses_follows_one_without(autojump_clock):
    a = Fake("a", providers=[(1, rec("P1"))])
    b = Fake("b", providers=[(2, rec("P1", "/ip4/127.0.0.1/tcp/1")), (1, rec("P1", "/z"))])
    got = await collect(ParallelRouter([a, b]))
    assert got == [rec("P1"), rec("P1", "/ip4/127.0.0.1/tcp/1")]


async def test_limit_stops_every_lookup(autojump_clock):
    a = Fake("a", providers=[(1, rec("P1", "/a")), (1, rec("P2", "/b"))], hang_after=True)
    b = Fake("b", providers=[(0.5, rec("P3", "/c"))], hang_after=True)
    got = await collect(ParallelRouter([a, b]), limit=2)
    assert [r.peer_id for r in got] == ["P3", "P1"]
    assert a.cancelled and b.cancelled


async def test_failing_or_unsupported_router_does_not_fail_the_others(autojump_clock):
    bad = Fake("bad", providers=[(0.1, rec("P0", "/q"))], fail=NetworkError("boom"))
    bug = Fake("bug", fail=RuntimeError("a bug in a router"))
    nope = Fake("nope", fail=RoutingUnsupported("no"))
    good = Fake("good", providers=[(1, rec("P1", "/a"))])
    router = ParallelRouter([bad, bug, nope, good])
    got = await collect(router)
    assert [r.peer_id for r in got] == ["P0", "P1"]  # what `bad` found before failing is kept
    assert router.stats["bad"]["find_providers_errors"] == 1
    assert router.stats["nope"]["find_providers_unsupported"] == 1
    assert router.stats["bug"]["find_providers_errors"] == 1


async def test_whole_query_bounded_by_timeout(autojump_clock):
    hang = Fake("hang", providers=[(1, rec("P1", "/a"))], hang_after=True)
    router = ParallelRouter([hang], limits=replace(ROUTING_LIMITS, query_timeout_s=5))
    t0 = trio.current_time()
    got = await collect(router)
    assert [r.peer_id for r in got] == ["P1"]
    assert trio.current_time() - t0 == pytest.approx(5)


async def test_zero_routers_or_zero_limit():
    assert await collect(ParallelRouter([])) == []
    assert await collect(ParallelRouter([Fake("a", providers=[(0, rec("P"))])]), limit=0) == []


async def test_provide_succeeds_if_one_router_does(autojump_clock):
    ok = Fake("ok")
    router = ParallelRouter([Fake("ro", fail=RoutingUnsupported("read-only")), ok,
                             Fake("down", fail=NetworkError("down"))])
    await router.provide([CID1])
    assert ok.provided == [CID1]


async def test_provide_errors_when_none_can():
    with pytest.raises(RoutingUnsupported):
        await ParallelRouter([Fake("ro", fail=RoutingUnsupported("x"))]).provide([CID1])
    with pytest.raises(RoutingUnsupported):
        await ParallelRouter([]).provide([CID1])
    with pytest.raises(NetworkError):
        await ParallelRouter([Fake("ro", fail=RoutingUnsupported("x")),
                              Fake("d", fail=NetworkError("down"))]).provide([CID1])


async def test_provide_times_out_when_a_router_hangs(autojump_clock):
    router = ParallelRouter([Fake("slow", delay=1e6)],
                            limits=replace(ROUTING_LIMITS, query_timeout_s=3))
    with pytest.raises(Timeout):
        await router.provide([CID1])


async def test_find_peer_first_answer_with_addresses_wins(autojump_clock):
    slow = Fake("slow", peers={"P": rec("P", "/slow")}, delay=10)
    fast = Fake("fast", peers={"P": rec("P", "/fast")}, delay=1)
    router = ParallelRouter([slow, Fake("err", fail=NetworkError("x")), fast])
    t0 = trio.current_time()
    assert await router.find_peer("P") == rec("P", "/fast")
    assert trio.current_time() - t0 == pytest.approx(1)


async def test_find_peer_not_found():
    with pytest.raises(NotFound):
        await ParallelRouter([Fake("a"), Fake("b", fail=NetworkError("x"))]).find_peer("P")


async def test_get_value_selects_best_valid_record_across_routers():
    key = b"/t/k"
    router = ParallelRouter([Fake("a", values={key: b"seq:3"}), Fake("b", values={key: b"seq:7"}),
                             Fake("c", values={key: b"bad"}), Fake("d", fail=NetworkError("x")),
                             Fake("e")],
                            validators={"t": SeqValidator()})
    assert await router.get_value(key) == b"seq:7"
    assert router.stats["c"]["get_value_invalid"] == 1


async def test_get_value_only_invalid_or_missing_is_not_found():
    key = b"/t/k"
    router = ParallelRouter([Fake("c", values={key: b"bad"}), Fake("e")], validators={"t": SeqValidator()})
    with pytest.raises(NotFound):
        await router.get_value(key)


async def test_get_value_oversized_record_dropped():
    key = b"/t/k"
    big = b"seq:" + b"1" * (ROUTING_LIMITS.max_record_bytes + 1)
    router = ParallelRouter([Fake("c", values={key: big})], validators={"t": SeqValidator()})
    with pytest.raises(NotFound):
        await router.get_value(key)


async def test_unknown_namespace_refused():
    router = ParallelRouter([Fake("a")], validators={"t": SeqValidator()})
    with pytest.raises(InvalidInput):
        await router.get_value(b"/other/k")
    with pytest.raises(InvalidInput):
        await router.put_value(b"/other/k", b"seq:1")
    with pytest.raises(InvalidInput):
        await router.get_value(b"no-namespace")


async def test_put_value_validated_then_sent_to_all():
    a, b = Fake("a"), Fake("b", fail=RoutingUnsupported("ro"))
    router = ParallelRouter([a, b], validators={"t": SeqValidator()})
    with pytest.raises(InvalidInput):
        await router.put_value(b"/t/k", b"bad")
    assert a.put == {}
    await router.put_value(b"/t/k", b"seq:1")
    assert a.put == {b"/t/k": b"seq:1"}
