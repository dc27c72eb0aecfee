"""Delegated Routing V1 over real sockets: our DelegatedRouter (httpx) against our /routing/v1
server (hypercorn/h11) on 127.0.0.1, and a real `jzfs daemon` answering /routing/v1 on its
gateway address (Gateway.ExposeRoutingAPI on by default, off with false)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
import trio

from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.gateway.asgi import serve_app
from jiaozi_node.gateway.http_common import multiaddr_to_host_port
from jiaozi_node.gateway.server import GatewayApp
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.routing.base import PeerRecord, RoutingUnsupported
from jiaozi_node.routing.http.client import DelegatedRouter
from jiaozi_node.routing.http.records import ipns_key, parse_peer_id
from jiaozi_node.routing.http.server import RoutingApi
from jiaozi_node.store.base import MemoryBlockstore

A, B = (Identity.generate().peer_id for _ in range(2))
TCP = "/ip4/127.0.0.1/tcp/4001"
QUIC = "/ip4/127.0.0.1/udp/4001/quic-v1"
CID1 = CID.of(b"provided by a and b")
KEY = ipns_key(parse_peer_id(A))


class SlowRouter:
    """Finds providers one at a time, waiting for `release` between them."""

    name = "slow"

    def __init__(self) -> None:
        self.release = trio.Event()
        self.values: dict[bytes, bytes] = {}

    async def find_providers(self, cid: CID, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        if cid != CID1:
            return
        yield PeerRecord(A, (TCP, QUIC), ("transport-bitswap",))
        await self.release.wait()
        yield PeerRecord(B, (QUIC,))

    async def provide(self, cids: Sequence[CID]) -> None:
        raise RoutingUnsupported("no")

    async def find_peer(self, peer_id: str) -> PeerRecord:
        if peer_id == A:
            return PeerRecord(A, (TCP,))
        raise NotFound(peer_id)

    async def get_value(self, key: bytes) -> bytes:
        try:
            return self.values[key]
        except KeyError:
            raise NotFound("none") from None

    async def put_value(self, key: bytes, value: bytes) -> None:
        self.values[key] = value


class Validator:
    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        if not value.startswith(b"valid"):
            raise InvalidInput("signature does not verify")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        return 0


async def test_our_client_against_our_server_on_loopback() -> None:
    from jiaozi_node.ipns.crypto import PrivateKey
    from jiaozi_node.ipns.name import IpnsName
    from jiaozi_node.ipns.record import create_record
    from jiaozi_node.routing.validators import default_validators

    router = SlowRouter()
    validators = default_validators()
    pk = PrivateKey.generate("ed25519")
    key = IpnsName.from_public_key(pk.public_key).routing_key
    record = create_record(pk, "/ipfs/bafkqaaa", seq=1, eol_ns=time.time_ns() + 3600 * 10**9,
                           ttl_ns=60 * 10**9)
    forged = bytearray(record)
    forged[-10] ^= 0xFF
    api = RoutingApi(router=lambda: router, validators=lambda: validators)
    async with trio.open_nursery() as nursery:
        ma = await nursery.start(serve_app, GatewayApp(MemoryBlockstore(), routing=api),
                                 "/ip4/127.0.0.1/tcp/0")
        host, port = multiaddr_to_host_port(ma)
        url = f"http://{host}:{port}"
        async with DelegatedRouter(url, validators=validators) as client:
            got = []
            with trio.fail_after(20):
                async for rec in client.find_providers(CID1):
                    got.append(rec)
                    router.release.set()  # the 2nd provider exists only after the 1st arrived
            assert got == [PeerRecord(A, (TCP, QUIC), ("transport-bitswap",)), PeerRecord(B, (QUIC,))]
            assert [r async for r in client.find_providers(CID.of(b"nobody"))] == []
            assert await client.find_peer(A) == PeerRecord(A, (TCP,))
            with pytest.raises(NotFound):
                await client.find_peer(B)
            with pytest.raises(NotFound):
                await client.get_value(key)
            with pytest.raises(InvalidInput):
                await client.put_value(key, bytes(forged))
            await client.put_value(key, record)
            assert router.values[key] == record
            assert await client.get_value(key) == record
            router.values[key] = bytes(forged)  # a router that lies: our server does not serve it
            with pytest.raises(NotFound):
                await client.get_value(key)
        async with DelegatedRouter(url, filter_addrs=["quic-v1"]) as client:
            got = [r async for r in client.find_providers(CID1)]
            assert [r.addrs for r in got] == [(QUIC,), (QUIC,)]
        nursery.cancel_scope.cancel()


def _add(daemon: dict, data: bytes) -> str:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", "block", "put"],
                       input=data, env=daemon["env"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode().strip()


def test_daemon_serves_routing_v1_on_gateway(jzfs_daemon_factory: object) -> None:
    d = jzfs_daemon_factory()  # type: ignore[operator]
    cid = _add(d, b"held by the daemon\n")
    pid = json.loads(subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", "id", "--json"],
                                    env=d["env"], capture_output=True, timeout=60).stdout)["ID"]
    with httpx.Client(base_url=d["gateway"], timeout=30) as http:
        r = http.get(f"/routing/v1/providers/{cid}")
        assert r.status_code == 200, r.text
        provs = r.json()["Providers"]
        assert [p["ID"] for p in provs] == [pid]
        assert provs[0]["Addrs"] and provs[0]["Protocols"] == ["transport-bitswap"]
        assert r.headers["access-control-allow-origin"] == "*"
        r = http.get(f"/routing/v1/providers/{CID.of(b'nobody has this')}",
                     headers={"Accept": "application/x-ndjson"})
        assert r.status_code == 200 and r.content == b""
        assert http.get(f"/routing/v1/peers/{pid}").json()["Peers"][0]["ID"] == pid
        assert http.get("/routing/v1/providers/not-a-cid").status_code == 400
    off = jzfs_daemon_factory("off", config={"Gateway.ExposeRoutingAPI": False})  # type: ignore[operator]
    with httpx.Client(base_url=off["gateway"], timeout=30) as http:
        assert http.get(f"/routing/v1/providers/{cid}").status_code == 404


async def test_node_routes_through_another_nodes_routing_v1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Node A (Routing.Type delegated, Routing.DelegatedRouters = B's gateway) finds B as the
    provider of a block only B holds, and B's address, through B's /routing/v1 — the routing
    service's DelegatedRouter against the daemon's RoutingApi, both real."""
    from jiaozi_node.node import Node

    services = ("jiaozi_node.routing.service", "jiaozi_node.api.service")
    loop = ["/ip4/127.0.0.1/tcp/0"]
    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    try:
        for n in (a, b):
            n.repo.set_config("Addresses.API", "")
            n.repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
        cid = CID.of(b"only b holds this")
        b.blocks.put(cid, b"only b holds this")
        async with b.online(listen=loop, services=services) as pb:
            host, port = multiaddr_to_host_port(pb.gateway_addr)
            a.repo.set_config("Routing.Type", "delegated")
            a.repo.set_config("Routing.DelegatedRouters", [f"http://{host}:{port}"])
            async with a.online(listen=loop, services=services) as pa:
                router = pa.services["routing"].router
                assert any(isinstance(r, DelegatedRouter) for r in router.routers)
                with trio.fail_after(20):
                    found = [r async for r in router.find_providers(cid)]
                    peer = await router.find_peer(pb.peer_id)
                assert [r.peer_id for r in found] == [pb.peer_id]
                assert found[0].addrs == tuple(pb.host.listen_addrs())
                assert peer.addrs == tuple(pb.host.listen_addrs())
    finally:
        a.close()
        b.close()
