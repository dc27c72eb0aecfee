"""The libp2p host adapter: the ONLY module of jiaozi_node that imports `libp2p`.

Everything else (bitswap, versioning sync, the daemon, the RPC API) talks to peers through the
narrow interface of `Libp2pHost` and `Stream`, using plain strings for peer IDs (base58) and
multiaddrs, so py-libp2p's types never cross this boundary.

    host = Libp2pHost(identity, listen=["/ip4/127.0.0.1/tcp/0"])
    async with trio.open_nursery() as nursery:
        await nursery.start(host.run)          # listening once started
        peer = await host.connect("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…")
        stream = await host.new_stream(peer, ["/my/proto/1.0.0"])
        await stream.write(b"hi"); await stream.close_write(); reply = await stream.read()
        nursery.cancel_scope.cancel()

Stack: TCP, Noise (XX; Ed25519, RSA and secp256k1 remote keys), Yamux preferred with mplex as
fallback, Identify (+push) and Ping answered. No mDNS, UPnP, bootstrap, relay or DHT.

Ownership: `run()` owns the py-libp2p host and its sockets for its whole lifetime; a stream
handed to a handler is owned by the handler until it returns (it is closed, or reset if the
handler raised); a stream from `new_stream` is owned by the caller, who must `close()` or
`reset()` it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.custom_types import TProtocol
from libp2p.host.ping import ID as PING_ID
from libp2p.identity.identify.identify import ID as IDENTIFY_ID
from libp2p.network.config import ConnectionConfig, RetryConfig
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.network.stream.exceptions import StreamReset as _Libp2pStreamReset
from libp2p.peer.id import ID
from libp2p.stream_muxer.exceptions import MuxedStreamEOF, MuxedStreamReset
from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID

from ..config import AGENT_VERSION, NET_LIMITS, NetLimits
from ..errors import (
    InvalidInput,
    NetworkError,
    NotFound,
    RemoteProtocolError,
    StreamReset,
    Timeout,
)
from ..identity import Identity
from ..logs import route_libp2p_logging
from . import wire
from .addrs import parse_peer_multiaddr  # (also this module's: callers import it from here)
from .host import (
    PeerCallback,
    StreamHandler,
    StreamReads,
    fire_peer_callbacks,
    identify_peer,
    ping_peer,
)
from .transport import libp2p_fixes
from .transport.inbound import inbound_handler
from .transport.yamux import YamuxStream

logger = logging.getLogger(__name__)
route_libp2p_logging()  # importing libp2p reset its logger: send its records to ours again


IDENTIFY_PROTOCOL = str(IDENTIFY_ID)
PING_PROTOCOL = str(PING_ID)


class Stream(StreamReads):
    """One libp2p stream, as seen by protocol code.

    `read()` returns b"" at end of stream; a reset raises `StreamReset`.
    """

    __slots__ = ("_s", "remote_peer", "protocol", "_read_chunk", "_lazy", "_rbuf", "_meter", "_max_mss",
                 "_yamux")

    def __init__(self, stream: INetStream, *, read_chunk: int, lazy: bool = False,
                 meter: Meter | None = None, max_mss_bytes: int = NET_LIMITS.max_mss_message_bytes) -> None:
        self._s = stream
        self._meter = meter
        self.remote_peer: str = stream.muxed_conn.peer_id.to_base58()
        self.protocol: str = str(stream.get_protocol())
        self._read_chunk = read_chunk
        # Lazy multistream-select (as go-libp2p does for protocols the peer announced in
        # identify): we sent "/multistream/1.0.0" + our protocol without waiting; the peer's two
        # answer lines are checked on our first read (or never, for write-only streams).
        self._lazy = lazy
        self._max_mss = max_mss_bytes  # NetLimits.max_mss_message_bytes: the lazy answer's lines
        self._rbuf = b""
        # Our Yamux stream is read directly: NetStream.read adds a trio lock per read and only
        # tracks a state that nothing here consults (writes, close and reset still go through it).
        muxed = getattr(stream, "muxed_stream", None)
        self._yamux = muxed if isinstance(muxed, YamuxStream) else None

    async def read(self, max_bytes: int | None = None) -> bytes:
        """Up to `max_bytes` (default NetLimits.read_chunk_bytes) bytes; b"" at EOF."""
        if self._lazy:
            await self._finish_lazy_handshake()
        if self._rbuf:
            n = max_bytes or self._read_chunk
            out, self._rbuf = self._rbuf[:n], self._rbuf[n:]
            return out
        return await self._read_raw(max_bytes or self._read_chunk)

    async def _finish_lazy_handshake(self) -> None:
        self._lazy = False
        buf = b""
        for want in (wire.MSS_LINE, self.protocol.encode() + b"\n"):
            while True:
                try:
                    line, rest = wire.split_mss_message(buf, max_bytes=self._max_mss)
                except RemoteProtocolError as exc:
                    await self.reset()
                    raise NetworkError(f"{self.remote_peer}: {exc}") from None
                if line is not None:
                    break
                chunk = await self._read_raw(self._read_chunk)
                if not chunk:
                    raise NetworkError(f"{self.remote_peer} closed the stream during negotiation")
                buf += chunk
            if line != want:
                await self.reset()
                raise NetworkError(f"{self.remote_peer} refused {self.protocol}: answered {line!r}")
            buf = rest
        self._rbuf = buf

    async def read_views(self) -> list[bytes | memoryview]:
        """Like read(), as a list of chunks that may be views of received bytes (read-only, no
        copy: our Yamux stream's own chunks); [] at EOF. For parsers that join once (bitswap)."""
        if self._yamux is None or self._lazy or self._rbuf:
            data = await self.read()
            return [data] if data else []
        try:
            views = await self._yamux.read_views()
        except MuxedStreamEOF:
            return []
        except MuxedStreamReset as exc:
            raise StreamReset(f"stream {self.protocol} from {self.remote_peer} was reset") from exc
        if self._meter is not None:
            self._meter.bytes_in += sum(len(v) for v in views)
        return views

    async def _read_raw(self, n: int) -> bytes:
        try:
            if self._yamux is not None:
                try:
                    data = await self._yamux.read(n)
                except MuxedStreamEOF:
                    return b""
                except MuxedStreamReset as exc:
                    raise _Libp2pStreamReset() from exc
            else:
                data = await self._s.read(n)
            if self._meter is not None:
                self._meter.bytes_in += len(data)
            return data
        except StreamEOF:
            return b""
        except _Libp2pStreamReset as exc:
            raise StreamReset(f"stream {self.protocol} from {self.remote_peer} was reset") from exc
        except Exception as exc:  # noqa: BLE001 - py-libp2p raises many unrelated types
            raise NetworkError(f"read on {self.protocol} from {self.remote_peer}: {exc}") from exc

    async def write(self, data: bytes) -> None:
        try:
            await self._s.write(data)
            if self._meter is not None:
                self._meter.bytes_out += len(data)
        except _Libp2pStreamReset as exc:
            raise StreamReset(f"stream {self.protocol} to {self.remote_peer} was reset") from exc
        except Exception as exc:  # noqa: BLE001
            raise NetworkError(f"write on {self.protocol} to {self.remote_peer}: {exc}") from exc

    async def close_write(self) -> None:
        """Half-close: the peer reads EOF, we can still read its answer."""
        try:
            await self._s.close_write()
        except Exception as exc:  # noqa: BLE001
            raise NetworkError(f"close on {self.protocol} to {self.remote_peer}: {exc}") from exc

    async def close(self) -> None:
        """Close both directions (sends FIN; unread inbound data is dropped)."""
        try:
            await self._s.close()
        except Exception:  # noqa: BLE001 - closing a dead stream is not an error
            logger.debug("close of %s stream failed", self.protocol, exc_info=True)

    async def reset(self) -> None:
        """Abort the stream: the peer sees a reset, not a clean end."""
        try:
            await self._s.reset()
        except Exception:  # noqa: BLE001
            logger.debug("reset of %s stream failed", self.protocol, exc_info=True)


class Meter:
    """Bytes read from and written to libp2p streams since the host started (every protocol;
    the payload our protocols see, without Noise/Yamux framing). For the web UI's bandwidth graph."""

    __slots__ = ("bytes_in", "bytes_out")

    def __init__(self) -> None:
        self.bytes_in = 0
        self.bytes_out = 0


class _Notifee(INotifee):
    """Turns py-libp2p connection events into per-peer connected/disconnected callbacks."""

    def __init__(self, host: Libp2pHost) -> None:
        self._host = host

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        pass

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        await self._host._conn_event(conn, +1)

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        await self._host._conn_event(conn, -1)

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        pass


@functools.lru_cache(maxsize=4096)
def _peer(peer_id: str) -> ID:
    """libp2p ID of a base58 peer ID (cached: base58 decoding shows up per stream)."""
    try:
        return ID.from_base58(peer_id)
    except Exception:  # noqa: BLE001
        raise InvalidInput(f"invalid peer ID {peer_id!r}") from None


async def _no_auto_connect() -> None:
    return None


def _has_os_error(exc: BaseException) -> OSError | None:
    """The first OSError in `exc` (an exception group's leaves included), or None."""
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for sub_exc in exc.exceptions:
            found = _has_os_error(sub_exc)
            if found is not None:
                return found
    return None


def parse_listen_addr(addr: str) -> multiaddr.Multiaddr:
    """A swarm listen address (`/ip4/HOST/tcp/PORT`, ip6 too); InvalidInput otherwise."""
    try:
        ma = multiaddr.Multiaddr(addr)
    except Exception as exc:  # noqa: BLE001 - multiaddr raises several unrelated types
        raise InvalidInput(f"invalid listen address {addr!r}: {exc}") from None
    names = [p.name for p in ma.protocols()]
    if len(names) != 2 or names[0] not in ("ip4", "ip6") or names[1] != "tcp":
        raise InvalidInput(f"unsupported listen address {addr!r} (want /ip4/HOST/tcp/PORT)")
    return ma


class _MdnsTxtBrowser:
    """Peers from the `dnsaddr=` TXT strings of `_p2p._udp.local` answers in zeroconf's cache
    (see `Libp2pHost.start_mdns`). Callbacks run in zeroconf's browser thread."""

    def __init__(self, zc: Any, service_type: str, deliver: Callable[[str, list[str]], None], *,
                 max_entries: int) -> None:
        from zeroconf import ServiceBrowser

        self._deliver = deliver
        self._max = max_entries
        self._browser = ServiceBrowser(zc, service_type, listener=self)

    def cancel(self) -> None:
        self._browser.cancel()

    def add_service(self, zc: Any, type_: str, name: str) -> None:
        self._read(zc, name)

    def update_service(self, zc: Any, type_: str, name: str) -> None:
        self._read(zc, name)

    def remove_service(self, zc: Any, type_: str, name: str) -> None:
        pass

    def _read(self, zc: Any, name: str) -> None:
        from zeroconf import DNSText

        texts: list[bytes] = []
        for _ in range(5):  # the TXT usually comes in the same packet as the PTR
            texts = [r.text for r in zc.cache.entries_with_name(name) if isinstance(r, DNSText)]
            if texts:
                break
            time.sleep(0.05)
        found: dict[str, list[str]] = {}
        for raw in texts:
            for entry in _txt_strings(raw)[: self._max]:
                if not entry.startswith(b"dnsaddr="):
                    continue
                try:
                    ma = entry[len(b"dnsaddr="):].decode()
                    peer_id, _ = parse_peer_multiaddr(ma)
                except (UnicodeDecodeError, InvalidInput):
                    continue
                found.setdefault(peer_id, []).append(ma.rsplit("/p2p/", 1)[0])
        for peer_id, addrs in found.items():
            self._deliver(peer_id, addrs)


def _txt_strings(raw: bytes) -> list[bytes]:
    """A TXT record's character-strings (each a length byte then that many bytes)."""
    out, i = [], 0
    while i < len(raw):
        n = raw[i]
        out.append(raw[i + 1: i + 1 + n])
        i += 1 + n
    return out


class Libp2pHost:
    """A libp2p host with a persistent identity; a trio service (`await nursery.start(host.run)`)."""

    def __init__(self, identity: Identity, *, listen: Sequence[str] = (),
                 limits: NetLimits = NET_LIMITS, agent_version: str | None = None) -> None:
        libp2p_fixes.apply()
        self.limits = limits
        self._identity = identity
        self._listen = [parse_listen_addr(a) for a in listen]
        key_pair = create_new_key_pair(identity.seed)
        conn_config = ConnectionConfig(
            max_connections_per_peer=limits.max_connections_per_peer,
            max_connections=limits.max_connections,
            # No auto-connector: we never dial peers we were not asked to (loopback-only rule).
            min_connections=0, low_watermark=0,
            high_watermark=limits.max_connections,
            dial_timeout=limits.connect_timeout_s,
            outbound_upgrade_timeout=limits.connect_timeout_s,
            inbound_upgrade_timeout=limits.connect_timeout_s,
            outbound_stream_protocol_negotiation_timeout=limits.negotiate_timeout_s,
            inbound_stream_protocol_negotiation_timeout=limits.negotiate_timeout_s,
        )
        host = new_host(
            key_pair=key_pair,
            muxer_opt=libp2p_fixes.muxer_options(limits),
            connection_config=conn_config,
            listen_addrs=self._listen or None,
            enable_mDNS=False, enable_upnp=False, bootstrap=None,
            negotiate_timeout=int(limits.negotiate_timeout_s),
        )
        # Fail fast on a refused dial: peering has its own backoff, a CLI user wants the error.
        host.get_network().retry_config = RetryConfig(max_retries=0)
        # No resource manager (see transport/libp2p_fixes, note 5): its per-stream bookkeeping costs
        # more than the stream; our limits (yamux streams per connection, connections) apply.
        host.get_network().set_resource_manager(None)
        # No auto-connector: it dials peers from the peerstore to reach a connection target; we
        # never dial anyone we were not asked to (loopback-only rule, Peering.Peers only).
        host.get_network().auto_connector.start = _no_auto_connect
        host.jzfs_agent_version = agent_version or AGENT_VERSION  # sent in identify (libp2p_fixes 1)
        # Inbound streams: multistream-select answered by transport/inbound.py on our Yamux (one
        # write per pipelined negotiation; Kubo opens a stream per bitswap reply), against the
        # same handler registry; py-libp2p's responder for other muxers.
        host.get_network().set_stream_handler(inbound_handler(
            host.get_mux().handlers, host._swarm_stream_handler, timeout_s=limits.negotiate_timeout_s,
            max_message_bytes=limits.max_mss_message_bytes))
        self._host = host
        self.peer_id: str = self._host.get_id().to_base58()
        if self.peer_id != identity.peer_id:  # would mean our key encoding drifted from libp2p's
            raise AssertionError(f"libp2p peer ID {self.peer_id} != repo identity {identity.peer_id}")
        self._conn_count: dict[str, int] = {}
        self._on_connected: list[PeerCallback] = []
        self._on_disconnected: list[PeerCallback] = []
        self._identify_cache: dict[str, dict[str, Any]] = {}
        self.meter = Meter()
        self._host.get_network().register_notifee(_Notifee(self))
        self._running = False

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled; `task_status.started()` once listening."""
        self._started = False
        try:
            async with self._host.run(self._listen):
                await self._serve(task_status)
        except (OSError, BaseExceptionGroup) as exc:
            if self._started or not _has_os_error(exc):
                raise
            # binding failed before we started (e.g. the port is in use): say where
            err = _has_os_error(exc)
            if isinstance(err, NetworkError):
                raise err from None
            raise NetworkError(f"could not listen on {', '.join(str(a) for a in self._listen)}: "
                               f"{err.strerror or err}") from None

    async def _serve(self, task_status: trio.TaskStatus[None]) -> None:
        self._running = True
        try:
            # py-libp2p logs a bind failure and goes on; an address we were told to listen on
            # but did not (in use, not on this machine) must fail the start instead
            bound = self._host.get_transport_addrs()
            if len(bound) < len(self._listen):
                raise NetworkError(
                    f"could not listen on {', '.join(str(a) for a in self._listen)} (listening "
                    f"on {', '.join(map(str, bound)) or 'nothing'}): address in use or not "
                    f"available on this machine")
            self._started = True
            task_status.started()
            await trio.sleep_forever()
        finally:
            self._running = False
            with trio.CancelScope(shield=True):
                await self._host.close()

    async def listen(self, addrs: Sequence[str]) -> None:
        """Listen on more addresses while running."""
        mas = [multiaddr.Multiaddr(a) for a in addrs]
        if not await self._host.get_network().listen(*mas):
            raise NetworkError(f"could not listen on {', '.join(addrs)}")
        self._listen.extend(mas)

    # ------------------------------------------------------------------ identity, addresses

    @property
    def public_key_protobuf(self) -> bytes:
        return self._identity.public_key_protobuf

    def listen_addrs(self) -> list[str]:
        """Transport addresses we listen on (ports resolved), without /p2p/."""
        return [str(a) for a in self._host.get_transport_addrs()]

    def addrs(self) -> list[str]:
        """Our dialable addresses, each ending in /p2p/<our peer ID>."""
        return [f"{a}/p2p/{self.peer_id}" for a in self.listen_addrs()]

    def protocols(self) -> list[str]:
        return sorted(str(p) for p in self._host.get_mux().get_protocols() if p is not None)

    # ------------------------------------------------------------------ connections

    async def connect(self, addr: str) -> str:
        """Dial `…/p2p/<peer ID>` (no-op if already connected); returns the peer ID."""
        peer_id, ma = parse_peer_multiaddr(addr)
        if peer_id == self.peer_id:
            raise InvalidInput("cannot connect to ourselves")
        if self.is_connected(peer_id):
            return peer_id
        # We dial the one address we were given with `Swarm.dial_addr` rather than
        # `BasicHost.connect` -> `Swarm.dial_peer`: dial_peer's happy-eyeballs loop waits a fixed
        # 250 ms after starting the last address unless the dial *fails* (or max-per-peer is
        # reached), and puts a peer whose dial failed in a 60 s negative cache. go-libp2p
        # returns as soon as one dial succeeds; so do we.
        pid = _peer(peer_id)
        transport = ma.decapsulate(multiaddr.Multiaddr(f"/p2p/{peer_id}"))
        self._host.get_peerstore().add_addrs(pid, [transport], int(self.limits.peerstore_addr_ttl_s))
        net = self._host.get_network()
        with trio.move_on_after(self.limits.connect_timeout_s) as scope:
            try:
                conn = await net.dial_addr(transport, pid)
                await conn.event_started.wait()
            except Exception as exc:  # noqa: BLE001 - SwarmException and friends
                cause = exc.__cause__ or exc.__context__
                detail = f"{exc}" + (f" ({cause})" if cause else "")
                raise NetworkError(f"cannot connect to {addr}: {detail}") from None
        if scope.cancelled_caught:
            raise Timeout(f"connecting to {addr} took more than {self.limits.connect_timeout_s}s")
        return peer_id

    async def disconnect(self, peer_id: str) -> None:
        """Close every connection to the peer; NotFound if not connected."""
        pid = _peer(peer_id)
        if not self._host.get_network().get_connections(pid):
            raise NotFound(f"not connected to {peer_id}")
        await self._host.disconnect(pid)

    def peers(self) -> list[str]:
        """Peer IDs we have at least one open connection to."""
        net = self._host.get_network()
        return sorted(p.to_base58() for p, conns in net.connections.items()
                      if any(not c.is_closed for c in conns))

    def is_connected(self, peer_id: str) -> bool:
        return any(not c.is_closed for c in self._host.get_network().get_connections(_peer(peer_id)))

    def peer_conn_info(self, peer_id: str) -> list[dict[str, str]]:
        """Per connection: remote address, direction, muxer (for `swarm peers`)."""
        out = []
        for conn in self._host.get_network().get_connections(_peer(peer_id)):
            if conn.is_closed:
                continue
            addrs = conn.get_transport_addresses() if hasattr(conn, "get_transport_addresses") else []
            muxed = conn.muxed_conn
            out.append({
                "Addr": str(addrs[0]) if addrs else "",
                "Direction": str(getattr(conn, "direction", "") or ""),
                "Muxer": getattr(muxed, "negotiated_muxer_protocol", None) or MPLEX_PROTOCOL_ID,
                "Streams": str(len(conn.get_streams())) if hasattr(conn, "get_streams") else "",
            })
        return out

    def known_addrs(self, peer_id: str) -> list[str]:
        """Addresses the peerstore holds for a peer (from dials and identify)."""
        try:
            found = [str(a) for a in self._host.get_peerstore().addrs(_peer(peer_id))]
        except Exception:  # noqa: BLE001 - PeerStoreError when unknown
            return []
        suffix = f"/p2p/{peer_id}"
        return sorted({a[: -len(suffix)] if a.endswith(suffix) else a for a in found})

    def on_connected(self, callback: PeerCallback) -> None:
        """Call `callback(peer_id)` when the first connection to a peer opens (may be async)."""
        self._on_connected.append(callback)

    def on_disconnected(self, callback: PeerCallback) -> None:
        """Call `callback(peer_id)` when the last connection to a peer closes (may be async)."""
        self._on_disconnected.append(callback)

    async def _conn_event(self, conn: INetConn, delta: int) -> None:
        peer = conn.muxed_conn.peer_id.to_base58()
        before = self._conn_count.get(peer, 0)
        after = max(0, before + delta)
        if after:
            self._conn_count[peer] = after
        else:
            self._conn_count.pop(peer, None)
            self._identify_cache.pop(peer, None)
        if before == 0 and after > 0:
            callbacks = self._on_connected
        elif before > 0 and after == 0:
            callbacks = self._on_disconnected
        else:
            return
        await fire_peer_callbacks(callbacks, peer)

    # ------------------------------------------------------------------ streams

    def set_stream_handler(self, protocol_ids: str | Sequence[str], handler: StreamHandler) -> None:
        """Serve inbound streams for these protocols; the handler owns the stream until it returns."""
        ids = [protocol_ids] if isinstance(protocol_ids, str) else list(protocol_ids)
        read_chunk = self.limits.read_chunk_bytes

        async def _handle(net_stream: INetStream) -> None:
            stream = Stream(net_stream, read_chunk=read_chunk, meter=self.meter)
            try:
                await handler(stream)
            except Exception:  # noqa: BLE001 - log, reset, keep the connection
                logger.debug("handler for %s from %s failed", stream.protocol, stream.remote_peer,
                             exc_info=True)
                await stream.reset()
                return
            await stream.close()

        _handle.jzfs_direct = True  # type: ignore[attr-defined]  # takes a DirectStream too (transport/inbound.py)
        for pid in ids:
            self._host.set_stream_handler(TProtocol(pid), _handle)

    def remove_stream_handler(self, protocol_ids: str | Sequence[str]) -> None:
        ids = [protocol_ids] if isinstance(protocol_ids, str) else list(protocol_ids)
        for pid in ids:
            self._host.remove_stream_handler(TProtocol(pid))

    async def new_stream(self, peer_id: str, protocol_ids: str | Sequence[str]) -> Stream:
        """Open a stream to a connected peer speaking the first protocol it accepts."""
        ids = [protocol_ids] if isinstance(protocol_ids, str) else list(protocol_ids)
        pid = _peer(peer_id)
        if not self._host.get_network().get_connections(pid):
            raise NotFound(f"not connected to {peer_id}")
        known = self._known_protocol(pid, ids)
        try:
            if known is None:
                net_stream = await self._host.new_stream(pid, [TProtocol(p) for p in ids])
                return Stream(net_stream, read_chunk=self.limits.read_chunk_bytes, meter=self.meter)
            # The peer told us (identify) it speaks `known`: propose it without waiting for the
            # answer, saving a round trip per stream (bitswap opens one stream per message).
            net_stream = await self._host.get_network().new_stream(pid)
            net_stream.set_protocol(TProtocol(known))
            stream = Stream(net_stream, read_chunk=self.limits.read_chunk_bytes, lazy=True,
                            meter=self.meter, max_mss_bytes=self.limits.max_mss_message_bytes)
        except Exception as exc:  # noqa: BLE001 - StreamFailure, SwarmException, …
            raise NetworkError(f"cannot open {'/'.join(ids)} stream to {peer_id}: {exc}") from None
        await stream.write(wire.mss_message(wire.MSS_LINE) + wire.mss_message(known.encode() + b"\n"))
        return stream

    def _known_protocol(self, pid: ID, ids: Sequence[str]) -> str | None:
        """Our first choice among `ids` that the peer announced in identify, if any."""
        try:
            supported = set(self._host.get_peerstore().supports_protocols(pid, list(ids)))
        except Exception:  # noqa: BLE001 - unknown peer
            return None
        return next((p for p in ids if p in supported), None)

    # ------------------------------------------------------------------ mDNS

    async def start_mdns(self, on_peer: Callable[[str, list[str]], object]) -> Callable[[], None]:
        """Local discovery with py-libp2p's mDNS (zeroconf; the libp2p mDNS spec: service
        `_p2p._udp.local`, our listen addresses as `dnsaddr=` TXT strings). `on_peer(peer_id,
        addrs)` is called in the trio thread for each other peer seen. Returns `stop()` (blocking:
        call it in a worker thread). Sends multicast on every interface with an address: only
        ever started when the user enabled `Discovery.MDNS`.
        """
        from libp2p.discovery.events.peerDiscovery import peerDiscovery
        from libp2p.discovery.mdns.mdns import create_mdns_discovery

        token = trio.lowlevel.current_trio_token()
        transport = self._host.get_transport_addrs()
        port = int(transport[0].value_for_protocol("tcp")) if transport else 0
        disc = await trio.to_thread.run_sync(
            lambda: create_mdns_discovery(self._host.get_network(), port=port, host=self._host))

        def deliver(pid: str, addrs: list[str]) -> None:  # zeroconf's threads
            if pid == self.peer_id or not addrs:
                return
            try:
                trio.from_thread.run_sync(on_peer, pid, addrs, trio_token=token)
            except (trio.RunFinishedError, RuntimeError):
                pass  # the node stopped (or, impossibly, we are in the trio thread)

        def handler(info: Any) -> None:
            try:
                pid = info.peer_id.to_base58()
                addrs = [str(a) for a in info.addrs]
            except Exception:  # noqa: BLE001 - a malformed announcement is dropped
                return
            deliver(pid, addrs)

        peerDiscovery.register_peer_discovered_handler(handler)
        # py-libp2p's listener resolves a sighting as a full DNS-SD service (SRV + TXT + A), which
        # go-libp2p sends but js-libp2p (Helia) does not: it answers with PTR + TXT only, as the
        # libp2p mDNS spec allows. This second listener reads the TXT `dnsaddr=` strings straight
        # from zeroconf's cache, so both kinds of peers are found.
        txt_browser = _MdnsTxtBrowser(disc.zeroconf, disc.service_type, deliver,
                                      max_entries=self.limits.max_identify_entries)
        # register() probes the network for name conflicts (~1 s of sleeps): not in trio's thread
        await trio.to_thread.run_sync(disc.broadcaster.register)

        def stop() -> None:
            peerDiscovery.unregister_peer_discovered_handler(handler)
            txt_browser.cancel()
            disc.broadcaster.unregister()
            disc.listener.stop()
            disc.zeroconf.close()

        return stop

    # ------------------------------------------------------------------ identify, ping

    async def identify(self, peer_id: str) -> dict[str, Any]:
        """The peer's identify record: AgentVersion, ProtocolVersion, Protocols, Addresses, PublicKey.

        Cached per connection (the cache is dropped when the peer disconnects).
        """

        def remember(info: dict[str, Any]) -> None:
            # lets new_stream skip the negotiation round trip for these protocols
            self._host.get_peerstore().add_protocols(ID.from_base58(peer_id), list(info["Protocols"]))

        return await identify_peer(self, peer_id, limits=self.limits, cache=self._identify_cache,
                                   on_cached=remember)

    async def ping(self, peer_id: str, *, count: int = 1) -> list[float]:
        """Round-trip times in seconds of `count` pings (/ipfs/ping/1.0.0, 32-byte echo)."""
        return await ping_peer(self, peer_id, count=count, limits=self.limits)

