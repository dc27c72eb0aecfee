"""Inbound streams on our Yamux: multistream-select answered here, not by py-libp2p's Multiselect.

Kubo opens a new stream for every Bitswap reply (~245 for 60 MiB). py-libp2p's responder
(`BasicHost._swarm_stream_handler` -> `Multiselect.negotiate`) reads each line a few bytes at a
time through NetStream (a trio lock per read) and answers each line with its own write: about a
tenth of a daemon fetch's CPU. `inbound_handler` runs the lean host's listener
(`net/lite/negotiate.accept_chunks`: the pure `Responder` over whole chunks of the Yamux stream)
instead, so a pipelining dialer (go-libp2p, Helia, our lazy `new_stream`) is answered with one
write. The handler registry stays py-libp2p's (`host.get_mux().handlers`: ours from `Libp2pHost.set_stream_handler`, and
identify/ping), so the chosen protocol's handler is called as `_swarm_stream_handler` would call
it; bytes read past the choice are given back to the stream (`unread`) for that handler, without
copying the (often 64 KiB) chunk they came in. `ls` is answered `na`, as the lean host does (the
spec allows it). Streams of another muxer (mplex) go to py-libp2p's responder unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamClosed, StreamEOF, StreamReset
from libp2p.stream_muxer.exceptions import (
    MuxedStreamClosed,
    MuxedStreamEOF,
    MuxedStreamError,
    MuxedStreamReset,
)

from ...errors import JzfsError, Timeout
from ..lite.negotiate import accept_chunks
from .yamux import YamuxStream

logger = logging.getLogger(__name__)

InboundHandler = Callable[[Any], Awaitable[None]]


class DirectStream:
    """What `Libp2pHost.Stream` needs of an INetStream, straight over our Yamux stream, for the
    handlers `Libp2pHost.set_stream_handler` registers (marked `jzfs_direct`): no NetStream,
    whose state lock and the swarm's per-stream bookkeeping cost more than one of Kubo's
    one-message streams. Errors are py-libp2p's stream errors, as NetStream raises them."""

    __slots__ = ("muxed_stream", "muxed_conn", "_protocol")

    def __init__(self, muxed: YamuxStream, protocol: str) -> None:
        self.muxed_stream = muxed
        self.muxed_conn = muxed.muxed_conn
        self._protocol = TProtocol(protocol)

    def get_protocol(self) -> TProtocol:
        return self._protocol

    def set_protocol(self, protocol: TProtocol) -> None:
        self._protocol = protocol

    async def read(self, n: int | None = None) -> bytes:
        try:
            return await self.muxed_stream.read(n)
        except MuxedStreamEOF:
            raise StreamEOF() from None
        except MuxedStreamReset as exc:
            raise StreamReset() from exc

    async def write(self, data: bytes) -> None:
        try:
            await self.muxed_stream.write(data)
        except MuxedStreamClosed as exc:
            raise StreamClosed() from exc
        except MuxedStreamError as exc:
            raise StreamReset() from exc

    async def close(self) -> None:
        await self.muxed_stream.close()

    async def close_write(self) -> None:
        await self.muxed_stream.close()

    async def reset(self) -> None:
        await self.muxed_stream.reset()


def inbound_handler(handlers: dict[Any, Any], fallback: InboundHandler, *, timeout_s: float,
                    max_message_bytes: int) -> InboundHandler:
    """The swarm's handler for every inbound stream (`Swarm.set_stream_handler`): negotiates on
    our Yamux streams against `handlers` (protocol -> handler), `fallback` (py-libp2p's own
    responder) for any other stream. A dialer that has not chosen within `timeout_s` is reset."""

    def supported(proto: str) -> bool:
        return handlers.get(TProtocol(proto)) is not None

    async def negotiate(muxed: YamuxStream) -> str | None:
        """The protocol the dialer chose (bytes read past it given back), None if it failed."""
        try:
            return await accept_chunks(muxed, supported, timeout_s=timeout_s,
                                       max_message_bytes=max_message_bytes)
        except Timeout:
            return None
        except (MuxedStreamError, JzfsError) as exc:  # EOF/reset, or a malformed line
            logger.debug("inbound stream from %s: negotiation failed: %s", muxed.conn.peer_id, exc)
            return None

    async def handle(net_stream: Any) -> None:
        muxed = net_stream.muxed_stream
        if not isinstance(muxed, YamuxStream):
            await fallback(net_stream)
            return
        chosen = muxed.negotiated or await negotiate(muxed)  # `direct` may have negotiated
        handler = handlers.get(TProtocol(chosen)) if chosen is not None else None
        if handler is None:  # timed out, failed, or the handler went away meanwhile
            await net_stream.reset()
            return
        net_stream.set_protocol(TProtocol(chosen))
        await handler(net_stream)

    async def direct(swarm_conn: Any, muxed: YamuxStream,
                     upstream: Callable[[Any, Any], Awaitable[None]]) -> None:
        """From `SwarmConn._handle_muxed_stream` (libp2p_fixes fix 6), before any NetStream
        exists: our own handlers get a `DirectStream`; any other (identify, ping) goes the
        upstream way (`upstream`: NetStream, then `handle`, which skips the negotiation)."""
        chosen = await negotiate(muxed)
        handler = handlers.get(TProtocol(chosen)) if chosen is not None else None
        if handler is None:
            await muxed.reset()
            return
        if getattr(handler, "jzfs_direct", False):
            await handler(DirectStream(muxed, chosen))
            return
        muxed.negotiated = chosen
        await upstream(swarm_conn, muxed)

    handle.direct = direct  # type: ignore[attr-defined]
    return handle
