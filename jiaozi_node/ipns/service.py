"""IPNS in the node: publish, resolve, republish (listed in node/online.SERVICE_MODULES).

    svc = online.services["ipns"]                      # daemon: routing = online.services["routing"]
    name, value = await svc.publish("/ipfs/bafy…", key="self")
    await svc.resolve("/ipns/k51…/a")                  # -> "/ipfs/…/a"

    with IpnsService.offline(node) as svc: …           # no daemon: cache, own records, Gateway.Fetch
                                                       # (IPIP-351) and DNSLink; no routers

Publishing signs and stores the record locally (sequence numbers persist in `ipns.db`), then
hands it to the composed router's `put_value` (DHT PUT to the k closest peers + every delegated
router's `PUT /routing/v1/ipns`). Without any router that accepted it, publishing fails unless
`allow_offline` (Kubo's `--allow-offline`: the record is kept and republished later).

The republisher (Kubo's `Ipns.RepublishPeriod`, default 4 h; `Ipns.RecordLifetime` default 48 h)
re-signs every record we published with a fresh EOL — same value, same sequence — and puts it
again, first `republish_initial_delay_s` after start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import trio

from ..config import IpnsLimits
from ..errors import InvalidInput, JzfsError, NotFound
from .dns import DnsClient
from .keystore import Keystore
from .name import IpnsName
from .publisher import make_record, parse_duration
from .resolver import Resolver
from .store import IpnsStore

if TYPE_CHECKING:
    from ..node.online import OnlineNode

log = logging.getLogger(__name__)


def limits_from_config(node: Any) -> IpnsLimits:
    """node.defaults.ipns with Kubo's config keys applied (`Ipns.RepublishPeriod`,
    `Ipns.RecordLifetime`, `Ipns.ResolveCacheSize`)."""
    limits: IpnsLimits = node.defaults.ipns
    conf = node.settings.ipns
    changes: dict[str, Any] = {}
    for v, attr in ((conf.republish_period, "republish_period_s"),
                    (conf.record_lifetime, "record_lifetime_s")):
        if v:
            changes[attr] = parse_duration(v)
    if conf.resolve_cache_size:
        changes["cache_entries"] = conf.resolve_cache_size
    return replace(limits, **changes) if changes else limits


class IpnsService:
    name = "ipns"

    def __init__(self, node: Any, *, router: Callable[[], Any] | None = None,
                 gateways: list[str] | None = None, clock: Callable[[], float] = time.time) -> None:
        from ..gateway.client import configured_gateways

        self.node = node
        self.limits = limits_from_config(node)
        self.keystore = Keystore.for_repo(node.repo)
        self.store = IpnsStore.for_repo(node.repo, busy_timeout_ms=node.defaults.store.sqlite_busy_timeout_ms)
        self.clock = clock
        self._router = router or (lambda: None)
        self.resolver = Resolver(
            store=self.store, router=self._router,
            gateways=configured_gateways(node, None) if gateways is None else gateways,
            dns=DnsClient.from_config(node.repo, limits=self.limits), limits=self.limits,
            clock=clock)
        self.republished = 0

    @classmethod
    def offline(cls, node: Any, **kw: Any) -> IpnsService:
        """Without a daemon: no libp2p host, so no DHT; the delegated routers of config
        `Routing.DelegatedRouters` are plain HTTP and are asked when their client is built."""
        if "router" not in kw:
            router = _delegated_only(node)
            kw["router"] = lambda: router
        return cls(node, **kw)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> IpnsService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- publish

    async def publish(self, value: str, *, key: str = "self", lifetime_s: float | None = None,
                      ttl_s: float | None = None, v2_only: bool = False,
                      allow_offline: bool = False) -> tuple[IpnsName, str]:
        name, rec = make_record(
            self.keystore, self.store, key, value,
            lifetime_s=self.limits.record_lifetime_s if lifetime_s is None else lifetime_s,
            ttl_s=self.limits.record_ttl_s if ttl_s is None else ttl_s,
            v2_only=v2_only, now=self.clock())
        await self._put(name, rec.raw, allow_offline=allow_offline)
        return name, rec.value_text

    async def _put(self, name: IpnsName, raw: bytes, *, allow_offline: bool) -> None:
        router = self._router()
        if router is None:
            if allow_offline:
                return
            raise InvalidInput("cannot publish: the node is offline and has no router (run "
                               "`jzfs daemon`, or pass --allow-offline to only store the record)")
        try:
            await router.put_value(name.routing_key, raw)
        except JzfsError as exc:
            if allow_offline:
                log.info("ipns: publish of %s kept locally: %s", name, exc)
                return
            raise NotFound(f"record for {name} stored locally, but no router accepted it: {exc} "
                           "(--allow-offline to accept that)") from None

    def keep_record(self, name: IpnsName, raw: bytes) -> bool:
        """`routing put --allow-offline` without a daemon (Kubo keeps the record in its local
        datastore): validate the record and keep it in the resolve cache, where `name resolve`
        and the daemon find it, unless the cached one is better. True when it was kept."""
        from .record import better, validate_record

        now = self.clock()
        rec = validate_record(name, raw, now=now)
        old = self.store.cached(name)
        if old is not None:
            try:
                if not better(rec, validate_record(name, old[0], now=now)):
                    return False
            except JzfsError:
                pass  # the cached one is no longer valid: replace it
        self.store.put_cache(name, rec, now=now, source="routing put",
                             max_entries=self.limits.cache_entries)
        return True

    # ---------------------------------------------------------------- resolve

    async def resolve(self, path: str, *, recursive: bool = True, nocache: bool = False) -> str:
        return await self.resolver.resolve(path, recursive=recursive, nocache=nocache)

    # ---------------------------------------------------------------- republish

    async def republish_all(self) -> int:
        """Re-sign (fresh EOL, same value and sequence) and put every record we published."""
        n = 0
        for pub in list(self.store.all_published()):
            if not self.keystore.has(pub.key_name):
                continue
            try:
                name, rec = make_record(self.keystore, self.store, pub.key_name,
                                        _value_of(pub.record), lifetime_s=pub.lifetime_s,
                                        ttl_s=pub.ttl_s, v2_only=pub.v2_only, now=self.clock())
                if name != pub.name:
                    continue
                await self._put(name, rec.raw, allow_offline=False)
                n += 1
            except JzfsError as exc:
                log.warning("ipns: republishing %s failed: %s", pub.name, exc)
        self.republished += n
        return n

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        # Kubo waits 1 min before the first pass; a shorter configured period comes first
        await trio.sleep(min(self.limits.republish_initial_delay_s, self.limits.republish_period_s))
        while True:
            await self.republish_all()
            await trio.sleep(self.limits.republish_period_s)


def _delegated_only(node: Any) -> Any:
    try:
        from ..routing.http.client import DelegatedRouter
        from ..routing.parallel import ParallelRouter
        from ..routing.service import delegated_urls, routing_type
        from ..routing.validators import default_validators
    except ImportError:
        return None
    if routing_type(node) not in ("auto", "delegated"):
        return None
    urls = delegated_urls(node)
    if not urls:
        return None
    validators = default_validators()
    return ParallelRouter([DelegatedRouter(u, validators=validators, limits=node.defaults.delegated_routing)
                           for u in urls],
                          validators=validators, limits=node.defaults.routing)


def _value_of(raw: bytes) -> str:
    from .record import IpnsEntry, parse_data

    entry = IpnsEntry.decode(raw)
    return parse_data(entry.data or b"")[0].decode()


def _composed_router(online: OnlineNode) -> Any:
    """The composed router (routing/service.py's RoutingService.router), or None."""
    svc = online.services.get("routing")
    return getattr(svc, "router", None)


async def start_online(online: OnlineNode) -> None:
    svc = IpnsService(online.node, router=lambda: _composed_router(online))
    online.services["ipns"] = svc
    composed = _composed_router(online)
    if composed is not None and hasattr(composed, "add"):
        from .router import LocalIpnsRouter

        composed.add(LocalIpnsRouter(svc.store, clock=svc.clock))  # our records in its answers
    await online.nursery.start(svc.run)
