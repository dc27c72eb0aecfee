"""The /routing/v1 server (RoutingApi inside GatewayApp) with a fake router, over httpx's ASGI
transport (no sockets)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
import trio

from jiaozi_node.config import DELEGATED_ROUTING_LIMITS, DelegatedRoutingLimits
from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.gateway.server import GatewayApp
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.routing.base import PeerRecord, RoutingUnsupported
from jiaozi_node.routing.http.records import ipns_key, parse_peer_id, peer_id_cid_str
from jiaozi_node.routing.http.server import RoutingApi
from jiaozi_node.store.base import MemoryBlockstore

ME, A, B = (Identity.generate().peer_id for _ in range(3))
HELD = b"a block we hold"
CID_HELD = CID.of(HELD)
CID_OTHER = CID.of(b"somebody else's block")
TCP = "/ip4/127.0.0.1/tcp/4001"
QUIC = "/ip4/127.0.0.1/udp/4001/quic-v1"


class FakeRouter:
    name = "fake"

    def __init__(self) -> None:
        self.providers: dict[CID, list[PeerRecord]] = {}
        self.peers: dict[str, PeerRecord] = {}
        self.values: dict[bytes, bytes] = {}
        self.put: list[tuple[bytes, bytes]] = []
        self.fail: Exception | None = None
        self.stall_after: int | None = None

    async def find_providers(self, cid: CID, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        for i, rec in enumerate(self.providers.get(cid, [])[:limit]):
            if self.stall_after is not None and i >= self.stall_after:
                await trio.sleep_forever()
            yield rec
        if self.fail is not None:
            raise self.fail

    async def provide(self, cids: Sequence[CID]) -> None:
        raise RoutingUnsupported("no")

    async def find_peer(self, peer_id: str) -> PeerRecord:
        try:
            return self.peers[peer_id]
        except KeyError:
            raise NotFound(peer_id) from None

    async def get_value(self, key: bytes) -> bytes:
        try:
            return self.values[key]
        except KeyError:
            raise NotFound("no record") from None

    async def put_value(self, key: bytes, value: bytes) -> None:
        self.put.append((key, value))


class Local:
    def __init__(self, store: MemoryBlockstore) -> None:
        self.store = store

    def self_record(self) -> PeerRecord:
        return PeerRecord(ME, (TCP,), ("transport-bitswap",))

    def has_block(self, cid: CID) -> bool:
        return self.store.has(cid)

    def known_peer(self, peer_id: str) -> PeerRecord | None:
        return PeerRecord(B, ("/ip4/127.0.0.1/tcp/5555",)) if peer_id == B else None


class Validator:
    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        if not value.startswith(b"valid"):
            raise InvalidInput("bad signature")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        return 0


def make(router: FakeRouter | None = None, *, validators: dict | None = None,
         limits: DelegatedRoutingLimits = DELEGATED_ROUTING_LIMITS) -> httpx.AsyncClient:
    store = MemoryBlockstore()
    store.put(CID_HELD, HELD)
    api = RoutingApi(router=lambda: router, local=Local(store),
                     validators=lambda: validators or {}, limits=limits)
    app = GatewayApp(store, routing=api)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


def lines(body: bytes) -> list[dict]:
    return [json.loads(x) for x in body.splitlines() if x.strip()]


async def test_providers_json_local_and_router() -> None:
    fr = FakeRouter()
    fr.providers[CID_HELD] = [PeerRecord(A, (TCP, QUIC)), PeerRecord(ME, (TCP,))]
    async with make(fr) as http:
        r = await http.get(f"/routing/v1/providers/{CID_HELD}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["vary"] == "Accept"
    assert "max-age=300" in r.headers["cache-control"]
    provs = r.json()["Providers"]
    assert [p["ID"] for p in provs] == [ME, A]  # ourselves first (we hold it), duplicates merged
    assert provs[1] == {"Schema": "peer", "ID": A, "Addrs": [TCP, QUIC], "Protocols": []}


async def test_providers_none_is_200_empty() -> None:
    async with make(FakeRouter()) as http:
        r = await http.get(f"/routing/v1/providers/{CID_OTHER}")
        assert r.status_code == 200 and r.json() == {"Providers": []}
        assert "max-age=15" in r.headers["cache-control"]
        r = await http.get(f"/routing/v1/providers/{CID_OTHER}",
                           headers={"Accept": "application/x-ndjson"})
        assert r.status_code == 200 and r.content == b""
        assert r.headers["content-type"] == "application/x-ndjson"
    async with make(None) as http:  # no router at all (Routing.Type none): local answers only
        r = await http.get(f"/routing/v1/providers/{CID_HELD}")
        assert [p["ID"] for p in r.json()["Providers"]] == [ME]


async def test_providers_ndjson_and_filters() -> None:
    fr = FakeRouter()
    fr.providers[CID_OTHER] = [PeerRecord(A, (TCP, QUIC), ("transport-bitswap",)),
                               PeerRecord(B, (QUIC,)), PeerRecord(ME, ())]
    async with make(fr) as http:
        r = await http.get(f"/routing/v1/providers/{CID_OTHER}?filter-addrs=tcp,unknown",
                           headers={"Accept": "application/x-ndjson, application/json;q=0.8"})
        assert r.headers["content-type"] == "application/x-ndjson"
        assert lines(r.content) == [
            {"Schema": "peer", "ID": A, "Addrs": [TCP], "Protocols": ["transport-bitswap"]},
            {"Schema": "peer", "ID": ME, "Addrs": [], "Protocols": []}]
        r = await http.get(f"/routing/v1/providers/{CID_OTHER}?filter-protocols=unknown")
        assert [p["ID"] for p in r.json()["Providers"]] == [B, ME]


async def test_json_answer_capped_and_lookup_bounded_in_time() -> None:
    fr = FakeRouter()
    fr.providers[CID_OTHER] = [PeerRecord(Identity.generate().peer_id) for _ in range(8)]
    lim = DelegatedRoutingLimits(server_json_records=5, server_lookup_timeout_s=0.5)
    async with make(fr, limits=lim) as http:
        r = await http.get(f"/routing/v1/providers/{CID_OTHER}")
        assert len(r.json()["Providers"]) == 5
        fr.stall_after = 2  # a router that finds two and then never finishes
        with trio.fail_after(10):
            r = await http.get(f"/routing/v1/providers/{CID_OTHER}")
        assert len(r.json()["Providers"]) == 2
        with trio.fail_after(10):
            r = await http.get(f"/routing/v1/providers/{CID_OTHER}",
                               headers={"Accept": "application/x-ndjson"})
        assert len(lines(r.content)) == 2


async def test_router_failure() -> None:
    fr = FakeRouter()
    fr.fail = RuntimeError("dht exploded")
    async with make(fr) as http:
        r = await http.get(f"/routing/v1/providers/{CID_OTHER}")
        assert r.status_code == 500 and "dht exploded" in r.text
        r = await http.get(f"/routing/v1/providers/{CID_HELD}")  # something found: partial answer
        assert r.status_code == 200 and [p["ID"] for p in r.json()["Providers"]] == [ME]
        fr.fail = RoutingUnsupported("not here")
        r = await http.get(f"/routing/v1/providers/{CID_OTHER}")
        assert r.status_code == 200 and r.json() == {"Providers": []}


async def test_peers() -> None:
    fr = FakeRouter()
    fr.peers[A] = PeerRecord(A, (TCP, QUIC))
    async with make(fr) as http:
        r = await http.get(f"/routing/v1/peers/{peer_id_cid_str(parse_peer_id(A))}")
        assert r.status_code == 200 and r.json()["Peers"] == [
            {"Schema": "peer", "ID": A, "Addrs": [TCP, QUIC], "Protocols": []}]
        r = await http.get(f"/routing/v1/peers/{A}?filter-addrs=quic-v1",
                           headers={"Accept": "application/x-ndjson"})
        assert lines(r.content) == [{"Schema": "peer", "ID": A, "Addrs": [QUIC], "Protocols": []}]
        assert (await http.get(f"/routing/v1/peers/{ME}")).json()["Peers"][0]["Addrs"] == [TCP]
        assert (await http.get(f"/routing/v1/peers/{B}")).json()["Peers"][0]["ID"] == B
        other = Identity.generate().peer_id
        r = await http.get(f"/routing/v1/peers/{other}")
        assert r.status_code == 200 and r.json() == {"Peers": []}
        r = await http.get(f"/routing/v1/peers/{other}", headers={"Accept": "application/x-ndjson"})
        assert r.status_code == 200 and r.content == b""


@pytest.mark.parametrize("path", [
    "/routing/v1/providers/not-a-cid", "/routing/v1/peers/not-a-peer", "/routing/v1/ipns/nope",
    "/routing/v1/unknown/x", "/routing/v1", "/routing/v1/providers/bafkqaaa/extra",
])
async def test_bad_requests_are_400(path: str) -> None:
    async with make(FakeRouter()) as http:
        r = await http.get(path, headers={"Accept": "application/vnd.ipfs.ipns-record"})
    assert r.status_code == 400
    assert r.headers["access-control-allow-origin"] == "*"


async def test_methods_cors_and_switch() -> None:
    async with make(FakeRouter()) as http:
        r = await http.options(f"/routing/v1/providers/{CID_HELD}",
                               headers={"Origin": "http://x", "Access-Control-Request-Method": "GET"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["access-control-allow-methods"] == "GET, PUT, OPTIONS"
        assert (await http.post(f"/routing/v1/providers/{CID_HELD}")).status_code == 501
        assert (await http.put(f"/routing/v1/providers/{CID_HELD}")).status_code == 501
        r = await http.get(f"/routing/v1/providers/{CID_HELD}", headers={"Accept": "text/html"})
        assert r.status_code == 406
        assert (await http.get(f"/ipfs/{CID_HELD}?format=raw")).content == HELD  # gateway intact
    store = MemoryBlockstore()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=GatewayApp(store)),
                                 base_url="http://gw") as http:
        r = await http.get(f"/routing/v1/providers/{CID_HELD}")
        assert r.status_code == 404 and "ExposeRoutingAPI" in r.text


NAME = parse_peer_id(A)
KEY = ipns_key(NAME)
IPNS_PATH = f"/routing/v1/ipns/{peer_id_cid_str(NAME)}"
IPNS = "application/vnd.ipfs.ipns-record"


def real_record(ttl_s: int) -> tuple[bytes, str, bytes]:
    """(routing key, /routing/v1/ipns path, record) of a fresh Ed25519 name."""
    from jiaozi_node.ipns.crypto import PrivateKey
    from jiaozi_node.ipns.name import IpnsName
    from jiaozi_node.ipns.record import create_record

    key = PrivateKey.generate("ed25519")
    name = IpnsName.from_public_key(key.public_key)
    record = create_record(key, "/ipfs/bafkqaaa", seq=3, eol_ns=time.time_ns() + 3600 * 10**9,
                           ttl_ns=ttl_s * 10**9)
    return name.routing_key, f"/routing/v1/ipns/{name.cid}", record


async def test_ipns_get() -> None:
    fr = FakeRouter()
    key, path, record = real_record(ttl_s=300)
    async with make(fr) as http:
        r = await http.get(path, headers={"Accept": IPNS})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        fr.values[key] = record
        r = await http.get(path, headers={"Accept": IPNS})
        assert r.status_code == 200 and r.content == record
        assert r.headers["content-type"] == IPNS and r.headers["etag"]
        cache = r.headers["cache-control"]
        assert "max-age=300," in cache and "stale-while-revalidate=35" in cache  # ~3600 s left
        assert r.headers["expires"].endswith("GMT")
        assert (await http.get(path)).status_code == 406
        assert (await http.get(path, headers={"Accept": "*/*"})).status_code == 406
        key0, path0, record0 = real_record(ttl_s=0)
        fr.values[key0] = record0
        r = await http.get(path0, headers={"Accept": IPNS})
        assert r.content == record0 and "max-age=60," in r.headers["cache-control"]
        fr.values[key0] = record  # a router returning somebody else's record: never served
        r = await http.get(path0, headers={"Accept": IPNS})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


async def test_ipns_put_refused_without_validator() -> None:
    fr = FakeRouter()
    async with make(fr) as http:
        r = await http.put(IPNS_PATH, content=b"valid", headers={"Content-Type": IPNS})
    assert r.status_code == 501 and "validator" in r.text and fr.put == []


async def test_ipns_put_validated() -> None:
    fr = FakeRouter()
    async with make(fr, validators={"ipns": Validator()}) as http:
        r = await http.put(IPNS_PATH, content=b"forged", headers={"Content-Type": IPNS})
        assert r.status_code == 400 and "bad signature" in r.text
        r = await http.put(IPNS_PATH, content=b"valid", headers={"Content-Type": "text/plain"})
        assert r.status_code == 406
        r = await http.put(IPNS_PATH, content=b"valid" + bytes(20_000), headers={"Content-Type": IPNS})
        assert r.status_code == 400 and "limit" in r.text
        assert fr.put == []
        r = await http.put(IPNS_PATH, content=b"valid record", headers={"Content-Type": IPNS})
        assert r.status_code == 200
    assert fr.put == [(KEY, b"valid record")]
    async with make(None, validators={"ipns": Validator()}) as http:
        r = await http.put(IPNS_PATH, content=b"valid record", headers={"Content-Type": IPNS})
        assert r.status_code == 501


async def test_concurrent_lookups_bounded_429() -> None:
    fr = FakeRouter()
    fr.providers[CID_OTHER] = [PeerRecord(A)]
    fr.stall_after = 0  # every lookup hangs until the server's lookup timeout
    lim = DelegatedRoutingLimits(server_max_concurrent_lookups=2, server_lookup_timeout_s=2)
    async with make(fr, limits=lim) as http:
        statuses: list[int] = []

        async def get() -> None:
            r = await http.get(f"/routing/v1/providers/{CID_OTHER}")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["retry-after"] == "5"

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(get)
                nursery.start_soon(get)
                await trio.sleep(0.5)  # both lookups are running now
                await get()
        assert sorted(statuses) == [200, 200, 429]
        r = await http.get(f"/routing/v1/providers/{CID_HELD}")  # slots were given back
        assert r.status_code == 200
