"""Start the RPC API and the gateway inside `node.online()` (listed in online.SERVICE_MODULES).

    async def start_online(online) -> None   # called by node/online.py

Addresses come from config `Addresses.API` / `Addresses.Gateway` (multiaddrs, loopback by
default); an empty string or null disables that server. The gateway fetches missing content
through the retrieval path when config `Gateway.FetchFromPeers` is true and a retrieval service
is registered (`online.services["retrieval"]` with an async `fetch(cid) -> bytes` that verifies
and stores, see node/retrieval.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_API_ADDR, DEFAULT_GATEWAY_ADDR
from ..errors import NotFound
from ..gateway.asgi import serve_app
from ..gateway.http_common import is_loopback_host, multiaddr_to_host_port
from ..gateway.server import Fetch, GatewayApp
from ..ipld.cid import CID
from .common import ApiContext
from .server import RpcApp

if TYPE_CHECKING:
    from ..node.online import OnlineNode

log = logging.getLogger(__name__)


def retrieval_fetch(online: OnlineNode) -> Fetch:
    """An async fetch that goes through the retrieval service registered in `online.services`
    (looked up at call time, since services start in any order); NotFound when there is none."""

    async def fetch(cid: CID) -> bytes:
        svc: Any = online.services.get("retrieval")
        fn = getattr(svc, "fetch", None)
        if not callable(fn):
            raise NotFound(f"block {cid} not found locally (no retrieval service running)")
        return await fn(cid)

    return fetch


async def start_online(online: OnlineNode) -> None:
    node = online.node
    repo = node.repo
    fetch = retrieval_fetch(online)
    api_addr = repo.get_config_default("Addresses.API", DEFAULT_API_ADDR)
    if api_addr:
        host, _ = multiaddr_to_host_port(api_addr)
        if not is_loopback_host(host):
            log.warning("RPC API listening on non-loopback address %s: anyone who can reach it "
                        "controls this node", api_addr)
        app = RpcApp(ApiContext(node, online=online, fetch=fetch, limits=node.defaults.http))
        online.api_addr = await online.nursery.start(serve_app, app, api_addr)
        online.services["api"] = app
    gw_addr = repo.get_config_default("Addresses.Gateway", DEFAULT_GATEWAY_ADDR)
    if gw_addr:
        from_peers = bool(repo.get_config_default("Gateway.FetchFromPeers", True))
        gw = GatewayApp(node.blocks, fetch=fetch if from_peers else None, limits=node.defaults.http)
        online.gateway_addr = await online.nursery.start(serve_app, gw, gw_addr)
        online.services["gateway"] = gw
