"""`LiteStream`: one Yamux stream of `LiteHost`, with the API of `libp2p_host.Stream`.

`read()` returns b"" at end of stream; a reset raises `errors.StreamReset`; any other muxer
failure (the connection went away, writing after close) raises `NetworkError`. It is also a
trio-style byte stream (`receive_some` / `send_all`), so multistream-select (`negotiate`) runs
over it; bytes the peer pipelined behind its negotiation answer are returned first by `read()`.
"""

from __future__ import annotations

import logging

from ...errors import NetworkError, StreamReset
from ..host import StreamReads
from ..yamux_session import SessionStream, YamuxError
from ..yamux_session import StreamEOF as _EOF
from ..yamux_session import StreamReset as _Reset

logger = logging.getLogger(__name__)


class LiteStream(StreamReads):
    __slots__ = ("_s", "remote_peer", "protocol", "_rbuf", "_read_chunk")

    def __init__(self, stream: SessionStream, remote_peer: str, *, read_chunk: int,
                 protocol: str = "") -> None:
        self._s = stream
        self.remote_peer = remote_peer
        self.protocol = protocol
        self._rbuf = b""
        self._read_chunk = read_chunk

    def negotiated(self, protocol: str, rest: bytes) -> None:
        """multistream-select chose `protocol`; `rest` was read past its answer."""
        self.protocol = protocol
        self._rbuf = rest

    async def read(self, max_bytes: int | None = None) -> bytes:
        """Up to `max_bytes` (default NetLimits.read_chunk_bytes) bytes; b"" at EOF."""
        n = max_bytes or self._read_chunk
        if self._rbuf:
            out, self._rbuf = self._rbuf[:n], self._rbuf[n:]
            return out
        return await self.receive_some(n)

    async def read_views(self) -> list[bytes | memoryview]:
        """Like read(), as a list of chunks that may be views of received bytes (read-only, no
        copy: the Yamux stream's own chunks); [] at EOF. For parsers that join once (bitswap,
        `FrameDecoder.feed(keep=True)`), as `libp2p_host.Stream.read_views`."""
        if self._rbuf:
            out, self._rbuf = self._rbuf, b""
            return [out]
        try:
            return await self._s.read_views()
        except _EOF:
            return []
        except _Reset:
            raise StreamReset(f"stream {self.protocol or '(negotiating)'} from "
                              f"{self.remote_peer} was reset") from None
        except YamuxError as exc:
            raise NetworkError(f"read on {self.protocol} from {self.remote_peer}: {exc}") from None

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        try:
            return await self._s.read(max_bytes or self._read_chunk)
        except _EOF:
            return b""
        except _Reset:
            raise StreamReset(f"stream {self.protocol or '(negotiating)'} from "
                              f"{self.remote_peer} was reset") from None
        except YamuxError as exc:
            raise NetworkError(f"read on {self.protocol} from {self.remote_peer}: {exc}") from None

    async def write(self, data: bytes) -> None:
        try:
            await self._s.write(data)
        except _Reset:
            raise StreamReset(f"stream {self.protocol or '(negotiating)'} to "
                              f"{self.remote_peer} was reset") from None
        except YamuxError as exc:
            raise NetworkError(f"write on {self.protocol} to {self.remote_peer}: {exc}") from None

    send_all = write

    async def close_write(self) -> None:
        """Half-close: the peer reads EOF, we can still read its answer."""
        await self._s.close()

    async def close(self) -> None:
        """Close our side (FIN), as `libp2p_host.Stream.close` does over the same muxer."""
        await self._s.close()

    async def reset(self) -> None:
        """Abort the stream: the peer sees a reset, not a clean end."""
        try:
            await self._s.reset()
        except Exception:  # noqa: BLE001 - resetting a dead stream is not an error
            logger.debug("reset of %s stream failed", self.protocol, exc_info=True)
