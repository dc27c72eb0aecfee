"""The libp2p Noise handshake over a trio byte stream, and the secured channel it gives.

Thin adapter over the pure `noise` core. `secure_outbound(sock, identity, expected_peer_id)` runs
the XX handshake as the dialer (after multistream-select chose `/noise`), `secure_inbound` as the
listener. Both return a `SecureChannel`: the same shape as `net/transport/noise_io.NoiseIO`
(`read()` / `write(chunks)` / `close()`, which our Yamux consumes) plus trio-stream
`receive_some` / `send_all`, so multistream-select (`negotiate.select`) runs over it too.

Muxer: pass `muxers=("/yamux/1.0.0",)` (the default) to offer early negotiation; when
`channel.muxer` is set, the peer already agreed on it and multistream-select for the muxer MUST
be skipped (the peer will not answer it). When it is None, select the muxer as usual.

The whole handshake is bounded by NetLimits.connect_timeout_s (Timeout); a peer that closes
mid-handshake gives NetworkError, a malformed or forged one RemoteProtocolError, the wrong peer
at the address NetworkError("peer ID mismatch ...").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import trio

from ...config import NET_LIMITS, NetLimits
from ...errors import NetworkError, Timeout
from ...ipns.crypto import PublicKey
from .noise import NOISE_MAX_PLAINTEXT, HandshakeResult, NoiseHandshake, NoiseTransport

YAMUX = "/yamux/1.0.0"


class SecureChannel:
    """Plaintext over Noise: whole Noise messages in, batches of Noise messages out."""

    def __init__(self, sock: Any, result: HandshakeResult, *, socket_read_bytes: int) -> None:
        self._sock = sock
        self._transport: NoiseTransport = result.transport
        self._read_bytes = socket_read_bytes
        self._pending = b""  # plaintext decrypted but not yet returned by receive_some
        self._messages: deque[bytes] = deque()  # decrypted messages not yet returned by read
        self.remote_peer_id: str = result.remote_peer_id
        self.remote_public_key: PublicKey = result.remote_public_key
        self.muxer: str | None = result.muxer

    async def read(self) -> bytes:
        """The plaintext of one whole Noise message (as decrypted: no join of a read's
        messages); b"" at EOF. Raises RemoteProtocolError for a forged message."""
        if self._pending:
            out, self._pending = self._pending, b""
            return out
        if self._messages:
            return self._messages.popleft()
        msgs = [m for m in self._transport.decrypt_messages() if m]  # came with the handshake
        while not msgs:
            try:
                data = await self._sock.receive_some(self._read_bytes)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise NetworkError(f"connection to {self.remote_peer_id} broke: {exc}") from None
            if not data:
                if self._transport.buffered:
                    raise NetworkError(f"{self.remote_peer_id} closed the connection in the "
                                       "middle of a Noise message")
                return b""
            msgs = self._transport.decrypt_messages(data)
            if not all(msgs):  # an empty Noise message carries nothing (b"" here means EOF)
                msgs = [m for m in msgs if m]
        self._messages.extend(msgs[1:])
        return msgs[0]

    async def write(self, chunks: list[bytes]) -> None:
        """Each chunk (<= 65,519 bytes) becomes one Noise message; all in one send."""
        try:
            await self._sock.send_all(self._transport.encrypt(chunks))
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise NetworkError(f"connection to {self.remote_peer_id} broke: {exc}") from None

    async def close(self) -> None:
        await self._sock.aclose()

    # trio.abc.Stream-style, for multistream-select over the secured connection
    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        data = await self.read()
        if max_bytes is not None and len(data) > max_bytes:
            data, self._pending = data[:max_bytes], data[max_bytes:]
        return data

    async def send_all(self, data: bytes) -> None:
        n = NOISE_MAX_PLAINTEXT
        if data:
            await self.write([bytes(data[i : i + n]) for i in range(0, len(data), n)])

    async def aclose(self) -> None:
        await self.close()


async def _handshake(sock: Any, hs: NoiseHandshake, who: str, limits: NetLimits,
                     received: bytes) -> SecureChannel:
    try:
        with trio.fail_after(limits.connect_timeout_s):
            first = hs.initial_bytes()
            if first:
                await sock.send_all(first)
            if received:
                out = hs.receive_data(received)
                if out:
                    await sock.send_all(out)
            while not hs.done:
                data = await sock.receive_some(limits.noise_socket_read_bytes)
                if not data:
                    raise NetworkError(f"{who} closed the connection during the Noise handshake")
                out = hs.receive_data(data)
                if out:
                    await sock.send_all(out)
    except trio.TooSlowError:
        raise Timeout(f"Noise handshake with {who}: no answer in {limits.connect_timeout_s} s") \
            from None
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise NetworkError(f"connection to {who} broke during the Noise handshake: {exc}") from None
    return SecureChannel(sock, hs.result(), socket_read_bytes=limits.noise_socket_read_bytes)


async def secure_outbound(sock: Any, identity: Any, expected_peer_id: str | None, *,
                          limits: NetLimits = NET_LIMITS, muxers: Sequence[str] = (YAMUX,),
                          received: bytes = b"") -> SecureChannel:
    """Dialer side of the handshake on `sock` (after `/noise` was selected).

    `expected_peer_id`: the `/p2p/` part of the dialed address; the handshake fails unless the
    remote proves that identity (None: accept any authenticated peer). `received`: bytes
    multistream-select read past its answer (the `rest` of `negotiate.select`).
    """
    hs = NoiseHandshake(identity, initiator=True, expected_peer_id=expected_peer_id, muxers=muxers)
    return await _handshake(sock, hs, expected_peer_id or "peer", limits, received)


async def secure_inbound(sock: Any, identity: Any, *, limits: NetLimits = NET_LIMITS,
                         muxers: Sequence[str] = (YAMUX,), received: bytes = b"") -> SecureChannel:
    """Listener side of the handshake on `sock`. `received`: the `rest` of `negotiate.accept`
    (a dialer may pipeline message 1 right behind its `/noise` proposal)."""
    hs = NoiseHandshake(identity, initiator=False, muxers=muxers)
    return await _handshake(sock, hs, "peer", limits, received)
