"""`async with node.online() as peer:` — the node on the network.

Starts the libp2p host (listening on `Addresses.Swarm` or the given addresses), keeps
`Peering.Peers` connected, then starts every registered service. Services belong to other
packages; each registers by adding its module to `SERVICE_MODULES`. Such a module exposes

    async def start_online(online: OnlineNode) -> None:
        svc = BitswapService(online.node, online.host)
        online.services["bitswap"] = svc
        await online.nursery.start(svc.run)       # trio service: started() once ready

The API server additionally sets `online.api_addr` (its multiaddr) so `jzfs daemon` writes
`$JZFS_PATH/api`, and the gateway sets `online.gateway_addr`.

The swarm/id functions at the bottom (`id_info`, `connect`, `disconnect`, `peers`, `addrs`,
`local_addrs`, `ping`) return Kubo-shaped JSON values: the RPC API's `/api/v0/id` and
`/api/v0/swarm/*` handlers return them as they are.

Ownership: `online()` owns the nursery, the host and every service started in it; leaving the
`async with` block cancels them all and closes the host's connections and listeners.
"""

from __future__ import annotations

import base64
import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ..config import AGENT_VERSION, DEFAULT_SWARM_ADDRS
from ..errors import InvalidInput, JzfsError, NetworkError
from ..net.libp2p_host import Libp2pHost, parse_peer_multiaddr
from ..net.peering import PeeringService, parse_peering_config

if TYPE_CHECKING:
    from .core import Node

logger = logging.getLogger(__name__)

# Modules exposing `async def start_online(online: OnlineNode) -> None`, started in this order.
# Every one must exist: a missing module is an error (ModuleNotFoundError), never skipped.
SERVICE_MODULES: tuple[str, ...] = (
    "jiaozi_node.bitswap.service",  # Bitswap 1.2 (BitswapService); first: the API and gateway use it
    "jiaozi_node.routing.service",  # DHT/delegated/peering routers; before bitswap's users
    "jiaozi_node.ipns.service",  # IPNS publish/resolve/republish (needs routing; before the gateway)
    "jiaozi_node.api.service",  # RPC API (RpcApp) + trustless gateway (GatewayApp)
    "jiaozi_node.versioning.sync",  # /jzfs/refs/1.0.0 (RefsService)
)



@dataclass
class OnlineNode:
    node: Node
    host: Libp2pHost
    nursery: trio.Nursery
    services: dict[str, Any] = field(default_factory=dict)
    api_addr: str | None = None
    gateway_addr: str | None = None

    @property
    def peer_id(self) -> str:
        return self.host.peer_id


@asynccontextmanager
async def online(node: Node, *, listen: Sequence[str] | None = None,
                 services: Sequence[str] | None = None,
                 peering: bool = True, bootstrap: bool = True) -> AsyncIterator[OnlineNode]:
    """Bring `node` online; see the module docstring.

    Args:
        listen: swarm multiaddrs (default: config `Addresses.Swarm`).
        services: modules to start instead of `SERVICE_MODULES` (tests pass `()` for a bare host).
        peering: keep config `Peering.Peers` connected.
        bootstrap: dial config `Bootstrap` once at start (empty unless the user opted in).
    """
    addrs = list(listen) if listen else list(
        node.repo.get_config_default("Addresses.Swarm", list(DEFAULT_SWARM_ADDRS)))
    host = Libp2pHost(node.repo.identity, listen=addrs, limits=node.defaults.net,
                      agent_version=AGENT_VERSION)
    async with trio.open_nursery() as nursery:
        await nursery.start(host.run)
        on = OnlineNode(node=node, host=host, nursery=nursery)
        if peering:
            peers = parse_peering_config(node.repo.get_config_default("Peering.Peers", []))
            if peers:
                svc = PeeringService(host, peers, limits=node.defaults.net)
                on.services["peering"] = svc
                await nursery.start(svc.run)
        if bootstrap:
            for addr in node.repo.get_config_default("Bootstrap", []) or []:
                nursery.start_soon(_dial_quietly, host, addr)
        for name in (SERVICE_MODULES if services is None else services):
            await importlib.import_module(name).start_online(on)
        try:
            yield on
        finally:
            nursery.cancel_scope.cancel()


async def _dial_quietly(host: Libp2pHost, addr: str) -> None:
    try:
        await host.connect(addr)
    except JzfsError as exc:
        logger.info("bootstrap: dial %s failed: %s", addr, exc)


# ---------------------------------------------------------------------------------------------
# id / swarm: Kubo-shaped results for the RPC API and the CLI
# ---------------------------------------------------------------------------------------------


def id_info_offline(node: Node) -> dict[str, Any]:
    """`jzfs id` without a running daemon: no live addresses (as `ipfs id --offline`)."""
    ident = node.repo.identity
    return {
        "ID": ident.peer_id,
        "PublicKey": base64.b64encode(ident.public_key_protobuf).decode(),
        "Addresses": [],
        "AgentVersion": AGENT_VERSION,
        "Protocols": [],
    }


async def id_info(on: OnlineNode, peer: str | None = None) -> dict[str, Any]:
    """`/api/v0/id`: ours, or a connected peer's (from identify)."""
    host = on.host
    if peer is None or peer == host.peer_id:
        return {
            "ID": host.peer_id,
            "PublicKey": base64.b64encode(host.public_key_protobuf).decode(),
            "Addresses": host.addrs(),
            "AgentVersion": AGENT_VERSION,
            "Protocols": host.protocols(),
        }
    info = await host.identify(peer)
    return {
        "ID": info["ID"],
        "PublicKey": base64.b64encode(info["PublicKey"]).decode(),
        "Addresses": [f"{a}/p2p/{peer}" for a in info["Addresses"]],
        "AgentVersion": info["AgentVersion"],
        "Protocols": info["Protocols"],
    }


async def connect(on: OnlineNode, addrs: Sequence[str]) -> dict[str, Any]:
    """`/api/v0/swarm/connect?arg=…`: dial each multiaddr (…/p2p/ID)."""
    if not addrs:
        raise InvalidInput("swarm connect needs at least one multiaddr")
    out = []
    for addr in addrs:
        peer_id = await on.host.connect(addr)
        out.append(f"connect {peer_id} success")
    return {"Strings": out}


async def disconnect(on: OnlineNode, addrs: Sequence[str]) -> dict[str, Any]:
    """`/api/v0/swarm/disconnect?arg=…`: a multiaddr ending in /p2p/ID, or a bare peer ID."""
    if not addrs:
        raise InvalidInput("swarm disconnect needs at least one multiaddr or peer ID")
    out = []
    for addr in addrs:
        peer_id = parse_peer_multiaddr(addr)[0] if addr.startswith("/") else addr
        await on.host.disconnect(peer_id)
        out.append(f"disconnect {peer_id} success")
    return {"Strings": out}


async def peers(on: OnlineNode, *, verbose: bool = False) -> dict[str, Any]:
    """`/api/v0/swarm/peers`: {"Peers": [{"Addr", "Peer", …}]} (Kubo's shape)."""
    out = []
    for pid in on.host.peers():
        for conn in on.host.peer_conn_info(pid) or [{"Addr": "", "Direction": "", "Muxer": ""}]:
            entry: dict[str, Any] = {"Addr": conn["Addr"], "Peer": pid}
            if verbose:
                entry.update({"Muxer": conn["Muxer"], "Direction": conn["Direction"]})
            out.append(entry)
    return {"Peers": out}


async def addrs(on: OnlineNode) -> dict[str, Any]:
    """`/api/v0/swarm/addrs`: known addresses of connected peers."""
    return {"Addrs": {pid: on.host.known_addrs(pid) for pid in on.host.peers()}}


async def local_addrs(on: OnlineNode, *, with_id: bool = False) -> dict[str, Any]:
    """`/api/v0/swarm/addrs/local`: our listen addresses."""
    return {"Strings": on.host.addrs() if with_id else on.host.listen_addrs()}


async def ping(on: OnlineNode, peer: str, *, count: int = 3) -> list[dict[str, Any]]:
    """`/api/v0/ping`: Kubo streams {"Success", "Time" (ns), "Text"} objects."""
    try:
        rtts = await on.host.ping(peer, count=count)
    except NetworkError as exc:
        return [{"Success": False, "Time": 0, "Text": str(exc)}]
    out = [{"Success": True, "Time": int(r * 1e9), "Text": ""} for r in rtts]
    avg = sum(rtts) / len(rtts)
    out.append({"Success": True, "Time": 0, "Text": f"Average latency: {avg * 1e3:.2f}ms"})
    return out
