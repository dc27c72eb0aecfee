"""Our Yamux muxer as py-libp2p sees it: a thin `IMuxedConn`/`IMuxedStream` face over the one
session implementation, `net/yamux_session.py` (which imports no libp2p and is also what the
dial-only `LiteHost` runs). Used instead of py-libp2p 0.8.1's
`libp2p.stream_muxer.yamux.yamux.Yamux`.

Why: py-libp2p's Yamux (1,700 lines) spends most of a transfer's CPU outside the cipher —
per-frame f-string debug logging, three trio locks per frame, a WINDOW_UPDATE frame for every
`read()` (multistream-select reads 1 byte at a time, so opening a stream cost ~45 frames), a
10 ms polling loop when the send window is empty, and one Noise message plus one `send()` per
yamux frame. Measured in one process (both ends, 2-core box): ~115 MB/s on one stream and ~300
inbound streams/s. See bench/bench_stream.py for the figures with this muxer.

This face adds only what py-libp2p needs: its constructor `(secured_conn, peer_id)`, `start()`
(which builds the plaintext I/O, `noise_io.make_io`, and runs the session), the transport
address getters, and py-libp2p's exception types (`MuxedStreamEOF`, `MuxedStreamReset`, …),
which its `NetStream` translates.

Settings: each host builds its muxer factory with `yamux_factory(YamuxSettings.from_limits(...))`
from its own NetLimits and registers it as its muxer; a connection is always given its settings
(no module-level default), so nothing here is process-wide.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import multiaddr
from libp2p.abc import IMuxedConn, IMuxedStream, ISecureConn
from libp2p.connection_types import ConnectionType
from libp2p.peer.id import ID
from libp2p.stream_muxer.exceptions import (
    MuxedConnUnavailable,
    MuxedStreamClosed,
    MuxedStreamEOF,
    MuxedStreamError,
    MuxedStreamReset,
)

from ..yamux_session import (  # noqa: F401 - re-exported for tests and callers
    F_ACK,
    F_FIN,
    F_RST,
    F_SYN,
    GO_AWAY_NORMAL,
    HEADER_SIZE,
    INITIAL_WINDOW,
    MAX_FRAME_PAYLOAD,
    PROTOCOL_ID,
    TYPE_DATA,
    TYPE_GO_AWAY,
    TYPE_PING,
    TYPE_WINDOW_UPDATE,
    SessionStream,
    YamuxProtocolError,
    YamuxSession,
    YamuxSettings,
)
from .noise_io import make_io


def yamux_factory(settings: YamuxSettings) -> Callable[[ISecureConn, ID], Yamux]:
    """The muxer "class" a host registers: py-libp2p calls it as `cls(secured_conn, peer_id)`."""

    def make(secured_conn: ISecureConn, peer_id: ID) -> Yamux:
        return Yamux(secured_conn, peer_id, settings=settings)

    return make


class YamuxStream(SessionStream, IMuxedStream):
    EOF_ERROR = MuxedStreamEOF
    RESET_ERROR = MuxedStreamReset
    CLOSED_ERROR = MuxedStreamClosed

    def __init__(self, conn: Yamux, stream_id: int, *, window: int) -> None:  # type: ignore[override]
        super().__init__(conn, stream_id, window=window)
        self.muxed_conn = conn
        self.negotiated: str | None = None  # the protocol inbound.py negotiated, if it did

    def set_deadline(self, ttl: int) -> None:
        raise NotImplementedError("Yamux does not support deadlines")

    def get_remote_address(self) -> tuple[str, int] | None:
        return self.muxed_conn.get_remote_address()  # type: ignore[attr-defined]

    async def __aenter__(self) -> YamuxStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class Yamux(YamuxSession, IMuxedConn):
    stream_class = YamuxStream
    ERROR = MuxedStreamError
    UNAVAILABLE = MuxedConnUnavailable

    def __init__(self, secured_conn: ISecureConn, peer_id: ID, is_initiator: bool | None = None,
                 on_close: Callable[[], Awaitable[Any]] | None = None, *,
                 settings: YamuxSettings) -> None:
        super().__init__(
            is_initiator=secured_conn.is_initiator if is_initiator is None else is_initiator,
            settings=settings, on_close=on_close, label=peer_id)
        self.secured_conn = secured_conn
        self.peer_id = peer_id

    def rtt(self) -> float:
        return 0.0

    def get_transport_addresses(self) -> list[multiaddr.Multiaddr]:
        return self.secured_conn.get_transport_addresses()

    def get_connection_type(self) -> ConnectionType:
        return self.secured_conn.get_connection_type()

    def get_remote_address(self) -> tuple[str, int] | None:
        return self.secured_conn.get_remote_address()

    async def start(self) -> None:
        if self.event_started.is_set():
            return
        await self.run(make_io(self.secured_conn,
                               socket_read_bytes=self.settings.socket_read_bytes))

    async def _close_transport(self) -> None:
        await self.secured_conn.close()
