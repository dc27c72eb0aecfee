"""`/routing/v1` on the gateway address: the Delegated Routing V1 HTTP API, served by the daemon.

    api = routing_api_for(online)        # router_for(online), validators_for(online)
    GatewayApp(..., routing=api)         # GatewayApp hands every /routing/v1 request to `api`

Answers come from the node's composed router (looked up per request, so a router that starts
after the gateway is used as soon as it exists) and from what the node knows itself: a CID in
the local store lists this node as a provider (Kubo lists itself once it provided it; we hold
it and serve it over Bitswap, so we say so), `/peers/<our ID>` and connected peers are answered
from the host.

* `GET /routing/v1/providers/{cid}`, `GET /routing/v1/peers/{peer-id}`: JSON (at most 100
  records, the spec's SHOULD) or, when asked with `Accept: application/x-ndjson`, NDJSON streamed
  as records are found (the status line waits for the first one, so an early failure can still
  be a 500). IPIP-484 filters apply. No results is 200 with `{"Providers": []}` / an empty
  stream (IPIP-0513). Lookups end after `server_lookup_timeout_s` with what was found.
* `GET /routing/v1/ipns/{name}` (Accept must name `application/vnd.ipfs.ipns-record`, else
  406): the record from the router (validated by it, as the routing contract says); no record is
  200 `text/plain` (IPIP-0513).
* `PUT /routing/v1/ipns/{name}`: `Content-Type: application/vnd.ipfs.ipns-record` (else 406),
  at most 10 KiB, validated with the node's IPNS validator before it is handed to the router
  (400 when invalid); while the node has no IPNS validator the PUT is refused with 501 and the
  reason.
* At most `server_max_concurrent_lookups` lookups at once; more get 429 + Retry-After.
* Bad CIDs / peer IDs / unknown paths: 400. Other methods: 501. CORS on every answer, OPTIONS
  preflight answered (spec: `Access-Control-Allow-Origin: *`, methods GET, PUT, OPTIONS).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import Any, Protocol

import trio

from ...config import DELEGATED_ROUTING_LIMITS, DelegatedRoutingLimits
from ...errors import InvalidInput, LimitExceeded, NotFound
from ...gateway.asgi import ClientGone, Receive, Request, Response, cancel_on_disconnect
from ...gateway.http_common import HttpError
from ...ipld.cid import CID
from ..base import PeerRecord, RecordValidator, Router, RoutingUnsupported
from . import filters as flt
from . import paths
from .records import (
    BITSWAP_PROTOCOL,
    IPNS_RECORD_MEDIA,
    NDJSON_MEDIA,
    encode_json_answer,
    encode_ndjson_record,
    ipns_key,
    media_type,
    peer_id_str,
)

log = logging.getLogger(__name__)

CORS = [("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", "GET, PUT, OPTIONS"),
        ("Access-Control-Allow-Headers", "Content-Type, Accept, User-Agent, X-Requested-With"),
        ("Access-Control-Expose-Headers", "Content-Type, Etag, Cache-Control, Last-Modified")]
# Amino DHT provider records live 48 h: the spec's stale-while-revalidate for routing answers.
MAX_TTL_S = 48 * 3600
NO_IPNS_VALIDATOR = ("IPNS records cannot be validated on this node yet (no IPNS validator): "
                     "PUT refused")


class LocalRouting(Protocol):
    """What the node itself knows (see NodeLocal)."""

    def self_record(self) -> PeerRecord: ...

    def has_block(self, cid: CID) -> bool: ...

    def known_peer(self, peer_id: str) -> PeerRecord | None: ...


class NodeLocal:
    """LocalRouting over an OnlineNode (host addresses, local blockstore)."""

    def __init__(self, online: Any) -> None:
        self.online = online

    def self_record(self) -> PeerRecord:
        host = self.online.host
        return PeerRecord(host.peer_id, tuple(host.listen_addrs()), (BITSWAP_PROTOCOL,))

    def has_block(self, cid: CID) -> bool:
        return bool(self.online.node.blocks.has(cid))

    def known_peer(self, peer_id: str) -> PeerRecord | None:
        host = self.online.host
        if not host.is_connected(peer_id):
            return None
        addrs = tuple(a.split("/p2p/")[0] for a in host.known_addrs(peer_id))
        return PeerRecord(peer_id, tuple(a for a in addrs if a))


def router_for(online: Any) -> Router | None:
    """The node's composed router: `online.services["routing"]` (a RoutingService holding it
    as `.router`, or a Router itself); None while routing is off or not started."""
    svc = online.services.get("routing")
    return getattr(svc, "router", svc)


def validators_for(online: Any) -> Mapping[str, RecordValidator]:
    """The node's record validators: the composed router's, else routing/validators.py
    default_validators() (the one IPNS validation every path uses)."""
    found = getattr(router_for(online), "validators", None)
    if not found:
        from ..validators import default_validators

        found = default_validators()
    return found


def _http_date(now: float) -> str:
    return email.utils.formatdate(now, usegmt=True)


class RoutingApi:
    """The /routing/v1 handler (see module docstring)."""

    def __init__(self, *, router: Callable[[], Router | None],
                 local: LocalRouting | None = None,
                 validators: Callable[[], Mapping[str, RecordValidator]] | None = None,
                 limits: DelegatedRoutingLimits = DELEGATED_ROUTING_LIMITS,
                 clock: Callable[[], float] = time.time) -> None:
        self._router = router
        self.local = local
        self._validators = validators or (lambda: {})
        self.limits = limits
        self._clock = clock
        self._lookups = trio.CapacityLimiter(limits.server_max_concurrent_lookups)

    async def __call__(self, req: Request, resp: Response, receive: Receive) -> None:
        """Answer one request; owns reading `receive` (disconnects cancel the lookup)."""
        async with trio.open_nursery() as nursery:
            after = req.body_finished if req.method == "PUT" else None
            nursery.start_soon(cancel_on_disconnect, receive, nursery.cancel_scope, after)
            try:
                await self._dispatch(req, resp)
            except ClientGone:
                log.info("routing api: client went away during %s", req.path)
            except HttpError as exc:
                await self._error(resp, exc.status, str(exc))
            except Exception as exc:
                if resp.started:
                    log.warning("routing api: aborting %s mid-stream: %s", req.path, exc)
                    raise
                log.exception("routing api: internal error on %s", req.path)
                await self._error(resp, 500, f"routing error: {exc}")
            nursery.cancel_scope.cancel()

    async def _error(self, resp: Response, status: int, message: str) -> None:
        if resp.started:
            return
        await resp.text(status, message[:1024], [*CORS, ("Cache-Control", "no-store")])

    async def _dispatch(self, req: Request, resp: Response) -> None:
        if req.method == "OPTIONS":
            await resp.full(200, [*CORS, ("Access-Control-Max-Age", "86400"),
                                  ("Allow", "GET, PUT, OPTIONS")], b"")
            return
        rr = paths.parse_request(req.path, req.query, max_filter_names=self.limits.max_filter_names)
        if req.method not in ("GET", "HEAD", "PUT"):
            raise HttpError(501, f"{req.method} {paths.PREFIX}/{rr.kind} is not supported")
        try:
            self._lookups.acquire_nowait()
        except trio.WouldBlock:
            await resp.text(429, "too many routing lookups at once: retry later",
                            [*CORS, ("Retry-After", str(self.limits.server_retry_after_s))])
            return
        try:
            await self._lookup(req, resp, rr)
        finally:
            self._lookups.release()

    async def _lookup(self, req: Request, resp: Response, rr: paths.RoutingRequest) -> None:
        if req.method in ("GET", "HEAD"):
            if rr.kind == "providers":
                await self._providers(req, resp, rr)
            elif rr.kind == "peers":
                await self._peers(req, resp, rr)
            else:
                await self._get_ipns(req, resp, rr)
            return
        if req.method == "PUT" and rr.kind == "ipns":
            await self._put_ipns(req, resp, rr)
            return
        raise HttpError(501, f"{req.method} {paths.PREFIX}/{rr.kind} is not supported")

    # ------------------------------------------------------------------ providers / peers

    def _headers(self, ctype: str, found: bool) -> list[tuple[str, str]]:
        age = self.limits.server_max_age_found_s if found else self.limits.server_max_age_empty_s
        cache = (f"public, max-age={age}, stale-while-revalidate={MAX_TTL_S}, "
                 f"stale-if-error={MAX_TTL_S}")
        return [("Content-Type", ctype), ("Vary", "Accept"), ("Cache-Control", cache),
                ("Last-Modified", _http_date(self._clock())), *CORS]

    async def _answer(self, req: Request, resp: Response, field: str,
                      records: AsyncIterator[PeerRecord], filters: flt.Filters) -> None:
        """Send filtered, de-duplicated records as JSON or NDJSON (see module docstring)."""
        ctype = paths.negotiate_records(req.headers.get("accept"))
        stream = ctype == NDJSON_MEDIA
        cap = self.limits.server_ndjson_records if stream else self.limits.server_json_records
        seen: set[str] = set()
        out: list[PeerRecord] = []
        with trio.move_on_after(self.limits.server_lookup_timeout_s):
            async with aclosing(records) as it:
                async for rec in it:
                    kept = flt.apply(rec, filters)
                    if kept is None or kept.peer_id in seen:
                        continue
                    seen.add(kept.peer_id)
                    if stream:
                        if not resp.started:
                            await resp.start(200, self._headers(ctype, True))
                        await resp.chunk(encode_ndjson_record(kept))
                    else:
                        out.append(kept)
                    if len(seen) >= cap:
                        break
        if stream:
            if not resp.started:
                await resp.full(200, self._headers(ctype, False), b"")
            else:
                await resp.end()
            return
        await resp.full(200, self._headers(ctype, bool(out)), encode_json_answer(field, out))

    async def _providers(self, req: Request, resp: Response, rr: paths.RoutingRequest) -> None:
        assert rr.cid is not None
        cid = rr.cid
        cap = max(self.limits.server_json_records, self.limits.server_ndjson_records)

        async def records() -> AsyncIterator[PeerRecord]:
            found = 0
            if self.local is not None and self.local.has_block(cid):
                found += 1
                yield self.local.self_record()
            router = self._router()
            if router is None:
                return
            try:
                async with aclosing(router.find_providers(cid, limit=cap)) as it:
                    async for rec in it:
                        found += 1
                        yield rec
            except RoutingUnsupported:
                return
            except Exception as exc:
                if not found:
                    raise
                log.info("routing api: provider lookup for %s ended early: %s", cid, exc)

        await self._answer(req, resp, "Providers", records(), rr.filters)

    async def _peers(self, req: Request, resp: Response, rr: paths.RoutingRequest) -> None:
        pid = peer_id_str(rr.peer_mh)

        async def records() -> AsyncIterator[PeerRecord]:
            found: list[PeerRecord] = []
            if self.local is not None:
                me = self.local.self_record()
                if me.peer_id == pid:
                    found.append(me)
                else:
                    known = self.local.known_peer(pid)
                    if known is not None:
                        found.append(known)
            router = self._router()
            if router is not None and not found:
                try:
                    found.append(await router.find_peer(pid))
                except (NotFound, RoutingUnsupported):
                    pass
            for rec in found:
                if rec.peer_id == pid:
                    yield rec

        await self._answer(req, resp, "Peers", records(), rr.filters)

    # ------------------------------------------------------------------ IPNS

    async def _get_ipns(self, req: Request, resp: Response, rr: paths.RoutingRequest) -> None:
        if not paths.accepts_ipns_record(req.headers.get("accept")):
            raise HttpError(406, f"not acceptable: retry with Accept: {IPNS_RECORD_MEDIA}")
        key = ipns_key(rr.peer_mh)
        router = self._router()
        record: bytes | None = None
        if router is not None:
            with trio.move_on_after(self.limits.server_lookup_timeout_s):
                try:
                    record = await router.get_value(key)
                except (NotFound, RoutingUnsupported):
                    record = None
        cache = self._ipns_cache_headers(key, record) if record is not None else None
        if record is None or cache is None:
            headers = [h for h in self._headers("", False) if h[0] != "Content-Type"]
            await resp.text(200, "no IPNS record found for this name", headers)
            return
        headers = [("Content-Type", IPNS_RECORD_MEDIA), ("Vary", "Accept"),
                   ("Etag", f'"{hashlib.sha256(record).hexdigest()[:32]}"'), *cache,
                   ("Last-Modified", _http_date(self._clock())), *CORS]
        await resp.full(200, headers, record)

    def _ipns_cache_headers(self, key: bytes, record: bytes) -> list[tuple[str, str]] | None:
        """Cache-Control / Expires from the record (spec: max-age = its TTL, else 60 s;
        stale-while-revalidate / stale-if-error = what is left of its validity). None when the
        record does not validate now: never served (the router should not have returned it)."""
        from ...ipns.name import IpnsName
        from ...ipns.record import NS, validate_record

        now = self._clock()
        try:
            rec = validate_record(IpnsName.from_routing_key(key), record, now=now)
        except InvalidInput as exc:
            log.warning("routing api: the router returned an invalid IPNS record: %s", exc)
            return None
        ttl = rec.ttl_ns // NS if rec.ttl_ns > 0 else self.limits.server_ipns_default_max_age_s
        left = max(0, int(rec.expires_in(now)))
        ttl = min(ttl, left)
        return [("Cache-Control", f"public, max-age={ttl}, stale-while-revalidate={left}, "
                                  f"stale-if-error={left}"),
                ("Expires", _http_date(rec.validity_ns / NS))]

    async def _put_ipns(self, req: Request, resp: Response, rr: paths.RoutingRequest) -> None:
        if media_type(req.headers.get("content-type")) != IPNS_RECORD_MEDIA:
            raise HttpError(406, f"not acceptable: send the record with Content-Type: "
                                 f"{IPNS_RECORD_MEDIA}")
        key = ipns_key(rr.peer_mh)
        validator = self._validators().get("ipns")
        if validator is None:
            raise HttpError(501, NO_IPNS_VALIDATOR)
        try:
            body = await req.body(self.limits.max_ipns_record_bytes)
        except LimitExceeded:
            raise HttpError(400, f"IPNS record over the {self.limits.max_ipns_record_bytes} "
                                 "byte limit") from None
        try:
            validator.validate(key, body, now=self._clock())
        except InvalidInput as exc:
            raise HttpError(400, f"invalid IPNS record: {exc}") from None
        router = self._router()
        if router is None:
            raise HttpError(501, "this node has no router to publish IPNS records with")
        try:
            with trio.fail_after(self.limits.server_lookup_timeout_s):
                await router.put_value(key, body)
        except RoutingUnsupported as exc:
            raise HttpError(501, f"IPNS publishing is not supported here: {exc}") from None
        except InvalidInput as exc:
            raise HttpError(400, f"invalid IPNS record: {exc}") from None
        except trio.TooSlowError:
            raise HttpError(504, "publishing the IPNS record timed out") from None
        await resp.full(200, list(CORS), b"")


def routing_api_for(online: Any, limits: DelegatedRoutingLimits = DELEGATED_ROUTING_LIMITS) -> RoutingApi:
    """The RoutingApi of a running node (used by api/service.py when it starts the gateway)."""
    return RoutingApi(router=lambda: router_for(online), local=NodeLocal(online),
                      validators=lambda: validators_for(online), limits=limits)
