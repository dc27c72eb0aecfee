"""The DHT on the network: the thin trio adapter over `Libp2pHost` and the pure cores.

    dht = DhtRouter(host, mode="server", protocol="/ipfs/kad/1.0.0")
    await nursery.start(dht.run)             # serves the protocol (server mode), refreshes the table
    await dht.bootstrap(["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…"])
    async with aclosing(dht.find_providers(cid, limit=5)) as found:
        async for rec in found: ...          # PeerRecord, streamed as answers arrive

`DhtRouter` is a `Router` (routing/base.py). Modes: `server` answers queries (registers the
protocol, so peers add us to their tables), `client` only asks; `auto` = server here (a jzfs
node always listens; Kubo's auto picks client behind NAT, which we cannot tell on loopback).

Wire behaviour: one request per outbound stream (write, read one answer, close), as js kad-dht
does; inbound streams are read request after request until the peer closes them or stays idle
(go reuses streams). ADD_PROVIDER has no answer; a bulk announce writes thousands of them on
one stream. Malformed input resets the stream and counts against the peer; past
`max_bad_messages` the peer leaves the table and is disconnected — others are served on.

Wire I/O is `transport.DhtTransport`; announcing many keys is `announce`.

Tasks: `run()` owns a nursery with the handlers' bookkeeping, the refresh loop, the
identify-on-connect tasks and the lookups behind `find_providers` (each cancelled when its
iterator is closed).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import trio

from ...config import DHT_LIMITS, DHT_PROTOCOL_LAN, DHT_PROTOCOL_WAN, DhtLimits
from ...errors import (
    InvalidInput,
    JzfsError,
    NetworkError,
    NotFound,
)
from ..base import PeerRecord, RecordValidator
from . import addrs as maddr
from . import announce
from . import message as m
from .keys import kad_id, peer_bytes, peer_str, refresh_key
from .lookup import Lookup
from .server import DhtState
from .transport import DhtTransport

if TYPE_CHECKING:
    from ...net.host import Host

logger = logging.getLogger(__name__)

MODES = ("auto", "client", "server")
PROTOCOL_ALIASES = {"wan": DHT_PROTOCOL_WAN, "lan": DHT_PROTOCOL_LAN}


@dataclass(frozen=True)
class LookupInfo:
    """One finished lookup (for `stats dht`, tests and the benchmark)."""

    kind: str
    queries: int
    hops: int
    seconds: float
    found: int


def multihash_of(cid: Any) -> bytes:
    """Provider records are keyed by the CID's multihash (a CIDv0 and its CIDv1 share them)."""
    mh = getattr(cid, "multihash", None)
    if isinstance(mh, bytes):
        return mh
    from ...ipld.cid import CID

    return CID.parse(cid).multihash


def protocol_id(value: str | None) -> str:
    """`wan`/`lan` or a full protocol ID (a private network's own prefix)."""
    proto = PROTOCOL_ALIASES.get(value or "wan", value or DHT_PROTOCOL_WAN)
    if not proto.startswith("/") or " " in proto or len(proto) > 100:
        raise InvalidInput(f"invalid DHT protocol ID {value!r}")
    return proto


class DhtRouter:
    name = "dht"

    def __init__(self, host: Host, *, mode: str = "auto", protocol: str = DHT_PROTOCOL_WAN,
                 limits: DhtLimits = DHT_LIMITS,
                 validators: Mapping[str, RecordValidator] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if mode not in MODES:
            raise InvalidInput(f"DHT mode {mode!r} is not one of {', '.join(MODES)}")
        self.host = host
        self.mode = "server" if mode == "auto" else mode
        self.protocol = protocol_id(protocol)
        self.limits = limits
        self.clock = clock
        self.peer_id: str = host.peer_id
        self.state = DhtState(self.peer_id, limits=limits, validators=validators)
        self.lookups: deque[LookupInfo] = deque(maxlen=256)
        self.counters: dict[str, int] = {
            "requests_in": 0, "requests_out": 0, "bad_messages": 0, "refused_streams": 0,
            "failed_requests": 0, "dropped_peers": 0, "provided_keys": 0,
            "provider_records_sent": 0}
        self.transport = DhtTransport(host, self.protocol, self.state, limits, clock, self.counters)
        self._nursery: trio.Nursery | None = None
        self.provider_peer: bytes = b""

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = self.transport.nursery = nursery
            self._refresh_local_addrs()
            if self.mode == "server":
                # never removed: py-libp2p raises in its negotiation task when a handler goes
                # away while a stream for it is being negotiated; a stopped DHT resets streams
                self.host.set_stream_handler(self.protocol, self.transport.handle_stream)
            self.host.on_connected(self._connected)
            for peer in self.host.peers():
                self._connected(peer)
            nursery.start_soon(self._refresh_loop)
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = self.transport.nursery = None

    def _refresh_local_addrs(self) -> None:
        self.state.local_addrs = maddr.to_bytes(self.host.listen_addrs())
        self.provider_peer = m.encode_peer(m.Peer(self.state.local_bytes, self.state.local_addrs))

    def _connected(self, peer: str) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(self._check_peer, peer)

    async def _check_peer(self, peer: str) -> None:
        """A new connection: if identify says it serves our protocol, it joins the table."""
        try:
            with trio.fail_after(self.limits.request_timeout_s):
                info = await self.host.identify(peer)
        except (JzfsError, trio.TooSlowError) as exc:
            logger.debug("dht: identify of %s failed: %s", peer, exc)
            return
        except Exception:  # noqa: BLE001 - py-libp2p raises assorted types; never crash the DHT
            logger.debug("dht: identify of %s failed", peer, exc_info=True)
            return
        if self.protocol in info.get("Protocols", ()):
            now = self.clock()
            self.state.addrs.add(peer, maddr.to_bytes(info.get("Addresses") or []), now)
            self.state.table.add(peer, now)

    def add_peer(self, peer: str, addrs: Sequence[str] = (), *, server: bool = True) -> None:
        """Tell the DHT about a peer (addresses without /p2p/); `server`: add it to the table."""
        now = self.clock()
        self.state.addrs.add(peer, maddr.to_bytes(addrs), now)
        if server:
            self.state.table.add(peer, now)

    async def bootstrap(self, addrs: Sequence[str] = ()) -> int:
        """Connect to `addrs` (…/p2p/ID), then look ourselves up to fill the table; table size."""
        for a in addrs:
            try:
                peer = await self.host.connect(a)
            except JzfsError as exc:
                logger.info("dht: bootstrap dial %s failed: %s", a, exc)
                continue
            await self._check_peer(peer)
            if peer not in self.state.table:  # identify did not list the protocol: ask it
                self.state.addrs.add(peer, maddr.to_bytes(self.host.known_addrs(peer)), self.clock())
                try:
                    await self.transport.request(peer, m.Message(m.FIND_NODE, key=self.state.local_bytes))
                    self.state.table.add(peer, self.clock())
                except JzfsError as exc:
                    logger.info("dht: bootstrap peer %s does not answer: %s", peer, exc)
        await self.refresh(force=True)
        return len(self.state.table)

    async def refresh(self, *, force: bool = False) -> None:
        """Self lookup, then a lookup into each bucket not refreshed for refresh_interval_s."""
        now = self.clock()
        await self.lookup(self.state.local_bytes, m.FIND_NODE)
        interval = 0.0 if force else self.limits.refresh_interval_s
        for cpl in self.state.table.stale_buckets(now, interval):
            key = refresh_key(self.state.table.local, cpl, os.urandom(32))
            await self.lookup(key, m.FIND_NODE)
            self.state.table.mark_refreshed(cpl, self.clock())

    async def _refresh_loop(self) -> None:
        while True:
            await trio.sleep(self.limits.refresh_interval_s)
            try:
                self._refresh_local_addrs()
                for _ in self.state.providers.expire_steps(self.clock(),
                                                           chunk=self.limits.expire_step_keys):
                    await trio.lowlevel.checkpoint()
                await self.refresh()
            except JzfsError as exc:
                logger.info("dht: refresh failed: %s", exc)
            except Exception:  # a bug in one refresh must not stop the DHT
                logger.exception("dht: refresh failed")

    async def lookup(self, key: bytes, mtype: int,
                     on_answer: Callable[[Lookup, str, m.Message], None] | None = None,
                     *, k: int | None = None) -> Lookup:
        """Run one iterative lookup for `key` sending `mtype` requests; returns the finished state.
        `k`: how many nearest peers must have answered before it ends (default DhtLimits.k)."""
        lim = self.limits
        k = k or lim.k
        t0 = time.monotonic()
        target = kad_id(key)
        lk = Lookup(target, self.state.table.closest(target, k), k=k, alpha=lim.alpha,
                    max_queries=lim.max_lookup_queries, local_peer=self.peer_id)
        done_send, done_recv = trio.open_memory_channel[None](math.inf)

        async def query(peer: str) -> None:
            try:
                ans = await self.transport.request(peer, m.Message(mtype, key=key))
            except JzfsError as exc:
                logger.debug("dht: %s to %s failed: %s", m.TYPE_NAMES[mtype], peer, exc)
                lk.on_failure(peer)
                self.state.table.failed(peer)
            else:
                now = self.clock()
                self.state.table.add(peer, now)
                lk.on_response(peer, self.state.learn(ans.closer_peers, now))
                if on_answer is not None:
                    on_answer(lk, peer, ans)
            done_send.send_nowait(None)

        try:
            async with trio.open_nursery() as nursery:
                while not lk.finished:
                    for peer in lk.next_queries():
                        nursery.start_soon(query, peer)
                    if lk.in_flight == 0:
                        break
                    await done_recv.receive()
                nursery.cancel_scope.cancel()
        finally:  # also when the caller stopped early (find_providers closed after a hit)
            self.lookups.append(LookupInfo(m.TYPE_NAMES[mtype], lk.queries, lk.hops,
                                           time.monotonic() - t0, len(lk.answered())))
        return lk

    # ------------------------------------------------------------------ Router

    def _record(self, peer: str) -> PeerRecord:
        addrs = maddr.to_text(self.state.addrs.get(peer, self.clock()), peer_id=peer)
        if self.host.is_connected(peer):
            addrs = list(dict.fromkeys([*addrs, *self.host.known_addrs(peer)]))
        return PeerRecord(peer, tuple(addrs))

    async def find_providers(self, cid: Any, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        if self._nursery is None:
            raise NetworkError("the DHT is not running")
        key = multihash_of(cid)
        send, recv = trio.open_memory_channel[PeerRecord](math.inf)
        scope = trio.CancelScope()
        self._nursery.start_soon(self._providers_task, key, limit, send, scope)
        try:
            async with recv:
                async for rec in recv:
                    yield rec
        finally:
            scope.cancel()

    async def _providers_task(self, key: bytes, limit: int, send: trio.MemorySendChannel[PeerRecord],
                              scope: trio.CancelScope) -> None:
        seen: set[str] = set()

        def emit(peer: str) -> bool:
            """Hand a provider to the reader; False once it stopped reading."""
            if peer != self.peer_id and peer not in seen and len(seen) < limit:
                seen.add(peer)
                try:
                    send.send_nowait(self._record(peer))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return False  # the iterator was closed: its cancel is on the way
            return len(seen) < limit

        def on_answer(lk: Lookup, _from: str, ans: m.Message) -> None:
            now = self.clock()
            for pid in self.state.learn(ans.provider_peers, now):
                if not emit(pid):
                    lk.stop()
                    return

        with scope:
            async with send:
                try:
                    for peer in self.state.providers.get(key, self.clock(), limit=limit + 1):
                        if not emit(peer):
                            return
                    await self.lookup(key, m.GET_PROVIDERS, on_answer)
                except Exception:  # a bug here must not take the DHT (and the node) down
                    logger.exception("dht: provider lookup failed")

    async def provide(self, cids: Sequence[Any]) -> None:
        keys = list(dict.fromkeys(multihash_of(c) for c in cids))
        now = self.clock()
        for k in keys:
            self.state.providers.add(k, self.peer_id, now)
        if not keys:
            return
        self._refresh_local_addrs()
        if len(keys) >= self.limits.provide_batch_threshold:
            sent = await announce.provide_bulk(self, keys)
        else:
            sent = 0
            limiter = trio.CapacityLimiter(self.limits.provide_concurrency)

            async def one(key: bytes) -> None:
                nonlocal sent
                async with limiter:
                    n = await announce.provide_one(self, key)
                sent += n  # (not `sent += await …`: that reads `sent` before the await)

            async with trio.open_nursery() as nursery:
                for k in keys:
                    nursery.start_soon(one, k)
        self.counters["provided_keys"] += len(keys)
        self.counters["provider_records_sent"] += sent
        if sent == 0:
            raise NetworkError("no DHT peer took the provider records (the routing table is empty "
                               "or no peer answered); they are kept locally and served from here")

    async def find_peer(self, peer_id: str) -> PeerRecord:
        target = peer_bytes(peer_id)
        if self.host.is_connected(peer_id):
            return self._record(peer_id)
        found: list[str] = []

        def on_answer(lk: Lookup, _from: str, ans: m.Message) -> None:
            if any(p.id == target and p.addrs for p in ans.closer_peers):
                found.append(peer_id)
                lk.stop()

        await self.lookup(target, m.FIND_NODE, on_answer)
        rec = self._record(peer_id)
        if not rec.addrs:
            raise NotFound(f"peer {peer_id} not found in the DHT")
        return rec

    async def get_value(self, key: bytes) -> bytes:
        validators = self.state.records.validators
        now = self.clock()
        values: list[bytes] = []
        try:
            values.append(self.state.records.get(key, now))
        except NotFound:
            pass

        def on_answer(lk: Lookup, peer: str, ans: m.Message) -> None:
            rec = ans.record
            if rec is None or not rec.value:
                return
            try:
                validators.validate(key, rec.value, now=self.clock())
            except InvalidInput as exc:
                logger.info("dht: invalid record from %s: %s", peer, exc)
                return
            values.append(rec.value)

        await self.lookup(key, m.GET_VALUE, on_answer)
        if not values:
            raise NotFound("no record for that key in the DHT")
        best = values[validators.select(key, values, now=self.clock())]
        try:
            self.state.records.put(key, best, self.clock())
        except InvalidInput:
            pass
        return best

    async def put_value(self, key: bytes, value: bytes) -> None:
        self.state.records.put(key, value, self.clock())  # validates (InvalidInput)
        lk = await self.lookup(key, m.FIND_NODE)
        req = m.Message(m.PUT_VALUE, key=key, record=m.Record(key, value))
        ok = 0

        async def put(peer: str) -> None:
            nonlocal ok
            try:
                await self.transport.request(peer, req)
                ok += 1
            except JzfsError as exc:
                logger.debug("dht: PUT_VALUE to %s failed: %s", peer, exc)

        async with trio.open_nursery() as nursery:
            for peer in lk.closest():
                nursery.start_soon(put, peer)
        if ok == 0:
            raise NetworkError("no DHT peer stored the record (the routing table is empty or no "
                               "peer answered); it is kept and served locally")

    # ------------------------------------------------------------------ stats

    def stats(self) -> dict[str, Any]:
        """`jzfs stats dht`: mode, protocol, routing table by bucket, stores, counters."""
        now = self.clock()
        return {
            "Name": self.protocol, "Mode": self.mode,
            "Buckets": [{"Cpl": cpl, "Peers": [{"ID": p, "LastUseful": round(now - t, 1)}
                                                for p, t in peers]}
                        for cpl, peers in self.state.table.buckets()],
            "TableSize": len(self.state.table),
            "ProviderRecords": len(self.state.providers),
            "ProviderKeys": self.state.providers.key_count(),
            "Records": len(self.state.records),
            "Counters": dict(self.counters),
            "RecentLookups": [asdict(i) for i in list(self.lookups)[-10:]],
        }


async def start_dht(online: Any, *, mode: str = "auto", protocol: str | None = None) -> Any:
    """Start the node's DHT inside `online`'s nursery (routing/service.py calls this).

    Protocol: `protocol`, else config `Routing.DHT.Protocol`: `wan` = /ipfs/kad/1.0.0 (the
    default), `lan` = /ipfs/lan/kad/1.0.0 as Kubo's LAN DHT, `dual` = both, each with its own
    table (dual.py, as Kubo runs them), or a private protocol ID. Records are validated with
    routing/validators.py's set (/pk/ and /ipns/). `Bootstrap` peers (empty by default) are
    dialled by node.online(); the DHT bootstraps from them and whoever connects.
    """
    node = online.node
    proto = protocol or node.settings.routing.dht_protocol or "wan"
    try:
        from ..validators import default_validators

        validators: Mapping[str, RecordValidator] | None = default_validators()
    except ImportError:  # pragma: no cover - the IPNS module not installed
        validators = None
    limits = node.defaults.dht
    routers = [DhtRouter(online.host, mode=mode, protocol=p, limits=limits, validators=validators)
               for p in (("wan", "lan") if proto == "dual" else (proto,))]
    for r in routers:
        await online.nursery.start(r.run)
    if len(routers) == 2:
        from .dual import DualDht

        dht: Any = DualDht(routers[0], routers[1])
    else:
        dht = routers[0]
    online.services["dht"] = dht
    online.nursery.start_soon(_initial_bootstrap, dht, node)
    return dht


async def _initial_bootstrap(dht: Any, node: Any) -> None:
    addrs = list(node.settings.bootstrap)
    try:
        await dht.bootstrap(addrs)
    except JzfsError as exc:
        logger.info("dht: bootstrap failed: %s", exc)


__all__ = ["DhtRouter", "LookupInfo", "multihash_of", "peer_str", "protocol_id", "start_dht"]
