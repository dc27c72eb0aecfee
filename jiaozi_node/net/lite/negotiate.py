"""multistream-select over any trio-style stream (`async receive_some(max)`, `async send_all`).

Thin adapter over the pure `multistream` machines. Each returns `(protocol, rest)`: `rest` is
what was read past the negotiation (a peer may pipeline its first data right behind its answer),
which the caller must consume before reading the stream again. Reads are large, never byte by
byte. A peer that stalls is cut off after NetLimits.negotiate_timeout_s (raises Timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import trio

from ...config import NET_LIMITS
from ...errors import NetworkError, Timeout
from .multistream import Initiator, Responder


class ByteStream(Protocol):
    async def receive_some(self, max_bytes: int | None = None) -> bytes: ...

    async def send_all(self, data: bytes) -> None: ...


async def _run(stream: Any, machine: Initiator | Responder, what: str, read_bytes: int,
               timeout_s: float | None) -> tuple[str, bytes]:
    try:
        with trio.fail_after(timeout_s if timeout_s is not None else float("inf")):
            await stream.send_all(machine.initial_bytes())
            while machine.protocol is None:
                data = await stream.receive_some(read_bytes)
                if not data:
                    raise NetworkError(f"peer closed the stream during multistream-select ({what})")
                out = machine.receive_data(data)
                if out:
                    await stream.send_all(out)
    except trio.TooSlowError:
        raise Timeout(f"multistream-select ({what}): no answer in {timeout_s} s") from None
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise NetworkError(f"stream broken during multistream-select ({what}): {exc}") from None
    return machine.protocol, machine.rest()


async def select(stream: ByteStream, protocols: str | Sequence[str], *,
                 read_bytes: int = NET_LIMITS.noise_socket_read_bytes,
                 timeout_s: float | None = NET_LIMITS.negotiate_timeout_s,
                 max_message_bytes: int = NET_LIMITS.max_mss_message_bytes) -> tuple[str, bytes]:
    """Dialer: propose `protocols` in order (header + first one in a single write).

    Returns (chosen protocol, bytes read past it). Raises ProtocolNotSupported when the peer
    refuses them all, RemoteProtocolError on a malformed answer, NetworkError on EOF, Timeout.
    """
    protos = [protocols] if isinstance(protocols, str) else list(protocols)
    machine = Initiator(protos, max_message_bytes=max_message_bytes)
    return await _run(stream, machine, ", ".join(protos), read_bytes, timeout_s)


async def accept(stream: ByteStream, supported: Callable[[str], bool], *,
                 read_bytes: int = NET_LIMITS.noise_socket_read_bytes,
                 timeout_s: float | None = NET_LIMITS.negotiate_timeout_s,
                 max_message_bytes: int = NET_LIMITS.max_mss_message_bytes) -> tuple[str, bytes]:
    """Listener: answer proposals until `supported` takes one; returns (protocol, rest)."""
    machine = Responder(supported, max_message_bytes=max_message_bytes)
    return await _run(stream, machine, "inbound", read_bytes, timeout_s)


# Bytes of a chunk shown to the responder at a time: a pipelined header + protocol line is ~40
# bytes, so the rest of the chunk (the dialer's first message) is given back as it arrived.
_PEEK = 256


class ChunkStream(Protocol):
    """Our Yamux `SessionStream`: chunks as they arrived, and a way to give bytes back."""

    async def read_view(self) -> bytes | memoryview: ...

    def unread(self, data: bytes | memoryview) -> None: ...

    async def write(self, data: bytes) -> None: ...


async def accept_chunks(stream: ChunkStream, supported: Callable[[str], bool], *,
                        timeout_s: float | None = NET_LIMITS.negotiate_timeout_s,
                        max_message_bytes: int = NET_LIMITS.max_mss_message_bytes) -> str:
    """Listener over our Yamux stream (LiteHost's inbound streams; what net/transport/inbound.py
    does for the daemon). Kubo opens a stream per Bitswap message and pipelines its header,
    protocol and message in one chunk: the responder sees only the chunk's first `_PEEK` bytes
    unless it needs more, and what was read past the choice is given back (`unread`) as the
    view it arrived in, not copied (`accept` joins each read and slices the rest: two copies of
    every block). Our header goes out with our first answer: one write per stream, not two.
    Returns the protocol; raises Timeout, RemoteProtocolError; the stream's own errors (EOF,
    reset) pass through.
    """
    responder = Responder(supported, max_message_bytes=max_message_bytes)
    header = responder.initial_bytes()  # dialers speak first (go-libp2p, js-libp2p, py-libp2p)
    tail: bytes | memoryview = b""
    try:
        with trio.fail_after(timeout_s if timeout_s is not None else float("inf")):
            while responder.protocol is None:
                chunk = memoryview(await stream.read_view())  # slices of it: views, not copies
                head, tail = chunk[:_PEEK], chunk[_PEEK:]
                out = responder.receive_data(head)
                if responder.protocol is None and len(tail):
                    out += responder.receive_data(tail)
                    tail = b""
                if header:
                    out, header = header + out, b""
                if out:
                    await stream.write(out)
    except trio.TooSlowError:
        raise Timeout(f"multistream-select (inbound): no choice in {timeout_s} s") from None
    if len(tail):
        stream.unread(tail)
    stream.unread(responder.rest())  # before `tail`: it came first
    return responder.protocol
