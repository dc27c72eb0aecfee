"""`LiteHost`: a dial-only libp2p host for one-shot commands; imports no py-libp2p.

Same facade as `net/libp2p_host.Libp2pHost` for what one-shot commands use (`net/host.Host`):
`connect`, `new_stream`, stream handlers, connection callbacks, `identify`, `ping`. Stack:

    TCP (/ip4 or /ip6 + /tcp + /p2p/ID only) -> multistream-select /noise -> Noise XX (the peer
    proves the ID we dialed) -> /yamux/1.0.0 (agreed in the handshake, else multistream-select)
    -> our Yamux session (net/yamux_session.py, the same code the daemon runs).

It never listens (`listen_addrs() == []`). Streams the peer opens on our connection (Kubo and
Helia send Bitswap blocks on a new stream to us) are negotiated with the multistream responder
and dispatched to the handlers. Identify (`/ipfs/id/1.0.0`) is answered at once (go-libp2p waits
for it before opening its first stream to us) with our key, protocols, agent and the address we
were seen from, and no listen addresses; identify push is read and dropped; ping is echoed.

Any other address (DNS, QUIC, WebSockets, relays, no /p2p/) raises `UnsupportedAddress` before
anything is dialled, so the caller can use `Libp2pHost` instead (`dialable(addr)` tells first).

Limits come from the `NetLimits` passed in. Ownership: `run()` owns every connection and their
tasks; leaving it closes them all. A stream from `new_stream` is the caller's to close or reset;
a stream handed to a handler is closed (or reset if the handler raised) when it returns.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import trio

from ...config import AGENT_VERSION, NET_LIMITS, NetLimits
from ...errors import InvalidInput, JzfsError, NetworkError, NotFound, Timeout
from .. import wire
from ..host import (
    PING_BYTES,
    PeerCallback,
    StreamHandler,
    fire_peer_callbacks,
    identify_peer,
    ping_peer,
)
from ..yamux_session import YamuxError, YamuxSession, YamuxSettings
from .negotiate import accept_chunks, select
from .noise import peer_id_multihash
from .secure import YAMUX, SecureChannel, secure_outbound
from .stream import LiteStream

logger = logging.getLogger(__name__)

IDENTIFY_PROTOCOL = "/ipfs/id/1.0.0"
IDENTIFY_PUSH_PROTOCOL = "/ipfs/id/push/1.0.0"
PING_PROTOCOL = "/ipfs/ping/1.0.0"
PROTOCOL_VERSION = "ipfs/0.1.0"


class UnsupportedAddress(InvalidInput):
    """The address is not one LiteHost dials (only /ip4|/ip6 + /tcp + /p2p/ID)."""


def parse_tcp_addr(addr: str) -> tuple[str, int, str]:
    """`/ip4/HOST/tcp/PORT/p2p/ID` (or /ip6, /ipfs) -> (host, port, peer ID)."""
    parts = addr.split("/")
    if (len(parts) != 7 or parts[0] or parts[1] not in ("ip4", "ip6") or parts[3] != "tcp"
            or parts[5] not in ("p2p", "ipfs")):
        raise UnsupportedAddress(f"{addr!r}: the lean client dials /ip4|/ip6/HOST/tcp/PORT/p2p/ID only")
    try:
        ip = ipaddress.IPv4Address(parts[2]) if parts[1] == "ip4" else ipaddress.IPv6Address(parts[2])
        port = int(parts[4])
    except ValueError:
        raise UnsupportedAddress(f"{addr!r}: bad host or port") from None
    if not 0 < port < 65536:
        raise UnsupportedAddress(f"{addr!r}: bad port")
    peer_id_multihash(parts[6])  # InvalidInput for a malformed peer ID
    return str(ip), port, parts[6]


def dialable(addr: str) -> bool:
    """Whether LiteHost can dial `addr` (else use Libp2pHost)."""
    try:
        parse_tcp_addr(addr)
    except InvalidInput:
        return False
    return True


def tcp_multiaddr_bytes(host: str, port: int) -> bytes:
    """Binary multiaddr of /ip4|ip6/HOST/tcp/PORT (multicodecs ip4 0x04, ip6 0x29, tcp 0x06)."""
    ip = ipaddress.ip_address(host)
    code = b"\x04" if ip.version == 4 else b"\x29"
    return code + ip.packed + b"\x06" + port.to_bytes(2, "big")


class _PrefixedIO:
    """A SecureChannel whose first read returns bytes already read past the muxer selection."""

    def __init__(self, channel: SecureChannel, first: bytes) -> None:
        self._ch = channel
        self._first = first

    async def read(self) -> bytes:
        if self._first:
            out, self._first = self._first, b""
            return out
        return await self._ch.read()

    async def write(self, chunks: list[bytes]) -> None:
        await self._ch.write(chunks)

    async def close(self) -> None:
        await self._ch.close()


class _Conn:
    __slots__ = ("peer_id", "addr", "session", "observed")

    def __init__(self, peer_id: str, addr: str, session: YamuxSession, observed: bytes) -> None:
        self.peer_id = peer_id
        self.addr = addr
        self.session = session
        self.observed = observed  # the peer's address as we see it (binary multiaddr)


class LiteHost:
    """A dial-only host; a trio service (`await nursery.start(host.run)`)."""

    def __init__(self, identity: Any, *, limits: NetLimits = NET_LIMITS,
                 agent_version: str = AGENT_VERSION) -> None:
        self.limits = limits
        self._identity = identity
        self.peer_id: str = identity.peer_id
        self.agent_version = agent_version
        self._settings = YamuxSettings.from_limits(limits)
        self._conns: dict[str, _Conn] = {}
        self._dialing: dict[str, trio.Lock] = {}
        self._handlers: dict[str, StreamHandler] = {
            IDENTIFY_PROTOCOL: self._answer_identify,
            IDENTIFY_PUSH_PROTOCOL: self._drop_identify_push,
            PING_PROTOCOL: self._answer_ping,
        }
        self._on_connected: list[PeerCallback] = []
        self._on_disconnected: list[PeerCallback] = []
        self._identify_cache: dict[str, dict[str, Any]] = {}
        self._nursery: trio.Nursery | None = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve our connections until cancelled; nothing to listen on."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None
                with trio.CancelScope(shield=True):
                    for conn in list(self._conns.values()):
                        with trio.move_on_after(1):
                            await conn.session.close()

    # ------------------------------------------------------------------ identity, addresses

    @property
    def public_key_protobuf(self) -> bytes:
        return self._identity.public_key_protobuf

    def listen_addrs(self) -> list[str]:
        return []

    def addrs(self) -> list[str]:
        return []

    def protocols(self) -> list[str]:
        return sorted(self._handlers)

    # ------------------------------------------------------------------ connections

    async def connect(self, addr: str) -> str:
        """Dial `/ip4|ip6/…/tcp/…/p2p/<peer ID>` (no-op if connected); returns the peer ID."""
        host, port, peer_id = parse_tcp_addr(addr)
        if peer_id == self.peer_id:
            raise InvalidInput("cannot connect to ourselves")
        if self._nursery is None:
            raise NetworkError("the host is not running")
        async with self._dialing.setdefault(peer_id, trio.Lock()):
            if peer_id in self._conns:
                return peer_id
            timeout = self.limits.connect_timeout_s
            with trio.move_on_after(timeout) as scope:
                channel, rest, observed = await self._dial(addr, host, port, peer_id)
            if scope.cancelled_caught:
                raise Timeout(f"connecting to {addr} took more than {timeout}s")
            await self._start_session(addr, peer_id, channel, rest, observed)
        return peer_id

    async def _dial(self, addr: str, host: str, port: int,
                    peer_id: str) -> tuple[SecureChannel, bytes, bytes]:
        """(secured channel, bytes read past the muxer selection, the peer's address as we see
        it: identify's observedAddr)."""
        lim = self.limits
        neg = partial(select, read_bytes=lim.noise_socket_read_bytes,
                      timeout_s=lim.negotiate_timeout_s, max_message_bytes=lim.max_mss_message_bytes)
        try:
            sock = await trio.open_tcp_stream(host, port)
        except OSError as exc:
            raise NetworkError(f"cannot connect to {addr}: {_os_reason(exc)}") from None
        try:
            remote = sock.socket.getpeername()
            observed = tcp_multiaddr_bytes(remote[0], remote[1])
        except (OSError, ValueError):
            observed = b""
        try:
            _, rest = await neg(sock, "/noise")
            channel = await secure_outbound(sock, self._identity, peer_id, limits=lim,
                                            received=rest)
            rest = b""
            if channel.muxer is None:
                _, rest = await neg(channel, YAMUX)
            elif channel.muxer != YAMUX:
                raise NetworkError(f"{addr}: agreed on muxer {channel.muxer}, not {YAMUX}")
        except BaseException as exc:
            with trio.CancelScope(shield=True):
                await sock.aclose()
            if isinstance(exc, (JzfsError, trio.BrokenResourceError)) and not isinstance(exc, Timeout):
                raise NetworkError(f"cannot connect to {addr}: {exc}") from None
            raise
        return channel, rest, observed

    async def _start_session(self, addr: str, peer_id: str, channel: SecureChannel,
                             rest: bytes, observed: bytes) -> None:
        assert self._nursery is not None
        session = YamuxSession(is_initiator=True, settings=self._settings, label=peer_id)
        conn = _Conn(peer_id, addr.rsplit("/", 2)[0], session, observed)
        session.on_close = partial(self._closed, conn)
        await self._nursery.start(session.run, _PrefixedIO(channel, rest) if rest else channel)
        self._conns[peer_id] = conn
        self._nursery.start_soon(self._accept_loop, conn)
        await fire_peer_callbacks(self._on_connected, peer_id)

    async def _closed(self, conn: _Conn) -> None:
        if self._conns.get(conn.peer_id) is conn:
            del self._conns[conn.peer_id]
            self._identify_cache.pop(conn.peer_id, None)
            await fire_peer_callbacks(self._on_disconnected, conn.peer_id)

    async def disconnect(self, peer_id: str) -> None:
        """Close the connection to the peer; NotFound if not connected."""
        conn = self._conns.get(peer_id)
        if conn is None:
            raise NotFound(f"not connected to {peer_id}")
        await conn.session.close()

    def peers(self) -> list[str]:
        return sorted(self._conns)

    def is_connected(self, peer_id: str) -> bool:
        return peer_id in self._conns

    def known_addrs(self, peer_id: str) -> list[str]:
        conn = self._conns.get(peer_id)
        return [conn.addr] if conn is not None else []

    def on_connected(self, callback: PeerCallback) -> None:
        self._on_connected.append(callback)

    def on_disconnected(self, callback: PeerCallback) -> None:
        self._on_disconnected.append(callback)

    # ------------------------------------------------------------------ streams

    def set_stream_handler(self, protocol_ids: str | Sequence[str], handler: StreamHandler) -> None:
        for pid in [protocol_ids] if isinstance(protocol_ids, str) else protocol_ids:
            self._handlers[pid] = handler

    def remove_stream_handler(self, protocol_ids: str | Sequence[str]) -> None:
        for pid in [protocol_ids] if isinstance(protocol_ids, str) else protocol_ids:
            self._handlers.pop(pid, None)

    async def new_stream(self, peer_id: str, protocol_ids: str | Sequence[str]) -> LiteStream:
        """Open a stream to a connected peer speaking the first protocol it accepts."""
        ids = [protocol_ids] if isinstance(protocol_ids, str) else list(protocol_ids)
        conn = self._conns.get(peer_id)
        if conn is None:
            raise NotFound(f"not connected to {peer_id}")
        try:
            raw = await conn.session.open_stream()
        except YamuxError as exc:
            raise NetworkError(f"cannot open {'/'.join(ids)} stream to {peer_id}: {exc}") from None
        stream = LiteStream(raw, peer_id, read_chunk=self.limits.read_chunk_bytes)
        try:
            proto, rest = await select(stream, ids, read_bytes=self.limits.noise_socket_read_bytes,
                                       timeout_s=self.limits.negotiate_timeout_s,
                                       max_message_bytes=self.limits.max_mss_message_bytes)
        except BaseException:
            with trio.CancelScope(shield=True):
                await stream.reset()
            raise
        stream.negotiated(proto, rest)
        return stream

    async def _accept_loop(self, conn: _Conn) -> None:
        while True:
            try:
                raw = await conn.session.accept_stream()
            except YamuxError:
                return
            nursery = self._nursery
            if nursery is None:
                await raw.reset()
                return
            nursery.start_soon(self._serve, conn, raw)

    async def _serve(self, conn: _Conn, raw: Any) -> None:
        stream = LiteStream(raw, conn.peer_id, read_chunk=self.limits.read_chunk_bytes)
        try:
            # on the raw Yamux stream: the first message stays the view it arrived in
            proto = await accept_chunks(raw, self._handlers.__contains__,
                                        timeout_s=self.limits.negotiate_timeout_s,
                                        max_message_bytes=self.limits.max_mss_message_bytes)
        except (JzfsError, YamuxError) as exc:
            logger.debug("inbound stream from %s not negotiated: %s", conn.peer_id, exc)
            await stream.reset()
            return
        stream.negotiated(proto, b"")
        handler = self._handlers.get(proto)
        try:
            if handler is None:  # removed while negotiating
                raise NetworkError(f"no handler for {proto}")
            await handler(stream)
        except Exception:  # noqa: BLE001 - log, reset, keep the connection
            logger.debug("handler for %s from %s failed", proto, conn.peer_id, exc_info=True)
            await stream.reset()
            return
        await stream.close()

    # ------------------------------------------------------------------ identify, ping

    async def _answer_identify(self, stream: LiteStream) -> None:
        conn = self._conns.get(stream.remote_peer)
        msg = wire.IdentifyMsg(public_key=self.public_key_protobuf, protocols=self.protocols(),
                               observed_addr=conn.observed if conn is not None else b"",
                               protocol_version=PROTOCOL_VERSION, agent_version=self.agent_version)
        await stream.write(wire.encode_identify(msg))

    async def _drop_identify_push(self, stream: LiteStream) -> None:
        with trio.move_on_after(self.limits.identify_timeout_s):
            await stream.read_until_eof(self.limits.max_identify_bytes + 10)

    async def _answer_ping(self, stream: LiteStream) -> None:
        while True:
            with trio.fail_after(self.limits.ping_timeout_s):
                data = await stream.read(PING_BYTES)
            if not data:
                return
            await stream.write(data)

    async def identify(self, peer_id: str) -> dict[str, Any]:
        """The peer's identify record, as `Libp2pHost.identify` returns it (cached per connection)."""
        return await identify_peer(self, peer_id, limits=self.limits, cache=self._identify_cache)

    async def ping(self, peer_id: str, *, count: int = 1) -> list[float]:
        """Round-trip times in seconds of `count` pings (/ipfs/ping/1.0.0, 32-byte echo)."""
        return await ping_peer(self, peer_id, count=count, limits=self.limits)


def _os_reason(exc: BaseException) -> str:
    """The first OS-level reason in trio's "all attempts to connect … failed" (a group)."""
    while True:
        cause = exc.__cause__ or exc.__context__
        if isinstance(exc, BaseExceptionGroup):
            cause = exc.exceptions[0]
        if cause is None:
            return str(getattr(exc, "strerror", None) or exc)
        exc = cause

