"""`async with node.online() as peer:` — the node on the network.

Starts the libp2p host (listening on `Addresses.Swarm` or the given addresses), keeps
`Peering.Peers` connected, then starts every registered service. The host is a py-libp2p
`Libp2pHost` unless the caller hands one in (`host=`, any `net.host.Host`): one-shot commands that
only dial typed TCP addresses pass a dial-only `LiteHost`, which imports no py-libp2p (~0.6 s). Services belong to other
packages; each registers by adding its module to `SERVICE_MODULES`. Such a module exposes

    async def start_online(online: OnlineNode) -> None:
        svc = BitswapService(online.node, online.host)
        online.services["bitswap"] = svc
        await online.nursery.start(svc.run)       # trio service: started() once ready

The API server additionally sets `online.api_addr` (its multiaddr) so `jzfs daemon` writes
`$JZFS_PATH/api`, and the gateway sets `online.gateway_addr`.

Kubo-shaped JSON of the node on the network (`/api/v0/id`, `/api/v0/swarm/*`) is built by the API
layer, `api/swarm.py`, from `OnlineNode.host`.

Ownership: `online()` owns the nursery, the host and every service started in it; leaving the
`async with` block cancels them all and closes the host's connections and listeners.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ..config import AGENT_VERSION
from ..errors import JzfsError
from ..net.peering import PeeringService, parse_peering_config

if TYPE_CHECKING:
    from ..net.host import Host
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
    host: Host
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
                 peering: bool = True, bootstrap: bool = True,
                 host: Host | None = None) -> AsyncIterator[OnlineNode]:
    """Bring `node` online; see the module docstring.

    Args:
        listen: swarm multiaddrs (default: config `Addresses.Swarm`); not with `host`.
        host: the (not yet running) host to use instead of a Libp2pHost built here.
        services: modules to start instead of `SERVICE_MODULES` (tests pass `()` for a bare host).
        peering: keep config `Peering.Peers` connected.
        bootstrap: dial config `Bootstrap` once at start (empty unless the user opted in).
    """
    if host is None:
        from ..net.libp2p_host import Libp2pHost

        addrs = list(listen) if listen else list(node.settings.addresses.swarm)
        host = Libp2pHost(node.repo.identity, listen=addrs, limits=node.defaults.net,
                          agent_version=AGENT_VERSION)
    elif listen:
        raise ValueError("online(): `listen` belongs to the host it would build; pass one or the other")
    async with trio.open_nursery() as nursery:
        await nursery.start(host.run)
        on = OnlineNode(node=node, host=host, nursery=nursery)
        if peering:
            peers = parse_peering_config(list(node.settings.peering_peers))
            if peers:
                svc = PeeringService(host, peers, limits=node.defaults.net)
                on.services["peering"] = svc
                await nursery.start(svc.run)
        if bootstrap:
            for addr in node.settings.bootstrap:
                nursery.start_soon(_dial_quietly, host, addr)
        for name in (SERVICE_MODULES if services is None else services):
            await importlib.import_module(name).start_online(on)
        try:
            yield on
        finally:
            nursery.cancel_scope.cancel()


async def _dial_quietly(host: Host, addr: str) -> None:
    try:
        await host.connect(addr)
    except JzfsError as exc:
        logger.info("bootstrap: dial %s failed: %s", addr, exc)
