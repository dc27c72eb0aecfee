"""Several routers as one (like boxo's `routinghelpers.Parallel` and Helia's routing).

    router = ParallelRouter([dht, delegated, static], validators=default_validators())
    async with aclosing(router.find_providers(cid, limit=10)) as provs:
        async for rec in provs:                 # streamed as any router finds them
            ...

Every operation asks all routers at once:

* `find_providers`: records are streamed as they arrive, de-duplicated by peer ID (a peer seen
  again is yielded once more only if it brings addresses where the first sighting had none, so
  the caller can dial it); at most `limit` distinct peers; then every lookup is cancelled.
* `provide` / `put_value`: done by every router that can; succeeds if one did.
* `find_peer`: the first router that knows the peer wins (the others are cancelled); answers
  are merged with the addresses known so far when several arrive together.
* `get_value`: every router's answer is validated (the validator of the key's namespace) and
  the best valid record is selected; invalid answers are dropped and logged.

A router that raises `RoutingUnsupported` or fails (any error, a timeout) counts as "no answer
from this one": it never fails the others. When no router answered, `NotFound` (or
`RoutingUnsupported` when none could do it at all) is raised. Per-router outcomes are counted
in `stats` for `jzfs stats dht`/debugging.

Callers that stop iterating `find_providers` early must close it (`contextlib.aclosing`): the
lookups run in a nursery inside the generator.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import trio

from ..config import ROUTING_LIMITS, RoutingLimits
from ..errors import InvalidInput, JzfsError, NotFound, Timeout
from ..ipld.cid import CID
from .base import PeerRecord, RecordValidator, Router, RoutingUnsupported, key_namespace

logger = logging.getLogger(__name__)


class ParallelRouter:
    name = "parallel"

    def __init__(self, routers: Sequence[Router], *,
                 validators: Mapping[str, RecordValidator] | None = None,
                 limits: RoutingLimits = ROUTING_LIMITS,
                 clock: Callable[[], float] = time.time) -> None:
        self.routers: list[Router] = list(routers)
        self.validators = dict(validators or {})
        self.limits = limits
        self.clock = clock
        self.stats: dict[str, dict[str, int]] = {}

    def add(self, router: Router) -> None:
        self.routers.append(router)

    def _count(self, router: Router, what: str) -> None:
        s = self.stats.setdefault(router.name, {})
        s[what] = s.get(what, 0) + 1

    def _failed(self, router: Router, op: str, exc: BaseException) -> None:
        if isinstance(exc, RoutingUnsupported):
            self._count(router, f"{op}_unsupported")
            return
        if isinstance(exc, NotFound):
            self._count(router, f"{op}_notfound")
            return
        self._count(router, f"{op}_errors")
        level = logging.INFO if isinstance(exc, JzfsError) else logging.WARNING
        logger.log(level, "routing: %s %s failed: %s", router.name, op, exc,
                   exc_info=not isinstance(exc, JzfsError))

    # ------------------------------------------------------------------ providers

    async def find_providers(self, cid: CID, *, limit: int | None = None) -> AsyncIterator[PeerRecord]:
        limit = self.limits.default_num_providers if limit is None else limit
        limit = max(0, min(limit, self.limits.max_num_providers))
        if limit == 0 or not self.routers:
            return
        send, recv = trio.open_memory_channel[PeerRecord](math.inf)
        seen: dict[str, bool] = {}  # peer ID -> yielded with addresses
        async with trio.open_nursery() as nursery:
            nursery.cancel_scope.deadline = trio.current_time() + self.limits.query_timeout_s
            async with send:
                for router in self.routers:
                    nursery.start_soon(self._pump_providers, router, cid, limit, send.clone())
            async with recv:
                async for rec in recv:
                    had_addrs = seen.get(rec.peer_id)
                    if had_addrs is None:
                        if len(seen) >= limit:
                            continue
                        seen[rec.peer_id] = bool(rec.addrs)
                    elif had_addrs or not rec.addrs:
                        continue  # a duplicate that adds nothing the caller can use
                    else:
                        seen[rec.peer_id] = True
                    yield rec
                    if len(seen) >= limit and all(seen.values()):
                        break
            nursery.cancel_scope.cancel()

    async def _pump_providers(self, router: Router, cid: CID, limit: int,
                              send: trio.MemorySendChannel[PeerRecord]) -> None:
        async with send:
            try:
                async for rec in router.find_providers(cid, limit=limit):
                    self._count(router, "providers")
                    await send.send(rec)
            except trio.BrokenResourceError:
                return  # the consumer has enough
            except Exception as exc:  # noqa: BLE001 - one router's failure is not the others'
                self._failed(router, "find_providers", exc)

    async def provide(self, cids: Sequence[CID]) -> None:
        results = await self._all(lambda r: r.provide(cids), "provide")
        self._settle(results, what=f"provide of {len(cids)} CIDs")

    # ------------------------------------------------------------------ peers

    async def find_peer(self, peer_id: str) -> PeerRecord:
        found: list[PeerRecord] = []
        if self.routers:
            async with trio.open_nursery() as nursery:
                nursery.cancel_scope.deadline = trio.current_time() + self.limits.query_timeout_s

                async def ask(router: Router) -> None:
                    try:
                        rec = await router.find_peer(peer_id)
                    except Exception as exc:  # noqa: BLE001
                        self._failed(router, "find_peer", exc)
                        return
                    self._count(router, "find_peer_ok")
                    found.append(rec)
                    if rec.addrs:
                        nursery.cancel_scope.cancel()

                for router in self.routers:
                    nursery.start_soon(ask, router)
        if not found:
            raise NotFound(f"routing: peer {peer_id} not found")
        addrs: list[str] = []
        protocols: list[str] = []
        for rec in found:
            addrs.extend(a for a in rec.addrs if a not in addrs)
            protocols.extend(p for p in rec.protocols if p not in protocols)
        return PeerRecord(peer_id, tuple(addrs), tuple(protocols))

    # ------------------------------------------------------------------ records

    def _validator(self, key: bytes) -> RecordValidator:
        ns = key_namespace(key)
        v = self.validators.get(ns)
        if v is None:
            raise InvalidInput(f"routing records under /{ns}/ are not accepted here")
        return v

    async def get_value(self, key: bytes) -> bytes:
        validator = self._validator(key)
        results = await self._all(lambda r: r.get_value(key), "get_value")
        now = self.clock()
        valid: list[bytes] = []
        for router, outcome in results:
            if isinstance(outcome, BaseException):
                continue
            if not isinstance(outcome, bytes) or len(outcome) > self.limits.max_record_bytes:
                self._count(router, "get_value_invalid")
                continue
            try:
                validator.validate(key, outcome, now=now)
            except InvalidInput as exc:
                self._count(router, "get_value_invalid")
                logger.info("routing: %s returned an invalid record for %r: %s", router.name, key, exc)
                continue
            if outcome not in valid:
                valid.append(outcome)
        if not valid:
            self._settle(results, what=f"record {key!r}")  # raises NotFound / RoutingUnsupported
            raise NotFound(f"routing: no valid record for {key!r}")
        return valid[validator.select(key, valid, now=now)] if len(valid) > 1 else valid[0]

    async def put_value(self, key: bytes, value: bytes) -> None:
        if len(value) > self.limits.max_record_bytes:
            raise InvalidInput(f"record of {len(value)} bytes is over the "
                               f"{self.limits.max_record_bytes}-byte limit")
        self._validator(key).validate(key, value, now=self.clock())
        results = await self._all(lambda r: r.put_value(key, value), "put_value")
        self._settle(results, what=f"put of {key!r}")

    # ------------------------------------------------------------------ helpers

    async def _all(self, call: Callable[[Router], Any], op: str) -> list[tuple[Router, Any]]:
        """Run `call(router)` on every router at once; (router, result or exception) each."""
        out: list[tuple[Router, Any]] = []

        async def one(router: Router) -> None:
            try:
                res = await call(router)
            except Exception as exc:  # noqa: BLE001
                self._failed(router, op, exc)
                out.append((router, exc))
                return
            self._count(router, f"{op}_ok")
            out.append((router, res))

        with trio.move_on_after(self.limits.query_timeout_s):
            async with trio.open_nursery() as nursery:
                for router in self.routers:
                    nursery.start_soon(one, router)
        return out

    def _settle(self, results: list[tuple[Router, Any]], *, what: str) -> None:
        """Return if any router succeeded; else raise what best explains the failure."""
        errors = [r for _, r in results if isinstance(r, BaseException)]
        if len(errors) < len(results):
            return
        if not self.routers:
            raise RoutingUnsupported(f"routing: no router to do {what} (Routing.Type is none?)")
        if len(results) < len(self.routers):  # some router was still at it when time ran out
            raise Timeout(f"routing: {what}: no answer within {self.limits.query_timeout_s:g}s")
        if all(isinstance(e, RoutingUnsupported) for e in errors):
            raise RoutingUnsupported(f"routing: no configured router can do {what}")
        real = [e for e in errors if not isinstance(e, RoutingUnsupported)]
        if all(isinstance(e, NotFound) for e in real):
            raise NotFound(f"routing: {what}: not found")
        first = next(e for e in real if not isinstance(e, NotFound))
        if isinstance(first, JzfsError):
            raise first
        raise JzfsError(f"routing: {what} failed: {first}") from first
