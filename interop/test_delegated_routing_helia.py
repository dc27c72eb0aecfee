"""Delegated Routing V1 between jzfs and Helia (real @helia packages, loopback only).

- Helia's client (@helia/delegated-routing-v1-http-api-client 9.0.2) against our /routing/v1:
  an in-process RoutingApi (real hypercorn, a memory router, the node's real validators) and a
  real `jzfs daemon`'s gateway.
- Our DelegatedRouter against Helia's server (@helia/delegated-routing-v1-http-api-server 5.2.1
  over createHeliaLight with an in-memory router, interop/helia/delegated_routing.mjs).
- IPNS records are real (Ed25519 V1+V2, made by jiaozi_node.ipns) and go both ways; corrupt ones
  are refused on both sides.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
import trio
from jzfs_interop.helia_routing import HeliaRouting

from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.gateway.asgi import serve_app
from jiaozi_node.gateway.http_common import multiaddr_to_host_port
from jiaozi_node.gateway.server import GatewayApp
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import create_record
from jiaozi_node.routing.base import PeerRecord, RoutingUnsupported
from jiaozi_node.routing.http.client import DelegatedRouter
from jiaozi_node.routing.http.server import RoutingApi
from jiaozi_node.routing.validators import default_validators
from jiaozi_node.store.base import MemoryBlockstore

A, B = (Identity.generate().peer_id for _ in range(2))
TCP = "/ip4/127.0.0.1/tcp/4001"
QUIC = "/ip4/127.0.0.1/udp/4001/quic-v1"
WS = "/ip4/127.0.0.1/tcp/4002/ws"
CID1 = CID.of(b"delegated routing interop")
IPNS = "application/vnd.ipfs.ipns-record"


def ipns_record(value: str = "/ipfs/bafkqaaa", *, seq: int = 1) -> tuple[IpnsName, bytes]:
    key = PrivateKey.generate("ed25519")
    name = IpnsName.from_public_key(key.public_key)
    eol = time.time_ns() + 3600 * 10**9
    return name, create_record(key, value, seq=seq, eol_ns=eol, ttl_ns=300 * 10**9)


def corrupt(record: bytes) -> bytes:
    raw = bytearray(record)
    raw[-10] ^= 0xFF  # inside the signed CBOR data (or its signature): no longer verifies
    return bytes(raw)


@pytest.fixture(scope="module")
def helia() -> Iterator[HeliaRouting]:
    with HeliaRouting() as h:
        yield h


class MemoryRouter:
    name = "memory"

    def __init__(self) -> None:
        self.providers: dict[CID, list[PeerRecord]] = {}
        self.peers: dict[str, PeerRecord] = {}
        self.values: dict[bytes, bytes] = {}

    async def find_providers(self, cid: CID, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        for rec in self.providers.get(cid, [])[:limit]:
            yield rec

    async def provide(self, cids: Sequence[CID]) -> None:
        raise RoutingUnsupported("memory")

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
        self.values[key] = value


# ------------------------------------------------------------------ Helia client -> our server

async def test_helia_client_against_our_server(helia: HeliaRouting) -> None:
    router = MemoryRouter()
    router.providers[CID1] = [PeerRecord(A, (TCP, QUIC, WS), ("transport-bitswap",)),
                              PeerRecord(B, (QUIC,))]
    router.peers[A] = PeerRecord(A, (TCP, QUIC))
    api = RoutingApi(router=lambda: router, validators=default_validators)

    def call(cmd: str, **kw: object) -> dict:
        return helia.call(cmd, 60, **kw)

    async with trio.open_nursery() as nursery:
        ma = await nursery.start(serve_app, GatewayApp(MemoryBlockstore(), routing=api),
                                 "/ip4/127.0.0.1/tcp/0")
        host, port = multiaddr_to_host_port(ma)
        url = f"http://{host}:{port}/"

        out = await trio.to_thread.run_sync(lambda: call("client_providers", url=url, cid=str(CID1)))
        assert out["records"] == [
            {"ID": A, "Addrs": [TCP, QUIC, WS], "Protocols": ["transport-bitswap"]},
            {"ID": B, "Addrs": [QUIC], "Protocols": []}]
        # IPIP-484 filters, sent by Helia's client, applied by our server
        out = await trio.to_thread.run_sync(lambda: call(
            "client_providers", url=url, cid=str(CID1),
            filterAddrs=["tcp", "!ws"], filterProtocols=["transport-bitswap"]))
        assert out["records"] == [{"ID": A, "Addrs": [TCP], "Protocols": ["transport-bitswap"]}]
        out = await trio.to_thread.run_sync(lambda: call(
            "client_providers", url=url, cid=str(CID.of(b"nobody has it"))))
        assert out["records"] == []

        out = await trio.to_thread.run_sync(lambda: call("client_peers", url=url, peer=A))
        assert out["records"] == [{"ID": A, "Addrs": [TCP, QUIC], "Protocols": []}]
        out = await trio.to_thread.run_sync(lambda: call("client_peers", url=url, peer=B))
        assert out["records"] == []

        # IPNS: a real record PUT by Helia is validated by us and handed to the router
        name, record = ipns_record()
        cid_name = str(name.cid)  # k51… (base36), as IPNS names are written
        out = await trio.to_thread.run_sync(lambda: call(
            "client_put_ipns", url=url, name=cid_name, record_b64=base64.b64encode(record).decode()))
        assert out == {"ok": True}
        assert router.values[name.routing_key] == record
        out = await trio.to_thread.run_sync(lambda: call("client_get_ipns", url=url, name=cid_name))
        assert base64.b64decode(out["record_b64"]) == record
        out = await trio.to_thread.run_sync(lambda: call(
            "client_put_ipns", url=url, name=cid_name,
            record_b64=base64.b64encode(corrupt(record)).decode()))
        assert out["ok"] is False  # we answered 400; Helia reports the failed PUT
        assert router.values[name.routing_key] == record  # the corrupt one never reached it
        other, _ = ipns_record()
        out = await trio.to_thread.run_sync(lambda: call("client_get_ipns", url=url,
                                                         name=str(other.cid)))
        assert out["record_b64"] is None and out["error"] == "NotFoundError"
        nursery.cancel_scope.cancel()


@pytest.fixture
def jzfs_daemon_factory(tmp_path: Path) -> Iterator[object]:
    """make(config) -> a `jzfs daemon` on a fresh repo, every address on 127.0.0.1 port 0,
    `config` keys set before it starts; stopped by PID at the end."""
    from jiaozi_node.repo import Repo

    procs: list[subprocess.Popen] = []

    def make(config: dict | None = None) -> dict:
        path = tmp_path / f"repo{len(procs)}"
        repo = Repo.init(path)
        for key, value in [("Addresses.API", "/ip4/127.0.0.1/tcp/0"),
                           ("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0"),
                           ("Addresses.Swarm", ["/ip4/127.0.0.1/tcp/0"]), *(config or {}).items()]:
            repo.set_config(key, value)
        env = {**os.environ, "JZFS_PATH": str(path), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "jiaozi_node.cli.main", "daemon"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        text = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            text += line
            if "Daemon is ready" in line:
                break
        m = re.search(r"Gateway server listening on /ip4/([\d.]+)/tcp/(\d+)", text)
        assert m, text
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        return {"env": env, "gateway": f"http://{m.group(1)}:{m.group(2)}"}

    try:
        yield make
    finally:
        for proc in procs:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


def jzfs(env: dict, *args: str, data: bytes | None = None) -> str:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], input=data, env=env,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, (args, r.stderr.decode())
    return r.stdout.decode()


def test_helia_client_against_jzfs_daemon(helia: HeliaRouting, jzfs_daemon_factory) -> None:  # type: ignore[no-untyped-def]
    d = jzfs_daemon_factory()
    cid = jzfs(d["env"], "block", "put", data=b"held by jzfs").strip()
    me = json.loads(jzfs(d["env"], "id", "--json"))
    out = helia.call("client_providers", 60, url=d["gateway"] + "/", cid=cid)
    assert [r["ID"] for r in out["records"]] == [me["ID"]]
    assert out["records"][0]["Addrs"] and all(a.startswith("/ip4/127.0.0.1/tcp/")
                                              for a in out["records"][0]["Addrs"])
    out = helia.call("client_peers", 60, url=d["gateway"] + "/", peer=me["ID"])
    assert [r["ID"] for r in out["records"]] == [me["ID"]]


# ------------------------------------------------------------------ our client -> Helia's server

async def test_our_client_against_helia_server(helia: HeliaRouting) -> None:
    url = await trio.to_thread.run_sync(helia.serve)
    cid = CID.of(b"helia knows who has this")
    await trio.to_thread.run_sync(lambda: helia.call(
        "add_provider", cid=str(cid), peer=A, addrs=[TCP, QUIC], protocols=["transport-bitswap"]))
    await trio.to_thread.run_sync(lambda: helia.call("add_provider", cid=str(cid), peer=B,
                                                     addrs=[WS]))
    await trio.to_thread.run_sync(lambda: helia.call("add_peer", peer=A, addrs=[TCP]))
    validators = default_validators()
    async with DelegatedRouter(url, validators=validators) as r:
        got = [p async for p in r.find_providers(cid)]
        # Helia's server writes Schema/ID/Addrs only (no Protocols)
        assert got == [PeerRecord(A, (TCP, QUIC)), PeerRecord(B, (WS,))]
        assert [p async for p in r.find_providers(CID.of(b"unknown"))] == []
        assert await r.find_peer(A) == PeerRecord(A, (TCP,))
        with pytest.raises(NotFound):
            await r.find_peer(B)
    async with DelegatedRouter(url, filter_addrs=["quic-v1"]) as r:  # server ignores filters
        assert [p async for p in r.find_providers(cid)] == [PeerRecord(A, (QUIC,))]

    name, record = ipns_record("/ipfs/" + str(cid))
    async with DelegatedRouter(url, validators=validators) as r:
        with pytest.raises(NotFound):
            await r.get_value(name.routing_key)
        await r.put_value(name.routing_key, record)  # Helia's server validates it too
        stored = await trio.to_thread.run_sync(lambda: helia.call(
            "get_record", key_b64=base64.b64encode(name.routing_key).decode()))
        assert base64.b64decode(stored["record_b64"]) == record
        assert await r.get_value(name.routing_key) == record
        with pytest.raises(InvalidInput):  # we refuse to send a corrupt record at all
            await r.put_value(name.routing_key, corrupt(record))
        # a server holding a corrupt record: our client refuses it
        await trio.to_thread.run_sync(lambda: helia.call(
            "put_record", key_b64=base64.b64encode(name.routing_key).decode(),
            record_b64=base64.b64encode(corrupt(record)).decode()))
        with pytest.raises(InvalidInput):
            await r.get_value(name.routing_key)
    # Helia's server refuses a corrupt record (500, where the spec says 400)
    async with httpx.AsyncClient() as http:
        resp = await http.put(f"{url}/routing/v1/ipns/{name.cid}", content=corrupt(record),
                              headers={"Content-Type": IPNS})
        assert resp.status_code == 500, resp.text
    async with DelegatedRouter(url) as r:  # a router without an IPNS validator refuses IPNS
        with pytest.raises(RoutingUnsupported):
            await r.get_value(name.routing_key)


def test_jzfs_routing_commands_through_helias_server(helia: HeliaRouting, jzfs_daemon_factory) -> None:  # type: ignore[no-untyped-def]
    """What a user types: a daemon with Routing.Type delegated and Routing.DelegatedRouters =
    Helia's server; `jzfs routing findprovs` / `findpeer` answer from it."""
    url = helia.url or helia.serve()
    cid = CID.of(b"only helia's router knows who has this")
    helia.call("add_provider", cid=str(cid), peer=B, addrs=[TCP, WS])
    c = Identity.generate().peer_id  # known to Helia's router as a peer, not as a provider
    helia.call("add_peer", peer=c, addrs=[QUIC])
    d = jzfs_daemon_factory({"Routing.Type": "delegated", "Routing.DelegatedRouters": [url]})
    assert jzfs(d["env"], "routing", "findprovs", str(cid)).split() == [B]
    assert jzfs(d["env"], "routing", "findpeer", c).split() == [QUIC]
