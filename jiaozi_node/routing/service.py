"""The node's routing, composed from config (listed in `node/online.py` SERVICE_MODULES).

    async def start_online(online) -> None      # online.services["routing"] = RoutingService

Config (Kubo's keys and names):

* `Routing.Type` = `auto | dht | dhtclient | dhtserver | delegated | none`. Default `auto`
  (`config.DEFAULT_ROUTING_TYPE`), as Kubo: the DHT in auto mode plus the delegated routers.
  Nothing leaves loopback by default all the same: the DHT only talks to peers it was given or
  that connected to us (`Bootstrap` is empty, `Peering.Peers` too) and `Routing.DelegatedRouters`
  is empty, so a fresh node is an island until the user adds a peer — and then it finds
  content with no further setup. `dht` = DHT only (auto mode), `dhtclient`/`dhtserver` force
  the mode, `delegated` = HTTP routers only, `none` = no routing at all (only `--peer`,
  `Peering.Peers` and connected peers, as before).
* `Routing.DelegatedRouters`: list of `/routing/v1` base URLs (used with `auto` and `delegated`).
* The static-peering router (routing/static.py: connected peers, `Peering.Peers`, the peer
  store) is always part of it unless the type is `none`.

The routers are queried in parallel (routing/parallel.py). The DHT and the delegated HTTP
client come from their own packages; until they are installed they are skipped with a log line:

* `jiaozi_node.routing.dht.service.start_dht(online, *, mode) -> Router` (mode `auto`, `client`
  or `server`), started inside the node's nursery;
* `jiaozi_node.routing.http.client.DelegatedRouter(url, *, validators=, limits=…)`, a Router
  (closed with `aclose()` when the service stops).

What this service adds around the router: the persistent peer store (fed by identify on every
new connection and by routing answers), a `Dialer` that uses it, the `ProviderFinder` Bitswap
sessions use (routing/finder.py), and the provider (routing/provider.py: queue + reprovider).
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import time
from typing import Any

import trio

from ..errors import JzfsError
from ..net.peering import parse_peering_config
from .base import Router
from .finder import Dialer, ProviderFinder
from .parallel import ParallelRouter
from .peerstore import PeerStore
from .static import StaticRouter
from .validators import default_validators

logger = logging.getLogger(__name__)

_DHT_MODES = {"auto": "auto", "dht": "auto", "dhtclient": "client", "dhtserver": "server"}


def routing_type(node: Any) -> str:
    return str(node.settings.routing.type)  # checked against ROUTING_TYPES by UserConfig.parse


def delegated_urls(node: Any) -> list[str]:
    return list(node.settings.routing.delegated_routers)


def _load(module: str, attr: str) -> Any:
    """`module.attr`, imported only when this routing type needs it (start-up time). A missing
    module is an error (ModuleNotFoundError), never skipped."""
    return getattr(importlib.import_module(module), attr)


class RoutingService:
    """Owns the composed router, the peer store, the dialer, the finder and the provider."""

    def __init__(self, online: Any, router: ParallelRouter, peerstore: PeerStore, *,
                 rtype: str, dht: Router | None = None) -> None:
        self.online = online
        self.host = online.host
        self.node = online.node
        self.limits = online.node.defaults.routing
        self.router = router
        self.peerstore = peerstore
        self.rtype = rtype
        self.dht = dht
        self.dialer = Dialer(self.host, router, peerstore, limits=self.limits)
        self.finder: ProviderFinder | None = None
        self.provider: Any = None
        self.mdns: Any = None  # routing/mdns.py, when Discovery.MDNS.Enabled
        self._nursery: trio.Nursery | None = None

    def attach_bitswap(self, bitswap: Any) -> None:
        self.finder = ProviderFinder(self.router, self.dialer, bitswap, limits=self.limits)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.host.on_connected(self._connected)
                for peer in self.host.peers():
                    self._connected(peer)
                if self.provider is not None:
                    await nursery.start(self.provider.run)
                if self.mdns is not None:
                    await nursery.start(self.mdns.run)
                if self.dht is not None:
                    self._dht_seed()
                    nursery.start_soon(self._dht_snapshots)
                task_status.started()
                await trio.sleep_forever()
        finally:
            if self.dht is not None:
                self._dht_snapshot()
            self.peerstore.close()
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                for r in self.router.routers:  # delegated HTTP routers own an HTTP client
                    aclose = getattr(r, "aclose", None)
                    if aclose is not None:
                        await aclose()

    # The DHT's table survives a restart through the peer store (routing/dht/ is the DHT's;
    # these read its table and records through `state.table.peers()` and `_record`).

    def _dht_seed(self) -> int:
        add = getattr(self.dht, "add_peer", None)
        if add is None:
            return 0
        known = self.peerstore.by_source("dht", now=time.time(), limit=self.limits.peerstore_max_peers)
        for peer, addrs in known.items():
            if peer != self.host.peer_id:
                add(peer, addrs, server=True)
        return len(known)

    def _dht_snapshot(self) -> int:
        table = getattr(getattr(self.dht, "state", None), "table", None)
        record = getattr(self.dht, "_record", None)
        if table is None or record is None:
            return 0
        n = 0
        now = time.time()
        try:
            for peer in table.peers():
                rec = record(peer)
                n += bool(self.peerstore.add(peer, rec.addrs, ttl_s=self.limits.peerstore_dht_ttl_s,
                                             now=now, source="dht"))
        except Exception:  # noqa: BLE001 - a snapshot must never take the node down
            logger.warning("routing: could not save the DHT table to the peer store", exc_info=True)
        return n

    async def _dht_snapshots(self) -> None:
        while True:
            await trio.sleep(self.limits.peerstore_dht_snapshot_s)
            self._dht_snapshot()

    def _connected(self, peer: str) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(self._learn, peer)
        if self.provider is not None:
            self.provider.network_changed()

    async def _learn(self, peer: str) -> None:
        """Identify a new peer and keep the addresses it announces (survive a restart)."""
        try:
            info = await self.host.identify(peer)
        except JzfsError as exc:
            logger.debug("routing: identify of %s failed: %s", peer, exc)
            return
        try:
            self.peerstore.add(peer, info.get("Addresses") or [],
                               ttl_s=self.limits.peerstore_identify_ttl_s, now=time.time(),
                               source="identify")
        except sqlite3.Error as exc:  # a cache: never take the node down
            logger.warning("routing: peer store write failed: %s", exc)


async def _build_routers(online: Any, rtype: str, peerstore: PeerStore) -> tuple[list[Router], Router | None]:
    node = online.node
    routers: list[Router] = []
    dht: Router | None = None
    if rtype == "none":
        return routers, None
    peering = parse_peering_config(list(node.settings.peering_peers))
    routers.append(StaticRouter(online.host, peering, peerstore=peerstore))
    if rtype in _DHT_MODES:
        start_dht = _load("jiaozi_node.routing.dht.service", "start_dht")
        dht = await start_dht(online, mode=_DHT_MODES[rtype])
        routers.append(dht)
    if rtype in ("auto", "delegated"):
        urls = delegated_urls(node)
        if urls:
            cls = _load("jiaozi_node.routing.http.client", "DelegatedRouter")
            for url in urls:
                routers.append(cls(url, validators=default_validators(),
                                   limits=node.defaults.delegated_routing))
    return routers, dht


async def start_online(online: Any) -> None:
    """Hook for `node.online()`: compose the routers, start the DHT and the provider."""
    node = online.node
    rtype = routing_type(node)
    peerstore = PeerStore.open(node.repo, limits=node.defaults.routing,
                               busy_timeout_ms=node.defaults.store.sqlite_busy_timeout_ms)
    routers, dht = await _build_routers(online, rtype, peerstore)
    router = ParallelRouter(routers, validators=default_validators(), limits=node.defaults.routing)
    svc = RoutingService(online, router, peerstore, rtype=rtype, dht=dht)
    bitswap = online.services.get("bitswap")
    if bitswap is not None and rtype != "none":
        svc.attach_bitswap(bitswap)
    if rtype != "none":
        svc.provider = _load("jiaozi_node.routing.provider", "make_provider")(online, router)
    from .mdns import MdnsDiscovery, mdns_enabled

    if mdns_enabled(node):
        svc.mdns = MdnsDiscovery(online.host, svc.dialer, peerstore, bitswap=bitswap,
                                 limits=node.defaults.routing)
    online.services["routing"] = svc
    await online.nursery.start(svc.run)
