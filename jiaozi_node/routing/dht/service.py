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
from typing import Any

import trio

from ...config import DHT_LIMITS, DHT_PROTOCOL_LAN, DHT_PROTOCOL_WAN, DhtLimits
from ...errors import (
    InvalidInput,
    JzfsError,
    LimitExceeded,
    NetworkError,
    NotFound,
    RemoteProtocolError,
)
from ..base import PeerRecord, RecordValidator
from . import addrs as maddr
from . import message as m
from .keys import kad_id, peer_bytes, peer_kad, peer_str, refresh_key
from .lookup import Lookup
from .server import DhtState, handle

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

    def __init__(self, host: Any, *, mode: str = "auto", protocol: str = DHT_PROTOCOL_WAN,
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
        self._bad: dict[str, int] = {}
        self._inbound: dict[str, int] = {}
        self._inbound_total = 0
        self._nursery: trio.Nursery | None = None
        self._provider_peer: bytes = b""

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._refresh_local_addrs()
            if self.mode == "server":
                # never removed: py-libp2p raises in its negotiation task when a handler goes
                # away while a stream for it is being negotiated; a stopped DHT resets streams
                self.host.set_stream_handler(self.protocol, self._handle_stream)
            self.host.on_connected(self._connected)
            for peer in self.host.peers():
                self._connected(peer)
            nursery.start_soon(self._refresh_loop)
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    def _refresh_local_addrs(self) -> None:
        self.state.local_addrs = maddr.to_bytes(self.host.listen_addrs())
        self._provider_peer = m.encode_peer(m.Peer(self.state.local_bytes, self.state.local_addrs))

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
                    await self._request(peer, m.Message(m.FIND_NODE, key=self.state.local_bytes))
                    self.state.table.add(peer, self.clock())
                except JzfsError as exc:
                    logger.info("dht: bootstrap peer %s does not answer: %s", peer, exc)
        await self.refresh(force=True)
        return len(self.state.table)

    async def refresh(self, *, force: bool = False) -> None:
        """Self lookup, then a lookup into each bucket not refreshed for refresh_interval_s."""
        now = self.clock()
        await self._lookup(self.state.local_bytes, m.FIND_NODE)
        interval = 0.0 if force else self.limits.refresh_interval_s
        for cpl in self.state.table.stale_buckets(now, interval):
            key = refresh_key(self.state.table.local, cpl, os.urandom(32))
            await self._lookup(key, m.FIND_NODE)
            self.state.table.mark_refreshed(cpl, self.clock())

    async def _refresh_loop(self) -> None:
        while True:
            await trio.sleep(self.limits.refresh_interval_s)
            try:
                self._refresh_local_addrs()
                for _ in self.state.providers.expire_steps(self.clock()):
                    await trio.lowlevel.checkpoint()
                await self.refresh()
            except JzfsError as exc:
                logger.info("dht: refresh failed: %s", exc)

    # ------------------------------------------------------------------ server side

    async def _handle_stream(self, stream: Any) -> None:
        peer = stream.remote_peer
        lim = self.limits
        if self._nursery is None:  # stopped
            await stream.reset()
            return
        if (self._inbound.get(peer, 0) >= lim.max_inbound_streams_per_peer
                or self._inbound_total >= lim.max_inbound_streams):
            self.counters["refused_streams"] += 1
            await stream.reset()
            return
        self._inbound[peer] = self._inbound.get(peer, 0) + 1
        self._inbound_total += 1
        reader = m.FrameReader(max_message_bytes=lim.max_message_bytes)
        try:
            while True:
                with trio.move_on_after(lim.stream_idle_timeout_s):
                    data = await stream.read()
                    if not data:
                        return
                    out = []
                    for raw in reader.feed(data):
                        req = m.decode(raw, limits=lim)
                        self.counters["requests_in"] += 1
                        ans = handle(self.state, peer, req, self.clock())
                        if ans is not None:
                            out.append(m.frame(m.encode(ans)))
                    if out:
                        await stream.write(b"".join(out))
                    continue
                return  # idle
        except (RemoteProtocolError, LimitExceeded) as exc:
            await stream.reset()
            self._misbehaved(peer, str(exc))
        except InvalidInput as exc:  # a request we refuse (an invalid record): not garbage
            logger.info("dht: refused request from %s: %s", peer, exc)
            await stream.reset()
        except JzfsError as exc:
            logger.debug("dht: stream from %s ended: %s", peer, exc)
        finally:
            self._inbound_total -= 1
            n = self._inbound[peer] - 1
            if n:
                self._inbound[peer] = n
            else:
                del self._inbound[peer]

    def _misbehaved(self, peer: str, why: str) -> None:
        self.counters["bad_messages"] += 1
        n = self._bad[peer] = self._bad.get(peer, 0) + 1
        logger.warning("dht: bad message from %s: %s", peer, why)
        if n >= self.limits.max_bad_messages:
            self.counters["dropped_peers"] += 1
            self.state.table.remove(peer)
            if self._nursery is not None:
                self._nursery.start_soon(self._disconnect, peer)

    async def _disconnect(self, peer: str) -> None:
        try:
            await self.host.disconnect(peer)
        except JzfsError:
            pass

    # ------------------------------------------------------------------ client side

    async def _ensure_connected(self, peer: str) -> None:
        if self.host.is_connected(peer):
            return
        addrs = maddr.dialable(maddr.to_text(self.state.addrs.get(peer, self.clock()), peer_id=peer))
        if not addrs:
            raise NetworkError(f"no dialable address known for {peer}")
        err: Exception | None = None
        for a in addrs:
            try:
                await self.host.connect(f"{a}/p2p/{peer}")
                return
            except JzfsError as exc:
                err = exc
        raise NetworkError(f"cannot reach {peer}: {err}")

    async def _open(self, peer: str) -> Any:
        await self._ensure_connected(peer)
        return await self.host.new_stream(peer, [self.protocol])

    async def _request(self, peer: str, req: m.Message) -> m.Message:
        """Send one request and read its answer (bounded by request_timeout_s)."""
        self.counters["requests_out"] += 1
        try:
            with trio.fail_after(self.limits.request_timeout_s):
                stream = await self._open(peer)
                try:
                    await stream.write(m.frame(m.encode(req)))
                    reader = m.FrameReader(max_message_bytes=self.limits.max_message_bytes)
                    while True:
                        data = await stream.read()
                        if not data:
                            raise NetworkError(f"{peer} closed the DHT stream without answering")
                        frames = reader.feed(data)
                        if frames:
                            ans = m.decode(frames[0], limits=self.limits)
                            if ans.type != req.type:
                                raise RemoteProtocolError(f"dht: asked {m.TYPE_NAMES[req.type]}, "
                                                          f"got {m.TYPE_NAMES[ans.type]}")
                            return ans
                finally:
                    await stream.close()
        except trio.TooSlowError:
            self.counters["failed_requests"] += 1
            raise NetworkError(f"{peer} did not answer within {self.limits.request_timeout_s}s") from None
        except (RemoteProtocolError, LimitExceeded) as exc:
            self.counters["failed_requests"] += 1
            self._misbehaved(peer, str(exc))
            raise
        except JzfsError:
            self.counters["failed_requests"] += 1
            raise

    async def _send_frames(self, peer: str, frames: Sequence[bytes]) -> None:
        """Write frames that have no answer (ADD_PROVIDER) on one stream, then close it."""
        with trio.fail_after(self.limits.request_timeout_s + len(frames) / 1000):
            stream = await self._open(peer)
            try:
                for i in range(0, len(frames), 512):
                    await stream.write(b"".join(frames[i : i + 512]))
            finally:
                await stream.close()

    async def _lookup(self, key: bytes, mtype: int,
                      on_answer: Callable[[Lookup, str, m.Message], None] | None = None) -> Lookup:
        """Run one iterative lookup for `key` sending `mtype` requests; returns the finished state."""
        lim = self.limits
        t0 = time.monotonic()
        target = kad_id(key)
        lk = Lookup(target, self.state.table.closest(target, lim.k), k=lim.k, alpha=lim.alpha,
                    max_queries=lim.max_lookup_queries, local_peer=self.peer_id)
        done_send, done_recv = trio.open_memory_channel[None](math.inf)

        async def query(peer: str) -> None:
            try:
                ans = await self._request(peer, m.Message(mtype, key=key))
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

        def emit(peer: str) -> None:
            if peer != self.peer_id and peer not in seen and len(seen) < limit:
                seen.add(peer)
                send.send_nowait(self._record(peer))

        def on_answer(lk: Lookup, _from: str, ans: m.Message) -> None:
            now = self.clock()
            for pid in self.state.learn(ans.provider_peers, now):
                emit(pid)
            if len(seen) >= limit:
                lk.stop()

        with scope:
            async with send:
                for peer in self.state.providers.get(key, self.clock(), limit=limit + 1):
                    emit(peer)
                if len(seen) >= limit:
                    return
                await self._lookup(key, m.GET_PROVIDERS, on_answer)

    async def provide(self, cids: Sequence[Any]) -> None:
        keys = list(dict.fromkeys(multihash_of(c) for c in cids))
        now = self.clock()
        for k in keys:
            self.state.providers.add(k, self.peer_id, now)
        if not keys:
            return
        self._refresh_local_addrs()
        if len(keys) >= self.limits.provide_batch_threshold:
            sent = await self._provide_bulk(keys)
        else:
            sent = 0
            limiter = trio.CapacityLimiter(self.limits.provide_concurrency)

            async def one(key: bytes) -> None:
                nonlocal sent
                async with limiter:
                    n = await self._provide_one(key)
                sent += n  # (not `sent += await …`: that reads `sent` before the await)

            async with trio.open_nursery() as nursery:
                for k in keys:
                    nursery.start_soon(one, k)
        self.counters["provided_keys"] += len(keys)
        self.counters["provider_records_sent"] += sent
        if sent == 0:
            raise NetworkError("no DHT peer took the provider records (the routing table is empty "
                               "or no peer answered); they are kept locally and served from here")

    async def _provide_one(self, key: bytes) -> int:
        lk = await self._lookup(key, m.FIND_NODE)
        frame = m.add_provider_frame(key, self._provider_peer)
        ok = 0

        async def send(peer: str) -> None:
            nonlocal ok
            try:
                await self._send_frames(peer, [frame])
                ok += 1
            except (JzfsError, trio.TooSlowError) as exc:
                logger.debug("dht: ADD_PROVIDER to %s failed: %s", peer, exc)

        async with trio.open_nursery() as nursery:
            for peer in lk.closest():
                nursery.start_soon(send, peer)
        return ok

    def _region_bits(self) -> int:
        """Keyspace regions for a bulk announce: about k x 2 peers per region, estimated from
        how many leading buckets of our table are full (bucket i covers 1/2**(i+1) of the
        network, so d full buckets mean about k x 2**d peers)."""
        full = 0
        buckets = dict(self.state.table.buckets())
        while len(buckets.get(full, ())) >= self.limits.k:
            full += 1
        return max(0, full - 1)

    async def _provide_bulk(self, keys: list[bytes]) -> int:
        """Announce many keys: one lookup per keyspace region, then every peer gets all of its
        records on one stream (sweeping, as boxo's newer provider does, simplified)."""
        bits = self._region_bits()
        regions: dict[int, list[bytes]] = {}
        for k in keys:
            regions.setdefault(int.from_bytes(kad_id(k), "big") >> (256 - bits) if bits else 0, []).append(k)
        per_peer: dict[str, list[bytes]] = {}
        limiter = trio.CapacityLimiter(self.limits.provide_concurrency)

        async def region(rkeys: list[bytes]) -> None:
            async with limiter:
                lk = await self._lookup(rkeys[0], m.FIND_NODE)
            cands = lk.answered()
            ints = [(int.from_bytes(peer_kad(p), "big"), p) for p in cands]
            for k in rkeys:
                t = int.from_bytes(kad_id(k), "big")
                frame = m.add_provider_frame(k, self._provider_peer)
                for _, p in sorted((d ^ t, p) for d, p in ints)[: self.limits.k]:
                    per_peer.setdefault(p, []).append(frame)

        async with trio.open_nursery() as nursery:
            for rkeys in regions.values():
                nursery.start_soon(region, rkeys)
        sent = 0

        async def deliver(peer: str, frames: list[bytes]) -> None:
            nonlocal sent
            async with limiter:
                try:
                    await self._send_frames(peer, frames)
                    sent += len(frames)
                except (JzfsError, trio.TooSlowError) as exc:
                    logger.info("dht: announcing %d records to %s failed: %s", len(frames), peer, exc)

        async with trio.open_nursery() as nursery:
            for peer, frames in per_peer.items():
                nursery.start_soon(deliver, peer, frames)
        return sent

    async def find_peer(self, peer_id: str) -> PeerRecord:
        target = peer_bytes(peer_id)
        if self.host.is_connected(peer_id):
            return self._record(peer_id)
        found: list[str] = []

        def on_answer(lk: Lookup, _from: str, ans: m.Message) -> None:
            if any(p.id == target and p.addrs for p in ans.closer_peers):
                found.append(peer_id)
                lk.stop()

        await self._lookup(target, m.FIND_NODE, on_answer)
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

        await self._lookup(key, m.GET_VALUE, on_answer)
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
        lk = await self._lookup(key, m.FIND_NODE)
        req = m.Message(m.PUT_VALUE, key=key, record=m.Record(key, value))
        ok = 0

        async def put(peer: str) -> None:
            nonlocal ok
            try:
                await self._request(peer, req)
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


async def start_dht(online: Any, *, mode: str = "auto", protocol: str | None = None) -> DhtRouter:
    """Start the node's DHT inside `online`'s nursery (routing/service.py calls this).

    Protocol: `protocol`, else config `Routing.DHT.Protocol` (`wan` = /ipfs/kad/1.0.0, the
    default; `lan` = /ipfs/lan/kad/1.0.0 as Kubo's LAN DHT; or a private protocol ID). Records
    are validated with routing/validators.py's set (/pk/ and /ipns/). `Bootstrap` peers (empty
    by default) are dialled by node.online(); the DHT bootstraps from whoever is connected.
    """
    node = online.node
    proto = protocol or node.repo.get_config_default("Routing.DHT.Protocol", None) or "wan"
    try:
        from ..validators import default_validators

        validators: Mapping[str, RecordValidator] | None = default_validators()
    except ImportError:  # pragma: no cover - the IPNS module not installed
        validators = None
    limits = getattr(node.defaults, "dht", DHT_LIMITS)
    dht = DhtRouter(online.host, mode=mode, protocol=proto, limits=limits, validators=validators)
    online.services["dht"] = dht
    await online.nursery.start(dht.run)
    online.nursery.start_soon(_initial_bootstrap, dht, node)
    return dht


async def _initial_bootstrap(dht: DhtRouter, node: Any) -> None:
    addrs = [a for a in node.repo.get_config_default("Bootstrap", []) or [] if isinstance(a, str)]
    try:
        await dht.bootstrap(addrs)
    except JzfsError as exc:
        logger.info("dht: bootstrap failed: %s", exc)


__all__ = ["DhtRouter", "LookupInfo", "multihash_of", "peer_str", "protocol_id", "start_dht"]
