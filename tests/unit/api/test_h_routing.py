"""RPC routing/* and stats/* handlers: Kubo's query-event shapes, over fake routers (in-process)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.h_routing import parse_routing_key
from jiaozi_node.api.server import RpcApp
from jiaozi_node.config import ROUTING_LIMITS
from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.identity import Identity
from jiaozi_node.ipld import CID
from jiaozi_node.node import Node
from jiaozi_node.routing.base import PeerRecord
from jiaozi_node.routing.finder import Dialer
from jiaozi_node.routing.parallel import ParallelRouter
from jiaozi_node.routing.provider import ProvideQueue, Provider
from jiaozi_node.routing.validators import default_validators

PEER = Identity.generate()
OTHER = Identity.generate()


class Host:
    peer_id = "12D3KooWSelf"

    def peers(self) -> list[str]:
        return [OTHER.peer_id]

    def is_connected(self, peer: str) -> bool:
        return peer == OTHER.peer_id


class Fake:
    name = "fake"

    def __init__(self) -> None:
        self.provided: list[CID] = []
        self.records: dict[bytes, bytes] = {}

    async def find_providers(self, cid: CID, *, limit: int = 20) -> Any:
        for i, p in enumerate((PEER, OTHER)):
            if i < limit:
                yield PeerRecord(p.peer_id, (f"/ip4/127.0.0.1/tcp/{4001 + i}",))

    async def provide(self, cids: Sequence[CID]) -> None:
        self.provided.extend(cids)

    async def find_peer(self, peer_id: str) -> PeerRecord:
        if peer_id != PEER.peer_id:
            raise NotFound(peer_id)
        return PeerRecord(peer_id, ("/ip4/127.0.0.1/tcp/4001",))

    async def get_value(self, key: bytes) -> bytes:
        if key not in self.records:
            raise NotFound(repr(key))
        return self.records[key]

    async def put_value(self, key: bytes, value: bytes) -> None:
        self.records[key] = value


class Dht:
    """The shape of routing/dht/service.py's DhtRouter.stats()."""

    def stats(self) -> dict[str, Any]:
        return {"Name": "/ipfs/kad/1.0.0", "Mode": "server", "TableSize": 1,
                "Buckets": [{"Cpl": 3, "Peers": [{"ID": OTHER.peer_id, "LastUseful": 5.0}]}]}


@pytest.fixture
def setup(node: Node):  # type: ignore[no-untyped-def]
    fake = Fake()
    router = ParallelRouter([fake], validators=default_validators())
    host = Host()
    provider = Provider(node, router, ProvideQueue.open(node.repo.path), strategy="roots")
    svc = SimpleNamespace(router=router, host=host, dialer=Dialer(host, router, None), limits=ROUTING_LIMITS,
                          provider=provider, dht=Dht(), rtype="auto")
    online = SimpleNamespace(services={"routing": svc})
    app = RpcApp(ApiContext(node, online=online))  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:5001")
    yield client, fake, svc
    provider.queue.close()


def lines(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return [json.loads(x) for x in r.text.splitlines() if x.strip()]


async def test_findprovs_streams_provider_events(setup) -> None:  # type: ignore[no-untyped-def]
    http, _, _ = setup
    cid = CID.of(b"x")
    evs = lines(await http.post("/api/v0/routing/findprovs", params={"arg": str(cid)}))
    assert evs == [{"Extra": "", "ID": "", "Type": 4,
                    "Responses": [{"ID": PEER.peer_id, "Addrs": ["/ip4/127.0.0.1/tcp/4001"]}]},
                   {"Extra": "", "ID": "", "Type": 4,
                    "Responses": [{"ID": OTHER.peer_id, "Addrs": ["/ip4/127.0.0.1/tcp/4002"]}]}]
    evs = lines(await http.post("/api/v0/routing/findprovs", params={"arg": str(cid), "num-providers": "1"}))
    assert len(evs) == 1
    r = await http.post("/api/v0/routing/findprovs", params={"arg": str(cid), "num-providers": "0"})
    assert r.status_code == 400
    r = await http.post("/api/v0/routing/findprovs", params={"arg": "not-a-cid"})
    assert r.status_code == 400
    msg = r.json()["Message"]  # said once, without repr quotes around the reason
    assert msg.count("invalid CID") == 1 and msg.startswith("invalid CID 'not-a-cid': No known"), msg


async def test_findpeer(setup) -> None:  # type: ignore[no-untyped-def]
    http, _, _ = setup
    evs = lines(await http.post("/api/v0/routing/findpeer", params={"arg": PEER.peer_id}))
    assert evs == [{"Extra": "", "ID": "", "Type": 2,
                    "Responses": [{"ID": PEER.peer_id, "Addrs": ["/ip4/127.0.0.1/tcp/4001"]}]}]
    r = await http.post("/api/v0/routing/findpeer", params={"arg": OTHER.peer_id})
    assert r.status_code == 500 and "not found" in r.json()["Message"]
    r = await http.post("/api/v0/routing/findpeer", params={"arg": "nonsense"})
    assert r.status_code == 400


async def test_provide_local_blocks_only(setup, node: Node) -> None:  # type: ignore[no-untyped-def]
    http, fake, svc = setup
    root = node.add_bytes(b"y" * 3_000_000)
    lines(await http.post("/api/v0/routing/provide", params={"arg": str(root)}))
    assert fake.provided == [root]
    lines(await http.post("/api/v0/routing/provide", params={"arg": str(root), "recursive": "true"}))
    assert len(fake.provided) > 2
    r = await http.post("/api/v0/routing/provide", params={"arg": str(CID.of(b"missing"))})
    assert r.status_code == 500 and "not found locally" in r.json()["Message"]
    st = (await http.post("/api/v0/stats/provide")).json()
    assert st["TotalProvides"] == len(fake.provided) and st["Strategy"] == "roots"
    assert set(st) >= {"AvgProvideDuration", "LastReprovideDuration", "LastReprovideBatchSize"}


async def test_put_and_get_records_validated(setup) -> None:  # type: ignore[no-untyped-def]
    http, fake, _ = setup
    key = f"/pk/{PEER.peer_id}"
    r = await http.post("/api/v0/routing/put", params={"arg": key},
                        files={"value-file": ("v", PEER.public_key_protobuf)})
    assert lines(r)[0]["Type"] == 5
    assert fake.records[parse_routing_key(key)] == PEER.public_key_protobuf
    r = await http.post("/api/v0/routing/put", params={"arg": key},
                        files={"value-file": ("v", OTHER.public_key_protobuf)})
    assert r.status_code == 400  # someone else's key under PEER's name
    evs = lines(await http.post("/api/v0/routing/get", params={"arg": key}))
    assert base64.b64decode(evs[0]["Extra"]) == PEER.public_key_protobuf and evs[0]["Type"] == 5
    r = await http.post("/api/v0/routing/get", params={"arg": f"/pk/{OTHER.peer_id}"})
    assert r.status_code == 500
    r = await http.post("/api/v0/routing/get", params={"arg": "/foo/bar"})
    assert r.status_code == 400


async def test_stats_dht(setup) -> None:  # type: ignore[no-untyped-def]
    http, _, _ = setup
    evs = lines(await http.post("/api/v0/stats/dht"))
    peer = evs[0]["Buckets"][0]["Peers"][0]
    assert evs[0]["Name"] == "wan" and evs[0]["Mode"] == "server" and evs[0]["TableSize"] == 1
    assert peer["ID"] == OTHER.peer_id and peer["Connected"] is True and peer["LastUsefulAt"]


def test_parse_routing_key() -> None:
    import base58

    assert parse_routing_key(f"/ipns/{PEER.peer_id}") == b"/ipns/" + base58.b58decode(PEER.peer_id)
    assert parse_routing_key("/x/y") == b"/x/y"
    for bad in ("nope", "/ipns/", "/ipns/zzz"):
        with pytest.raises(InvalidInput):
            parse_routing_key(bad)
    with pytest.raises(InvalidInput) as exc:  # a /pk/ key is not called an IPNS name
        parse_routing_key("/pk/x")
    assert "IPNS" not in str(exc.value) and "/pk/" in str(exc.value) and "not a peer ID" in str(exc.value)


async def test_offline_node_refused(node: Node) -> None:
    app = RpcApp(ApiContext(node))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        r = await http.post("/api/v0/routing/findprovs", params={"arg": str(CID.of(b"x"))})
        assert r.status_code == 400 and "online" in r.json()["Message"]
