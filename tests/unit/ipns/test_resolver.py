"""The resolver: cache with TTL, sources raced, every candidate validated, best one wins,
name chains and loops, DNSLink hops (fake DNS), nothing invalid cached or used."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import trio

from jiaozi_node.config import IPNS_LIMITS
from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, create_record
from jiaozi_node.ipns.resolver import Resolver, split_path
from jiaozi_node.ipns.store import IpnsStore

CID1 = "bafkqaaa"
CID2 = "bafkreiey5jxe6ilpf62lnh77tm5ejbbmhbugzjuf6p2v3remlu73ced34q"


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


class FakeRouter:
    def __init__(self) -> None:
        self.values: dict[bytes, bytes] = {}
        self.delay = 0.0
        self.calls = 0

    async def get_value(self, key: bytes) -> bytes:
        self.calls += 1
        await trio.sleep(self.delay)
        if key not in self.values:
            raise NotFound("no record")
        return self.values[key]


class FakeDns:
    def __init__(self, links: dict[str, str]) -> None:
        self.links = links

    async def dnslink(self, domain: str) -> str:
        if domain not in self.links:
            raise NotFound(f"no DNSLink record for {domain}")
        return self.links[domain]


@pytest.fixture
def env(tmp_path):
    store = IpnsStore(tmp_path / "ipns.db")
    clock = Clock()
    router = FakeRouter()
    limits = replace(IPNS_LIMITS, resolve_timeout_s=2.0, resolve_settle_s=0.05)
    yield store, clock, router, limits
    store.close()


def rec(key: PrivateKey, value: str, *, seq: int, clock: Clock, ttl_s: float = 60, life_s: float = 3600) -> bytes:
    return create_record(key, value.encode(), seq=seq, eol_ns=int((clock.t + life_s) * NS),
                         ttl_ns=int(ttl_s * NS))


def test_split_path():
    assert split_path("/ipns/abc/x/y") == ("ipns", "abc", "/x/y")
    assert split_path("abc") == ("ipns", "abc", "")
    assert split_path("ipns://abc/d") == ("ipns", "abc", "/d")
    assert split_path("/ipfs/bafy/") == ("ipfs", "bafy", "")
    with pytest.raises(InvalidInput):
        split_path("/foo/bar")


async def test_router_record_cached_for_its_ttl(env):
    store, clock, router, limits = env
    key = PrivateKey.generate()
    name = IpnsName.from_public_key(key.public_key)
    router.values[name.routing_key] = rec(key, f"/ipfs/{CID1}", seq=1, clock=clock, ttl_s=60)
    r = Resolver(store=store, router=lambda: router, limits=limits, clock=clock)
    assert await r.resolve(f"/ipns/{name}/a/b") == f"/ipfs/{CID1}/a/b"
    router.values[name.routing_key] = rec(key, f"/ipfs/{CID2}", seq=2, clock=clock)
    assert await r.resolve(f"/ipns/{name}") == f"/ipfs/{CID1}"  # cached
    assert router.calls == 1
    clock.t += 61  # TTL over
    assert await r.resolve(f"/ipns/{name}") == f"/ipfs/{CID2}"
    assert await r.resolve(f"/ipns/{name}", nocache=True) == f"/ipfs/{CID2}"
    assert router.calls == 3


async def test_invalid_records_rejected_never_cached(env, caplog):
    store, clock, router, limits = env
    key, other = PrivateKey.generate(), PrivateKey.generate()
    name = IpnsName.from_public_key(key.public_key)
    router.values[name.routing_key] = rec(other, f"/ipfs/{CID1}", seq=9, clock=clock)  # wrong key
    r = Resolver(store=store, router=lambda: router, limits=limits, clock=clock)
    with pytest.raises(NotFound, match="invalid record"):
        await r.resolve(f"/ipns/{name}")
    assert store.cached(name) is None
    assert "rejected a record" in caplog.text and "signatureV2" in caplog.text


async def test_higher_sequence_wins_across_sources(env):
    store, clock, router, limits = env
    key = PrivateKey.generate()
    name = IpnsName.from_public_key(key.public_key)
    router.values[name.routing_key] = rec(key, f"/ipfs/{CID1}", seq=1, clock=clock)
    # a stale cached record with a LOWER sequence is ignored once the router answers
    store.put_cache(name, __import__("jiaozi_node.ipns.record", fromlist=["x"]).validate_record(
        name, rec(key, f"/ipfs/{CID2}", seq=0, clock=clock, ttl_s=0), now=clock.t),
        now=clock.t, source="test", max_entries=10)
    r = Resolver(store=store, router=lambda: router, limits=limits, clock=clock)
    assert await r.resolve(f"/ipns/{name}") == f"/ipfs/{CID1}"


async def test_expired_cache_entry_not_used(env):
    store, clock, router, limits = env
    key = PrivateKey.generate()
    name = IpnsName.from_public_key(key.public_key)
    router.values[name.routing_key] = rec(key, f"/ipfs/{CID1}", seq=1, clock=clock, ttl_s=3600, life_s=10)
    r = Resolver(store=store, router=lambda: router, limits=limits, clock=clock)
    await r.resolve(f"/ipns/{name}")
    clock.t += 11  # past EOL: the cache entry is not fresh and the record no longer valid
    with pytest.raises(NotFound):
        await r.resolve(f"/ipns/{name}")


async def test_chains_dnslink_and_loops(env):
    store, clock, router, limits = env
    k1, k2 = PrivateKey.generate(), PrivateKey.generate()
    n1, n2 = IpnsName.from_public_key(k1.public_key), IpnsName.from_public_key(k2.public_key)
    router.values[n1.routing_key] = rec(k1, f"/ipns/{n2}/sub", seq=0, clock=clock)
    router.values[n2.routing_key] = rec(k2, "/ipns/example.org/x", seq=0, clock=clock)
    dns = FakeDns({"example.org": f"/ipfs/{CID1}", "a.test": "/ipns/b.test", "b.test": "/ipns/a.test"})
    r = Resolver(store=store, router=lambda: router, dns=dns, limits=limits, clock=clock)
    assert await r.resolve(f"/ipns/{n1}/f") == f"/ipfs/{CID1}/x/sub/f"
    assert await r.resolve(f"/ipns/{n1}", recursive=False) == f"/ipns/{n2}/sub"
    with pytest.raises(InvalidInput, match="loop"):
        await r.resolve("/ipns/a.test")
    chain = {f"d{i}.test": f"/ipns/d{i + 1}.test" for i in range(40)}
    r2 = Resolver(store=store, dns=FakeDns(chain), limits=limits, clock=clock)
    with pytest.raises(InvalidInput, match="hops"):
        await r2.resolve("/ipns/d0.test")
    r3 = Resolver(store=store, limits=limits, clock=clock)
    with pytest.raises(NotFound, match="DNS.Resolvers"):
        await r3.resolve("/ipns/example.org")


async def test_slow_source_does_not_hold_up_a_valid_answer(env, autojump_clock):
    store, clock, router, limits = env
    key = PrivateKey.generate()
    name = IpnsName.from_public_key(key.public_key)

    class Slow:
        async def get_value(self, key: bytes) -> bytes:
            await trio.sleep(100)
            raise NotFound("x")

    from jiaozi_node.ipns.keystore import Keystore
    from jiaozi_node.ipns.publisher import make_record

    ks = Keystore(store.path.parent / "ks", key)
    make_record(ks, store, "self", CID1, lifetime_s=60, ttl_s=60, v2_only=False, now=clock.t)
    r = Resolver(store=store, router=lambda: Slow(), limits=limits, clock=clock)
    t0 = trio.current_time()  # virtual clock (autojump): no wall-clock timing here
    assert await r.resolve(f"/ipns/{name}") == f"/ipfs/{CID1}"  # own record, settle window only
    assert trio.current_time() - t0 == pytest.approx(limits.resolve_settle_s)
