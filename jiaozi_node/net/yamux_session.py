"""Yamux stream multiplexing (github.com/hashicorp/yamux/blob/master/spec.md), as a session over
any secured connection's plaintext I/O; imports neither py-libp2p nor anything that does.

One implementation, two faces:
- `net/transport/yamux.py` adapts it to py-libp2p's `IMuxedConn`/`IMuxedStream` for the daemon's
  `Libp2pHost` (py-libp2p's own Yamux is replaced; see there for why);
- `net/lite/host.py` (`LiteHost`, the dial-only host of one-shot commands) runs it directly over
  its own Noise channel.

The I/O is a `FrameIO`: `read()` returns at least one whole decrypted message (b"" at EOF),
`write(chunks)` sends each chunk (<= `NOISE_MAX_PLAINTEXT` bytes) as one message, `close()`.

Behaviour (follows the spec and go-yamux):
- 12-byte header; DATA / WINDOW_UPDATE / PING / GO_AWAY; SYN / ACK / FIN / RST.
- Per-stream receive window: 256 KiB initial (spec), raised to `window` with a WINDOW_UPDATE on
  SYN/ACK as go-yamux does, while the connection's `extra_window_budget` lasts; credit is returned
  once half the window has been consumed. So one peer can make us buffer at most
  max_streams x 256 KiB + extra_window_budget per connection.
- A DATA frame larger than the remaining window is a protocol error: the connection is closed
  (the only way a peer could make us buffer more than `window` per stream).
- Inbound streams beyond `max_streams` open, or beyond `accept_backlog` not yet accepted, are
  refused with RST.
- One reader task parses frames from whole Noise messages read in large socket reads; one writer
  task coalesces queued frames into Noise messages of up to 65,519 bytes and sends them with one
  `send()` per batch. DATA frames carry at most 65,507 bytes so each is exactly one Noise message.

Settings: `YamuxSettings.from_limits(config.NetLimits)`, passed in; nothing here is process-wide.
Ownership: the session owns its streams and its two tasks; `close()` (or the peer hanging up)
resets every open stream and calls `on_close` once.
"""

from __future__ import annotations

import logging
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import trio

from ..config import NET_LIMITS, NetLimits
from ..frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class
from .lite.noise import NOISE_MAX_PLAINTEXT

logger = logging.getLogger(__name__)

PROTOCOL_ID = "/yamux/1.0.0"
_HDR = struct.Struct("!BBHII")
HEADER_SIZE = 12
TYPE_DATA, TYPE_WINDOW_UPDATE, TYPE_PING, TYPE_GO_AWAY = 0, 1, 2, 3
F_SYN, F_ACK, F_FIN, F_RST = 1, 2, 4, 8
GO_AWAY_NORMAL, GO_AWAY_PROTOCOL_ERROR = 0, 1
INITIAL_WINDOW = 256 * 1024  # fixed by the spec
MAX_FRAME_PAYLOAD = NOISE_MAX_PLAINTEXT - HEADER_SIZE


class FrameIO(Protocol):
    """Plaintext I/O of a secured connection, whole messages at a time."""

    async def read(self) -> bytes: ...

    async def write(self, chunks: list[bytes]) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class YamuxSettings:
    """One host's muxer settings; every value comes from `config.NetLimits` (see there for why)."""

    window: int
    max_streams: int
    accept_backlog: int
    max_queued_out: int  # bytes of DATA queued for the writer before write() waits
    extra_window_budget: int  # per connection, window beyond 256 KiB/stream
    socket_read_bytes: int  # bytes asked of the socket per read under Noise
    max_pending_replies: int = NET_LIMITS.yamux_max_pending_replies  # unread PING ACKs / RSTs

    @classmethod
    def from_limits(cls, limits: NetLimits = NET_LIMITS) -> YamuxSettings:
        return cls(window=limits.yamux_window_bytes, max_streams=limits.yamux_max_streams,
                   accept_backlog=limits.yamux_accept_backlog,
                   max_queued_out=limits.yamux_max_queued_out_bytes,
                   extra_window_budget=limits.yamux_extra_window_budget_bytes,
                   socket_read_bytes=limits.noise_socket_read_bytes,
                   max_pending_replies=limits.yamux_max_pending_replies)


class YamuxError(Exception):
    """Base of this module's errors (the py-libp2p adapter raises py-libp2p's types instead)."""


class YamuxProtocolError(YamuxError):
    pass


class StreamEOF(YamuxError):
    pass


class StreamReset(YamuxError):
    pass


class StreamClosed(YamuxError):
    pass


class SessionClosed(YamuxError):
    pass


def _fresh(obj: Any, name: str) -> trio.Event:
    """The event to wait on: shared by every waiter until it fires (replacing an unfired event
    would strand the tasks already waiting on it)."""
    ev: trio.Event = getattr(obj, name)
    if ev.is_set():
        ev = trio.Event()
        setattr(obj, name, ev)
    return ev


# ---------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------


class SessionStream:
    """One Yamux stream. `read()` raises `EOF_ERROR` at end of stream and `RESET_ERROR` after a
    reset; the py-libp2p adapter swaps in py-libp2p's exception types."""

    EOF_ERROR: type[Exception] = StreamEOF
    RESET_ERROR: type[Exception] = StreamReset
    CLOSED_ERROR: type[Exception] = StreamClosed

    def __init__(self, conn: YamuxSession, stream_id: int, *, window: int) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self._window = window
        # What arrived and is not read yet: views into the decrypted messages (read() copies
        # them out once, joined) and bytes given back by unread().
        self._chunks: deque[bytes | memoryview] = deque()
        self._buffered = 0
        self._recv_window = INITIAL_WINDOW  # what the peer may still send
        self._send_window = INITIAL_WINDOW  # what we may still send
        self._read_ev = trio.Event()
        self._write_ev = trio.Event()
        self.recv_closed = False
        self.send_closed = False
        self.reset_received = False
        self._awaiting_ack = False

    # -- reading ------------------------------------------------------------------------------

    async def _wait_readable(self) -> None:
        """Until something is buffered; raises at a reset or at the end of the peer's side."""
        while not self._buffered:
            if self.reset_received:
                raise self.RESET_ERROR("stream reset")
            if self.recv_closed:
                raise self.EOF_ERROR("stream closed for receiving")
            await _fresh(self, "_read_ev").wait()

    async def read(self, n: int | None = -1) -> bytes:
        if not self._buffered:
            await self._wait_readable()
        chunks = self._chunks
        if n is None or n < 0 or n >= self._buffered:
            out = bytes(chunks[0]) if len(chunks) == 1 else b"".join(chunks)
            chunks.clear()
        else:
            parts = []
            need = n
            while need:
                c = chunks[0]
                if len(c) <= need:
                    parts.append(chunks.popleft())
                    need -= len(c)
                else:
                    parts.append(c[:need])
                    chunks[0] = c[need:]
                    need = 0
            out = bytes(parts[0]) if len(parts) == 1 else b"".join(parts)
        self._buffered -= len(out)
        self._credit()
        return out

    async def read_view(self) -> bytes | memoryview:
        """The oldest unread chunk as it arrived (often a view into a decrypted message: no
        copy), for a parser that looks at a few bytes and gives the rest back with unread()."""
        if not self._buffered:
            await self._wait_readable()
        out = self._chunks.popleft()
        self._buffered -= len(out)
        self._credit()
        return out

    async def read_views(self) -> list[bytes | memoryview]:
        """Everything received and not read yet, as the chunks it arrived in (views into the
        decrypted messages: no copy); for a parser that joins what it needs once. Raises as
        read() does at end of stream or after a reset."""
        if not self._buffered:
            await self._wait_readable()
        out = list(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        self._credit()
        return out

    def unread(self, data: bytes | memoryview) -> None:
        """Give back bytes a reader took but does not own (the multistream responder, after the
        protocol line): the next read returns them first. Not counted against the window."""
        if data and not self.reset_received:
            self._chunks.appendleft(data)
            self._buffered += len(data)
            self._read_ev.set()

    def _credit(self) -> None:
        # go-yamux sendWindowUpdate: return credit once half the window is consumed.
        delta = self._window - self._buffered - self._recv_window
        if delta >= self._window // 2 and not self.recv_closed and not self.reset_received:
            self._recv_window += delta
            self.conn._queue_ctrl(_HDR.pack(0, TYPE_WINDOW_UPDATE, 0, self.stream_id, delta))

    def _on_data(self, data: bytes | memoryview) -> None:
        if len(data) > self._recv_window:
            raise YamuxProtocolError(f"stream {self.stream_id}: receive window exceeded")
        self._recv_window -= len(data)
        if self.recv_closed or self.reset_received:
            return  # data after FIN/RST: drop
        self._chunks.append(data)
        self._buffered += len(data)
        self._read_ev.set()

    # -- writing ------------------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        conn = self.conn
        total = len(data)
        off = 0
        mv = memoryview(data)
        while off < total or total == 0:
            if self.reset_received:
                raise self.RESET_ERROR("stream reset")
            if self.send_closed:
                raise self.CLOSED_ERROR("stream closed for sending")
            if conn._closing:
                raise self.RESET_ERROR("connection closed")
            if total == 0:
                return
            if self._send_window <= 0:
                await _fresh(self, "_write_ev").wait()
                continue
            n = min(self._send_window, MAX_FRAME_PAYLOAD, total - off)
            self._send_window -= n
            frame = _HDR.pack(0, TYPE_DATA, 0, self.stream_id, n) + mv[off : off + n]
            off += n
            await conn._queue_data(frame)

    async def close(self) -> None:
        """Half-close (FIN): the peer reads EOF; we can still read."""
        if self.send_closed or self.reset_received:
            return
        self.send_closed = True
        self._write_ev.set()
        self.conn._queue_ctrl(_HDR.pack(0, TYPE_WINDOW_UPDATE, F_FIN, self.stream_id, 0))
        if self.recv_closed:
            self.conn._forget(self)

    close_write = close

    async def reset(self) -> None:
        if self.reset_received:
            return
        already_done = self.send_closed and self.recv_closed
        self._mark_reset()
        if not already_done and not self.conn._closing:
            self.conn._queue_ctrl(_HDR.pack(0, TYPE_WINDOW_UPDATE, F_RST, self.stream_id, 0))

    def _acked(self) -> None:
        if self._awaiting_ack:
            self._awaiting_ack = False
            self.conn._unacked -= 1
            self.conn._ack_ev.set()

    def _mark_reset(self) -> None:
        self._acked()
        self.reset_received = True
        self._chunks.clear()
        self._buffered = 0
        self._read_ev.set()
        self._write_ev.set()
        self.conn._forget(self)

    def _on_fin(self) -> None:
        self.recv_closed = True
        self._read_ev.set()
        if self.send_closed:
            self.conn._forget(self)

    @property
    def is_closed(self) -> bool:
        return self.reset_received or (self.send_closed and self.recv_closed)


# ---------------------------------------------------------------------------------------------
# Connection
# ---------------------------------------------------------------------------------------------


class YamuxSession:
    """One Yamux session over a secured connection's plaintext `FrameIO`; a trio service:
    `await nursery.start(session.run, io)` (or `await session.run(io)` in its own task).

    `open_stream()` / `accept_stream()` hand out `stream_class` streams; `close()` sends
    GO_AWAY, stops both tasks and resets every open stream. `on_close` is awaited once when the
    session ends, whoever ended it.
    """

    stream_class: type[SessionStream] = SessionStream
    ERROR: type[Exception] = YamuxError  # open_stream on a closing/full session
    UNAVAILABLE: type[Exception] = SessionClosed  # accept_stream after the session ended

    def __init__(self, *, is_initiator: bool, settings: YamuxSettings,
                 on_close: Callable[[], Awaitable[Any]] | None = None, label: object = "") -> None:
        self.settings = settings
        self.label = label  # for log lines (the peer ID)
        self.on_close = on_close
        self.is_initiator_value = is_initiator
        self._next_id = 1 if is_initiator else 2
        self._window = max(INITIAL_WINDOW, settings.window)
        self._max_streams = settings.max_streams
        self._max_out = settings.max_queued_out
        self.streams: dict[int, SessionStream] = {}
        self._accept_send, self._accept_recv = trio.open_memory_channel[SessionStream](
            settings.accept_backlog)
        self._out: list[bytes] = []
        self._out_data_bytes = 0
        self._pending_replies = 0  # replies to the peer's frames queued since the writer's last batch
        self._out_ev = trio.Event()
        self._space_ev = trio.Event()
        self._idle_ev = trio.Event()
        self._ack_ev = trio.Event()
        self._unacked = 0
        self._max_unacked = settings.accept_backlog
        self._extra_budget = settings.extra_window_budget
        self._extra_granted = 0
        self._io: FrameIO | None = None
        self._closing = False
        self._remote_goaway = False
        self._on_close_called = False
        self._nursery: trio.Nursery | None = None
        self._writer_running = False
        self._established = False
        self.event_started = trio.Event()
        self.event_closed = trio.Event()
        self.event_shutting_down = trio.Event()

    @property
    def is_initiator(self) -> bool:
        return self.is_initiator_value

    @property
    def is_established(self) -> bool:
        return self._established and not self._closing

    @property
    def is_closed(self) -> bool:
        return self.event_closed.is_set()

    async def run(self, io: FrameIO, *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the session over `io` until it ends (peer hang-up, protocol error, `close()`)."""
        if self.event_started.is_set():
            return
        self._io = io
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._writer)
                nursery.start_soon(self._reader)
                self._established = True
                self.event_started.set()
                task_status.started()
        finally:
            await self._teardown()

    async def _close_transport(self) -> None:
        """Close the transport when the session ends before `run()` was given its I/O."""

    async def open_stream(self) -> SessionStream:
        if self._closing or self._remote_goaway:
            raise self.ERROR("connection is shutting down")
        if len(self.streams) >= self._max_streams:
            raise self.ERROR(f"too many open streams ({self._max_streams})")
        while self._unacked >= self._max_unacked and not self._closing:
            await _fresh(self, "_ack_ev").wait()  # go-yamux: at most AcceptBacklog un-ACKed SYNs
        if self._closing:
            raise self.ERROR("connection is shutting down")
        sid = self._next_id
        self._next_id += 2
        stream = self.stream_class(self, sid, window=self._window)
        stream._awaiting_ack = True
        self._unacked += 1
        self.streams[sid] = stream
        delta = self._grant_window(stream)
        self._queue_ctrl(_HDR.pack(0, TYPE_WINDOW_UPDATE, F_SYN, sid, delta))
        return stream

    async def accept_stream(self) -> SessionStream:
        try:
            stream = await self._accept_recv.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise self.UNAVAILABLE("connection closed") from None
        # ACK (with our larger window) once accepted, as go-yamux does: an opener that limits its
        # un-ACKed streams (go-yamux, us) then cannot overrun our accept backlog.
        if not stream.reset_received:
            delta = self._grant_window(stream)
            self._queue_ctrl(_HDR.pack(0, TYPE_WINDOW_UPDATE, F_ACK, stream.stream_id, delta))
        return stream

    def _grant_window(self, stream: SessionStream) -> int:
        """Raise a new stream's window from 256 KiB to `window` while the connection's budget
        for such extra window lasts (bounds what one peer can make us buffer); the delta."""
        extra = self._window - INITIAL_WINDOW
        if extra <= 0 or self._extra_granted + extra > self._extra_budget:
            stream._window = INITIAL_WINDOW
            return 0
        self._extra_granted += extra
        stream._window = self._window
        stream._recv_window += extra
        return extra

    async def close(self, error_code: int = GO_AWAY_NORMAL) -> None:
        if self._closing:
            await self.event_closed.wait()
            return
        if self._io is not None and self._nursery is not None:
            self._idle_ev = trio.Event()
            self._queue_ctrl(_HDR.pack(0, TYPE_GO_AWAY, 0, 0, error_code))
            # give the writer a moment to flush GO_AWAY and pending FINs, then stop. Only if it
            # still runs: when the host shuts down, its cancellation usually reaches the writer
            # first, and waiting for a dead writer cost every shutdown a fixed 0.5 s.
            if self._writer_running and not self._nursery.cancel_scope.cancel_called:
                with trio.move_on_after(0.5):
                    await self._idle_ev.wait()
            self._nursery.cancel_scope.cancel()
            await self.event_closed.wait()
        else:
            await self._teardown()

    # -- internals ----------------------------------------------------------------------------

    def _forget(self, stream: SessionStream) -> None:
        if self.streams.pop(stream.stream_id, None) is not None:
            self._extra_granted -= stream._window - INITIAL_WINDOW

    def _queue_ctrl(self, frame: bytes) -> None:
        if self._closing:
            return
        self._out.append(frame)
        self._out_ev.set()

    def _queue_reply(self, frame: bytes) -> None:
        """A reply the peer's frame asked for; a peer that keeps asking without reading ends
        the connection (NetLimits.yamux_max_pending_replies)."""
        if self._pending_replies >= self.settings.max_pending_replies:
            raise YamuxProtocolError(f"more than {self.settings.max_pending_replies} replies unread")
        self._pending_replies += 1
        self._queue_ctrl(frame)

    async def _queue_data(self, frame: bytes) -> None:
        while self._out_data_bytes >= self._max_out and not self._closing:
            await _fresh(self, "_space_ev").wait()
        if self._closing:
            raise self.stream_class.RESET_ERROR("connection closed")
        self._out.append(frame)
        self._out_data_bytes += len(frame)
        self._out_ev.set()

    async def _writer(self) -> None:
        io = self._io
        assert io is not None
        self._writer_running = True
        try:
            while True:
                if not self._out:
                    self._out_ev = trio.Event()
                    await self._out_ev.wait()
                    # let the other tasks made runnable in this round queue their frames too:
                    # one Noise message and one send() for all of them
                    await trio.lowlevel.checkpoint()
                    continue
                batch, self._out = self._out, []
                self._pending_replies = 0
                chunks: list[bytes] = []
                small: list[bytes] = []
                small_len = 0
                for f in batch:
                    if len(f) > HEADER_SIZE:  # a DATA frame: counted against the out buffer
                        self._out_data_bytes -= len(f)
                    if small_len + len(f) > NOISE_MAX_PLAINTEXT:
                        if small:
                            chunks.append(b"".join(small))
                        small, small_len = [], 0
                    small.append(f)
                    small_len += len(f)
                if small:
                    chunks.append(small[0] if len(small) == 1 else b"".join(small))
                self._space_ev.set()
                await io.write(chunks)
                if not self._out:
                    self._idle_ev.set()
        except trio.Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - the socket broke: the connection is over
            logger.debug("yamux writer to %s stopped: %s", self.label, exc)
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel()
        finally:
            self._writer_running = False
            self._idle_ev.set()  # nothing more will be written: do not keep close() waiting

    async def _reader(self) -> None:
        io = self._io
        assert io is not None
        buf = b""
        body_left = 0
        body_stream: SessionStream | None = None
        body_flags = 0
        streams = self.streams
        unpack_from = _HDR.unpack_from
        try:
            while True:
                plain = await io.read()
                if not plain:
                    break
                if buf:  # a header split across two messages (rare: ~12 in 65,535 boundaries)
                    plain = buf + plain
                    buf = b""
                # Frames are cut as views of the decrypted message: no copy until a stream's
                # read() joins them.
                data = memoryview(plain)
                pos = 0
                end = len(data)
                while pos < end:
                    if body_left:
                        take = min(body_left, end - pos)
                        if body_stream is not None:
                            body_stream._on_data(data[pos : pos + take] if (pos or take != end) else data)
                        pos += take
                        body_left -= take
                        if body_left:
                            break
                        if body_stream is not None and body_flags:
                            self._apply_close_flags(body_stream, body_flags)
                        body_stream = None
                        continue
                    if end - pos < HEADER_SIZE:
                        buf = bytes(data[pos:])
                        break
                    ver, typ, flags, sid, length = unpack_from(data, pos)
                    pos += HEADER_SIZE
                    if ver != 0:
                        raise YamuxProtocolError(f"unknown yamux version {ver}")
                    if typ == TYPE_DATA or typ == TYPE_WINDOW_UPDATE:
                        stream = streams.get(sid)
                        if flags & F_SYN:
                            stream = self._on_syn(sid)
                        elif flags & F_ACK and stream is not None:
                            stream._acked()
                        if typ == TYPE_DATA:
                            if length > self._window:
                                raise YamuxProtocolError(f"DATA frame of {length} bytes")
                            body_left = length
                            body_stream = stream
                            body_flags = flags & (F_FIN | F_RST)
                            if not length and stream is not None and body_flags:
                                self._apply_close_flags(stream, body_flags)
                            continue
                        if stream is not None:
                            if length:
                                stream._send_window += length
                                stream._write_ev.set()
                            if flags & (F_FIN | F_RST):
                                self._apply_close_flags(stream, flags)
                    elif typ == TYPE_PING:
                        if flags & F_SYN:
                            self._queue_reply(_HDR.pack(0, TYPE_PING, F_ACK, 0, length))
                    elif typ == TYPE_GO_AWAY:
                        self._remote_goaway = True
                    else:
                        raise YamuxProtocolError(f"unknown frame type {typ}")
        except trio.Cancelled:
            raise
        except YamuxProtocolError as exc:
            logger.info("yamux protocol error from %s: %s; closing", self.label, exc)
            self._out.append(_HDR.pack(0, TYPE_GO_AWAY, 0, 0, GO_AWAY_PROTOCOL_ERROR))
        except Exception as exc:  # noqa: BLE001 - socket/decrypt errors end the connection
            logger.debug("yamux reader from %s stopped: %s", self.label, exc)
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _apply_close_flags(self, stream: SessionStream, flags: int) -> None:
        if flags & F_RST:
            stream._mark_reset()
        elif flags & F_FIN:
            stream._on_fin()

    def _on_syn(self, sid: int) -> SessionStream | None:
        if sid in self.streams or (sid % 2 == 1) == self.is_initiator_value or sid == 0:
            raise YamuxProtocolError(f"bad SYN for stream {sid}")
        if self._closing or len(self.streams) >= self._max_streams:
            self._queue_reply(_HDR.pack(0, TYPE_WINDOW_UPDATE, F_RST, sid, 0))
            return None
        stream = self.stream_class(self, sid, window=INITIAL_WINDOW)  # raised on accept
        try:
            self._accept_send.send_nowait(stream)
        except trio.WouldBlock:
            self._queue_reply(_HDR.pack(0, TYPE_WINDOW_UPDATE, F_RST, sid, 0))
            return None
        self.streams[sid] = stream
        return stream

    async def _teardown(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._established = False
        self.event_shutting_down.set()
        for stream in list(self.streams.values()):
            stream._mark_reset()
        self.streams.clear()
        self._accept_send.close()
        self._space_ev.set()
        self._ack_ev.set()
        with trio.CancelScope(shield=True):
            if self._io is not None:
                try:
                    with trio.move_on_after(1):
                        await self._io.close()
                except Exception:  # noqa: BLE001 - already broken
                    pass
            else:
                try:
                    await self._close_transport()
                except Exception:  # noqa: BLE001
                    pass
            self.event_closed.set()
            if self.on_close is not None and not self._on_close_called:
                self._on_close_called = True
                try:
                    await self.on_close()
                except Exception:  # noqa: BLE001
                    logger.debug("on_close hook failed", exc_info=True)
