"""Resolving `/ipns/` paths (trio adapter): cache, our own records, routers, gateways, DNSLink.

    resolver = Resolver(store=..., router=lambda: online.services.get("routing"),
                        gateways=["http://127.0.0.1:8080"], dns=DnsClient(...))
    await resolver.resolve("/ipns/k51…/a/b")            # -> "/ipfs/bafy…/a/b"
    await resolver.resolve_record(IpnsName.parse(…))    # -> IpnsRecord (validated)

A record is looked up in the resolve cache first (while its TTL runs, never past its EOL; not
with `nocache`), else asked of every source at once: our own published record, the composed
router's `get_value` (DHT + delegated routers), and each trustless gateway's
`?format=ipns-record` (IPIP-351). EVERY candidate goes through `record.validate_record` — the one
check, whoever served it — and invalid ones are logged with their reason and dropped (never
cached, never used). Once one valid record is in, the others get `resolve_settle_s` more to bring
a better one (higher sequence, or same sequence with a later EOL); the best is cached.

Names may point at names (`/ipns/…`) or DNSLink domains: followed up to `max_resolve_depth`
hops; a loop or a longer chain is a clear error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import trio

from ..config import IPNS_LIMITS, IpnsLimits
from ..errors import InvalidInput, JzfsError, NotFound, Timeout
from . import dnslink
from .name import IpnsName
from .record import InvalidRecord, IpnsRecord, better, validate_record
from .store import IpnsStore

log = logging.getLogger(__name__)


def split_path(path: str) -> tuple[str, str, str]:
    """`/ipns/NAME/a/b` -> ("ipns", "NAME", "/a/b"); a bare `NAME[/rest]` is an /ipns/ path;
    `/ipfs/CID/…` -> ("ipfs", "CID", rest)."""
    p = path.strip()
    if p.startswith("ipns://"):
        p = "/ipns/" + p[len("ipns://"):]
    elif p.startswith("ipfs://"):
        p = "/ipfs/" + p[len("ipfs://"):]
    if not p.startswith("/"):
        p = "/ipns/" + p
    parts = p.split("/", 3)
    if len(parts) < 3 or parts[1] not in ("ipfs", "ipns") or not parts[2]:
        raise InvalidInput(f"invalid path {path[:200]!r} (expected /ipns/NAME[/path] or /ipfs/CID[/path])")
    rest = "/" + parts[3] if len(parts) > 3 and parts[3] else ""
    return parts[1], parts[2], rest


def join(value: str, rest: str) -> str:
    return value.rstrip("/") + rest if rest else value


class Resolver:
    def __init__(self, *, store: IpnsStore, router: Callable[[], Any] | None = None,
                 gateways: Sequence[str] = (), dns: Any = None, limits: IpnsLimits = IPNS_LIMITS,
                 clock: Callable[[], float] = time.time, http: Any = None) -> None:
        self.store = store
        self._router = router or (lambda: None)
        self.gateways = list(gateways)
        self.dns = dns
        self.limits = limits
        self.clock = clock
        self._http = http
        self.rejected: list[tuple[str, str]] = []  # (source, reason) of the last rejections

    # ---------------------------------------------------------------- paths

    async def resolve(self, path: str, *, recursive: bool = True, nocache: bool = False) -> str:
        """The path `path` points at: `/ipfs/CID/rest` (or, with recursive=False, the first
        hop's value + rest)."""
        ns, head, rest = split_path(path)
        seen: list[str] = []
        for _ in range(self.limits.max_resolve_depth):
            if ns == "ipfs":
                return f"/ipfs/{head}{rest}"
            if head in seen:
                raise InvalidInput(f"IPNS/DNSLink loop: {' -> '.join([*seen, head])}")
            seen.append(head)
            value = await self.resolve_one(head, nocache=nocache)
            target = join(value, rest)
            if not recursive:
                return target
            ns, head, rest = split_path(target)
        raise InvalidInput(f"resolution of {path} went past {self.limits.max_resolve_depth} hops "
                           "(config IpnsLimits.max_resolve_depth)")

    async def resolve_one(self, head: str, *, nocache: bool = False) -> str:
        """One hop: an IPNS name's record value, or a domain's DNSLink."""
        try:
            name = IpnsName.parse(head)
        except InvalidInput:
            if not dnslink.is_domain(head):
                raise InvalidInput(f"{head!r} is neither an IPNS name nor a DNSLink domain") from None
            if self.dns is None:
                raise NotFound(f"cannot resolve DNSLink {head}: no DNS resolver configured "
                               "(config DNS.Resolvers)") from None
            return str(await self.dns.dnslink(head))
        rec = await self.resolve_record(name, nocache=nocache)
        value = rec.value.decode("utf-8", "replace")
        if not value.startswith("/"):
            value = "/ipfs/" + value  # very old records held a bare CID
        return value

    # ---------------------------------------------------------------- records

    def _check(self, name: IpnsName, raw: bytes, source: str, now: float) -> IpnsRecord | None:
        try:
            return validate_record(name, raw, now=now, max_bytes=self.limits.max_record_bytes)
        except InvalidRecord as exc:
            log.warning("ipns: rejected a record for %s from %s: %s", name, source, exc)
            self.rejected = [*self.rejected[-31:], (source, str(exc))]
            return None

    def cached(self, name: IpnsName) -> IpnsRecord | None:
        """A still-fresh, still-valid cached or own record, without asking anyone."""
        now = self.clock()
        hit = self.store.cached(name)
        if hit is not None and hit[1] > now:
            rec = self._check(name, hit[0], f"cache ({hit[2]})", now)
            if rec is not None:
                return rec
            self.store.drop_cache(name)
        return None

    async def resolve_record(self, name: IpnsName, *, nocache: bool = False) -> IpnsRecord:
        if not nocache:
            rec = self.cached(name)
            if rec is not None:
                return rec
        now = self.clock()
        found: list[tuple[IpnsRecord, str]] = []
        errors: list[str] = []
        own = self.store.published(name)
        if own is not None:
            rec = self._check(name, own.record, "local publish", now)
            if rec is not None:
                found.append((rec, "local"))
        stale = self.store.cached(name)
        if stale is not None:
            rec = self._check(name, stale[0], "cache", now)
            if rec is not None:
                found.append((rec, stale[2]))

        settle = trio.Event()
        if found and found[0][1] == "local":
            settle.set()  # our own record: the others only get the settle window to beat it
        pending = [0]

        async def ask_one(source: str, fetch: Callable[[], Any]) -> None:
            try:
                raw = await fetch()
            except (JzfsError, OSError, ValueError) as exc:
                errors.append(f"{source}: {exc}")
                return
            except Exception as exc:  # a router bug must not fail resolution from the others
                log.warning("ipns: %s failed: %r", source, exc)
                errors.append(f"{source}: {exc!r}")
                return
            rec = self._check(name, raw, source, self.clock())
            if rec is None:
                errors.append(f"{source}: invalid record")
                return
            found.append((rec, source))
            settle.set()

        async def ask(source: str, fetch: Callable[[], Any], scope: trio.CancelScope) -> None:
            try:
                await ask_one(source, fetch)
            finally:
                pending[0] -= 1
                if pending[0] == 0:
                    scope.cancel()  # every source answered: no need to wait for the settle timer

        router = self._router()
        sources: list[tuple[str, Callable[[], Any]]] = []
        if router is not None:
            sources.append(("routing", lambda: router.get_value(name.routing_key)))
        http = None
        if self.gateways:
            import httpx

            from ..gateway.client import fetch_ipns_record

            http = self._http or httpx.AsyncClient(timeout=self.limits.resolve_timeout_s)
            for gw in self.gateways:
                sources.append((f"gateway {gw}", lambda gw=gw: fetch_ipns_record(
                    http, gw, str(name), max_bytes=self.limits.max_record_bytes)))
        try:
            if sources:
                pending[0] = len(sources)
                with trio.move_on_after(self.limits.resolve_timeout_s):
                    async with trio.open_nursery() as nursery:
                        for source, fetch in sources:
                            nursery.start_soon(ask, source, fetch, nursery.cancel_scope)

                        async def settle_then_stop() -> None:
                            await settle.wait()
                            await trio.sleep(self.limits.resolve_settle_s)
                            nursery.cancel_scope.cancel()

                        nursery.start_soon(settle_then_stop)
        finally:
            if http is not None and self._http is None:
                await http.aclose()
        if not found:
            if not sources and not errors:
                raise NotFound(f"no record for /ipns/{name}: not in the cache and no routers or "
                               "gateways to ask (start the daemon, or configure Gateway.Fetch)")
            if not errors:
                raise Timeout(f"no record for /ipns/{name} within {self.limits.resolve_timeout_s:g} s")
            raise NotFound(f"could not resolve /ipns/{name}: {'; '.join(errors[:4])}")
        best, source = found[0]
        for rec, src in found[1:]:
            if better(rec, best):
                best, source = rec, src
        if source != "local":
            self.store.put_cache(name, best, now=self.clock(), source=source,
                                 max_entries=self.limits.cache_entries)
        return best
