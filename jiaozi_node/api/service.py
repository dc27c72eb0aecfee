"""Start the RPC API and the gateway inside `node.online()` (listed in online.SERVICE_MODULES).

    async def start_online(online) -> None   # called by node/online.py

Addresses come from config `Addresses.API` / `Addresses.Gateway` (multiaddrs, loopback by
default); an empty string or null disables that server. Content missing locally is fetched
through the ONE retrieval path (`node/retrieval.py`: bitswap and, if config `Gateway.Fetch` lists
URLs, trustless gateways, raced, verified in one place, stored): always for the RPC API (`cat`,
`get`, `pin add`... like Kubo's online commands), and for the gateway when config
`Gateway.FetchFromPeers` is true (the default). The gateway also serves the Delegated Routing V1
API (`/routing/v1`, routing/http/server.py) unless config `Gateway.ExposeRoutingAPI` is false.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from ..errors import NotFound
from ..gateway.asgi import serve_app
from ..gateway.client import GatewayBlockSource, configured_gateways
from ..gateway.http_common import is_loopback_host, multiaddr_to_host_port
from ..gateway.server import Fetch, GatewayApp
from ..ipld.cid import CID
from .common import ApiContext, prefetching
from .server import RpcApp

if TYPE_CHECKING:
    from ..node.online import OnlineNode

log = logging.getLogger(__name__)


def retrieval_for(online: OnlineNode) -> Any:
    """The node's ONE retrieval path (node/retrieval.py): the registered `online.services
    ["retrieval"]` if another service made one, else one built here over the bitswap service
    and, when config `Gateway.Fetch` lists URLs, a trustless-gateway BlockSource; registered
    under "retrieval" so every user shares it."""
    existing = online.services.get("retrieval")
    if existing is not None:
        return existing
    from ..node.retrieval import Retrieval

    sources: list[Any] = []
    bitswap = online.services.get("bitswap")
    if bitswap is not None and callable(getattr(bitswap, "fetch", None)):
        sources.append(bitswap)
    finder = getattr(online.services.get("routing"), "finder", None)
    if finder is not None:  # a session asks routing for providers when no peer has a block
        sources.append(finder)
    gateways = configured_gateways(online.node, None)
    if gateways:
        sources.append(GatewayBlockSource(gateways, limits=online.node.defaults.http,
                                          max_block_bytes=online.node.defaults.ipld.max_block_bytes))
    on_stored = getattr(bitswap, "notify_new_blocks", None)
    retrieval = Retrieval.from_defaults(online.node.blocks, sources, online.node.defaults, on_stored=on_stored)
    online.services["retrieval"] = retrieval
    return retrieval


def retrieval_fetch(online: OnlineNode) -> Fetch:
    """An async fetch through the retrieval path: local store, else its sources raced, every block
    verified (`ipld.block.verify`) and stored before it is returned."""
    retrieval = retrieval_for(online)

    async def fetch(cid: CID) -> bytes:
        if not retrieval.sources:
            raise NotFound(f"block {cid} not found locally (no peers or gateways to ask)")
        return await retrieval.get(cid)

    return fetch


async def start_online(online: OnlineNode) -> None:
    node = online.node
    fetch = retrieval_fetch(online)
    settings = node.settings
    api_addr = settings.addresses.api
    if api_addr:
        # The pin store open before the API answers, as Kubo's pinner is: the first `pin add`
        # after start paid its import and SQLite open (~7 ms) inside the command.
        await trio.to_thread.run_sync(lambda: node.pins)
        host, _ = multiaddr_to_host_port(api_addr)
        app = RpcApp(ApiContext(node, online=online, fetch=fetch, limits=node.defaults.http,
                                retrieval=retrieval_for(online)), listen_host=host)
        if not app.access.scopes and not is_loopback_host(host):
            log.warning("RPC API listening on non-loopback address %s without API.Authorizations: "
                        "anyone who can reach it controls this node", api_addr)
        online.api_addr = await online.nursery.start(serve_app, app, api_addr)
        online.services["api"] = app
    gw_addr = settings.addresses.gateway
    if gw_addr:
        from_peers = settings.gateway.fetch_from_peers
        routing = None
        if settings.gateway.expose_routing_api:  # Kubo's key
            from ..routing.http.server import routing_api_for

            routing = routing_api_for(online, node.defaults.delegated_routing)
        retrieval = retrieval_for(online) if from_peers else None
        gw = GatewayApp(node.blocks, fetch=fetch if from_peers else None, limits=node.defaults.http,
                        ipns=lambda: online.services.get("ipns"), routing=routing,
                        prefetch=(lambda cid: prefetching(retrieval, cid)) if from_peers else None)
        online.gateway_addr = await online.nursery.start(serve_app, gw, gw_addr)
        online.services["gateway"] = gw
