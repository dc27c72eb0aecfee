"""What protocol code needs of a libp2p host, as typing Protocols; imports no libp2p.

Two hosts satisfy `Host`:
- `net/libp2p_host.Libp2pHost` (py-libp2p: listens, every transport py-libp2p has, identify
  push, mDNS): the daemon, and one-shot commands that need routing or a non-TCP address;
- `net/lite/host.LiteHost` (dial-only, TCP + Noise + our Yamux, no py-libp2p import, ~0.6 s
  less start-up): one-shot commands that dial typed TCP addresses (`get/cat/pin --peer`,
  clone/fetch/pull/push without a daemon).

Consumers (bitswap/service.py, versioning/sync.py, node/retrieval.py, node/online.py) are
typed against `Host`; peer IDs are base58 strings and addresses multiaddr strings on both.

`StreamReads` holds the two read helpers both hosts' streams share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import trio

from ..errors import LimitExceeded, NetworkError


class HostStream(Protocol):
    """One libp2p stream. `read()` returns b"" at end of stream; a reset raises StreamReset."""

    remote_peer: str
    protocol: str

    async def read(self, max_bytes: int | None = None) -> bytes: ...

    async def read_exactly(self, n: int) -> bytes: ...

    async def read_until_eof(self, max_bytes: int) -> bytes: ...

    async def write(self, data: bytes) -> None: ...

    async def close_write(self) -> None: ...

    async def close(self) -> None: ...

    async def reset(self) -> None: ...


StreamHandler = Callable[[Any], Awaitable[None]]  # called with a HostStream
PeerCallback = Callable[[str], Awaitable[None] | None]


class Host(Protocol):
    """The facade of `Libp2pHost` that protocol code and one-shot commands use."""

    peer_id: str

    async def run(self, *, task_status: trio.TaskStatus[None] = ...) -> None: ...

    async def connect(self, addr: str) -> str: ...

    async def disconnect(self, peer_id: str) -> None: ...

    def peers(self) -> list[str]: ...

    def is_connected(self, peer_id: str) -> bool: ...

    def known_addrs(self, peer_id: str) -> list[str]: ...

    def on_connected(self, callback: PeerCallback) -> None: ...

    def on_disconnected(self, callback: PeerCallback) -> None: ...

    def set_stream_handler(self, protocol_ids: str | Sequence[str],
                           handler: StreamHandler) -> None: ...

    def remove_stream_handler(self, protocol_ids: str | Sequence[str]) -> None: ...

    async def new_stream(self, peer_id: str, protocol_ids: str | Sequence[str]) -> Any: ...

    @property
    def public_key_protobuf(self) -> bytes: ...

    def listen_addrs(self) -> list[str]: ...

    def addrs(self) -> list[str]: ...

    def protocols(self) -> list[str]: ...

    async def identify(self, peer_id: str) -> dict[str, Any]: ...

    async def ping(self, peer_id: str, *, count: int = 1) -> list[float]: ...


class StreamReads:
    """`read_exactly` / `read_until_eof` over a stream's `read()` (mixed into both hosts' streams)."""

    __slots__ = ()

    async def read(self, max_bytes: int | None = None) -> bytes:
        raise NotImplementedError

    async def read_exactly(self, n: int) -> bytes:
        """Exactly `n` bytes; raises NetworkError if the stream ends first."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            chunk = await self.read(n - got)
            if not chunk:
                raise NetworkError(f"stream ended after {got} of {n} bytes")
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    async def read_until_eof(self, max_bytes: int) -> bytes:
        """Everything up to EOF; raises LimitExceeded past `max_bytes`."""
        parts: list[bytes] = []
        got = 0
        while True:
            chunk = await self.read()
            if not chunk:
                return b"".join(parts)
            got += len(chunk)
            if got > max_bytes:
                raise LimitExceeded(f"stream sent more than {max_bytes} bytes")
            parts.append(chunk)
