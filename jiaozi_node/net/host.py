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

import inspect
import logging
from abc import ABC, abstractmethod
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


class StreamReads(ABC):
    """`read_exactly` / `read_until_eof` over a stream's `read()` (mixed into both hosts' streams)."""

    __slots__ = ()

    @abstractmethod
    async def read(self, max_bytes: int | None = None) -> bytes:
        """Up to `max_bytes`; b"" at the end of the stream (each host's stream provides it)."""

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


# ---------------------------------------------------------------------- identify, ping clients
# Both hosts' `identify` and `ping` are these (the libp2p-free key check, for both).

IDENTIFY_PROTOCOL = "/ipfs/id/1.0.0"
PING_PROTOCOL = "/ipfs/ping/1.0.0"
PING_BYTES = 32  # the ping protocol's fixed payload size



async def fire_peer_callbacks(callbacks: list[PeerCallback], peer: str) -> None:
    """Call each connect/disconnect listener with `peer` (awaiting those that are coroutines); one
    faulty listener is logged and does not stop the others."""
    for cb in list(callbacks):
        try:
            res = cb(peer)
            if inspect.isawaitable(res):
                await res
        except Exception:  # noqa: BLE001 - one faulty listener must not break the others
            logging.getLogger(__name__).exception("connection callback %r failed for %s", cb, peer)


async def identify_peer(host: Host, peer_id: str, *, limits: Any, cache: dict[str, dict[str, Any]],
                        on_cached: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The peer's identify record: ID, AgentVersion, ProtocolVersion, Protocols, Addresses, PublicKey.

    Cached in `cache` while the peer stays connected (the host drops the entry on disconnect);
    `on_cached(info)` runs when a fresh record is cached. Raises Timeout, NetworkError.
    """
    from ..errors import InvalidInput, RemoteProtocolError, Timeout
    from ..ipns.crypto import PublicKey
    from . import wire
    from .lite.noise import peer_id_of

    cached = cache.get(peer_id)
    if cached is not None:
        return cached
    limit = limits.max_identify_bytes
    with trio.move_on_after(limits.identify_timeout_s) as scope:
        stream = await host.new_stream(peer_id, [IDENTIFY_PROTOCOL])
        try:
            raw = await stream.read_until_eof(limit + 10)
        finally:
            await stream.close()
    if scope.cancelled_caught:
        raise Timeout(f"identify of {peer_id} timed out")
    try:
        msg = wire.decode_identify(raw, max_bytes=limit, max_entries=limits.max_identify_entries)
        key = PublicKey.from_protobuf(msg.public_key)
    except (RemoteProtocolError, InvalidInput) as exc:
        raise NetworkError(f"identify from {peer_id}: {exc}") from None
    if peer_id_of(key) != peer_id:
        raise NetworkError(f"identify from {peer_id} carries someone else's key")
    info = {"ID": peer_id, "AgentVersion": msg.agent_version,
            "ProtocolVersion": msg.protocol_version, "Protocols": sorted(msg.protocols),
            "Addresses": _addr_strings(msg.listen_addrs), "PublicKey": msg.public_key}
    if host.is_connected(peer_id):
        cache[peer_id] = info
        if on_cached is not None:
            on_cached(info)
    return info


async def ping_peer(host: Host, peer_id: str, *, count: int, limits: Any) -> list[float]:
    """Round-trip times in seconds of `count` pings (/ipfs/ping/1.0.0, 32-byte echo)."""
    import os
    import time

    from ..errors import Timeout

    rtts: list[float] = []
    with trio.move_on_after(limits.ping_timeout_s * count) as scope:
        stream = await host.new_stream(peer_id, [PING_PROTOCOL])
        try:
            for _ in range(count):
                payload = os.urandom(PING_BYTES)
                t0 = time.perf_counter()
                await stream.write(payload)
                echo = await stream.read_exactly(PING_BYTES)
                rtts.append(time.perf_counter() - t0)
                if echo != payload:
                    raise NetworkError(f"ping to {peer_id}: wrong echo")
        finally:
            await stream.close()
    if scope.cancelled_caught:
        raise Timeout(f"ping to {peer_id} timed out")
    return rtts


def _addr_strings(raw: list[bytes]) -> list[str]:
    """Text form of binary multiaddrs (those that cannot be parsed are skipped)."""
    import multiaddr  # only identify needs it (~12 ms to import)

    out = []
    for a in raw:
        try:
            out.append(str(multiaddr.Multiaddr(a)))
        except Exception:  # noqa: BLE001 - multiaddr raises assorted types
            continue
    return out
