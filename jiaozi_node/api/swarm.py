"""Kubo-shaped JSON of the node on the network: `/api/v0/id` and `/api/v0/swarm/*`, returned as
they are by the RPC handlers (`api/h_node.py`) and shown by the web UI's node page.

Each function reads the running node (`OnlineNode.host`, a `Libp2pHost`) and shapes Kubo's answer.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..config import AGENT_VERSION
from ..errors import InvalidInput, NetworkError

if TYPE_CHECKING:
    from ..node.core import Node
    from ..node.online import OnlineNode


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
    from ..net.libp2p_host import parse_peer_multiaddr  # libp2p loads only with the node online

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
