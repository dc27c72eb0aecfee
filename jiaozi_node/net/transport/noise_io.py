"""Plaintext I/O under our Yamux muxer (`net.transport.yamux`): whole Noise messages in,
batches of frames out, bypassing py-libp2p's per-message layers. See `NoiseIO`.

Relies on py-libp2p 0.8.1 internals (`NoiseTransportReadWriter.noise_state` / `.read_writer`,
`SecureSession._drain`), pinned by tests/unit/net/transport/test_upstream_pins.py."""

from __future__ import annotations

from functools import partial
from typing import Any

from libp2p.abc import ISecureConn
from libp2p.security.noise.io import NoiseTransportReadWriter

from ..lite.noise import (  # the one Noise transport framing (pure)
    NOISE_MAX_PLAINTEXT,
    seal_frames,
)


class GenericIO:
    """Any ISecureConn (TLS, plaintext): plain read/write."""

    def __init__(self, conn: ISecureConn) -> None:
        self._conn = conn

    async def read(self) -> bytes:
        return await self._conn.read(NOISE_MAX_PLAINTEXT)

    async def write(self, chunks: list[bytes]) -> None:
        await self._conn.write(b"".join(chunks))

    async def close(self) -> None:
        await self._conn.close()


class NoiseIO:
    """Noise over TCP without py-libp2p's per-message layers.

    Reads the socket in large chunks and decrypts the Noise messages in them one by one; writes a
    batch of plaintext chunks (each <= 65,519 bytes) as Noise messages in a single `send()`.
    Only the muxer reads/writes the secured connection once it is started, so bypassing
    SecureSession is safe; plaintext SecureSession had already buffered (the peer may pipeline
    yamux frames behind the muxer negotiation) is returned first.
    """

    def __init__(self, conn: Any, *, socket_read_bytes: int) -> None:
        rw: NoiseTransportReadWriter = conn.conn
        self._read_bytes = socket_read_bytes
        self._conn = conn
        self._state = rw.noise_state
        # NoiseConnection.decrypt insists on `bytes`; its cipher state takes a memoryview (the
        # AEAD is cryptography's ChaCha20Poly1305). A bad tag raises InvalidTag: the muxer's
        # reader ends the connection, as NoiseConnection's NoiseInvalidMessage would.
        self._decrypt = partial(rw.noise_state.noise_protocol.cipher_state_decrypt.decrypt_with_ad, None)
        self._raw = rw.read_writer.read_write_closer
        self._buf = b""  # the last socket read
        self._pos = 0  # where its next Noise message starts
        leftover = conn._drain(None) if hasattr(conn, "_drain") else b""
        self._pending = leftover

    async def read(self) -> bytes:
        """The plaintext of the next Noise message (b"" at EOF).

        One message per call, decrypted straight from the socket read it lies in (a memoryview,
        no copy); only a message split across two reads is joined (~once per read). Joining every
        read's messages, and each read onto the previous one's tail, copied the stream twice
        (~10% of a daemon fetch's CPU).
        """
        if self._pending:
            out, self._pending = self._pending, b""
            return out
        buf, pos = self._buf, self._pos
        left = len(buf) - pos
        if left >= 2:
            n = (buf[pos] << 8) | buf[pos + 1]
            if left - 2 >= n:
                self._pos = pos + 2 + n
                return self._decrypt(memoryview(buf)[pos + 2 : pos + 2 + n])
        # the next message continues in the following socket read(s)
        parts: list[bytes | memoryview] = [memoryview(buf)[pos:]] if left else []
        have = left
        while True:
            data = await self._raw.read(self._read_bytes)
            if not data:
                self._buf, self._pos = b"", 0
                return b""
            if have + len(data) < 2:
                parts.append(data)
                have += len(data)
                continue
            head = bytes(parts[0][:2]) if parts and len(parts[0]) >= 2 else (b"".join(parts) + data[:2])[:2]
            need = 2 + ((head[0] << 8) | head[1])
            if have + len(data) >= need:
                k = need - have
                self._buf, self._pos = data, k
                if not parts:  # the message starts this read (the usual case)
                    return self._decrypt(memoryview(data)[2:k])
                return self._decrypt(memoryview(b"".join([*parts, memoryview(data)[:k]]))[2:])
            parts.append(data)
            have += len(data)

    async def write(self, chunks: list[bytes]) -> None:
        await self._raw.write(seal_frames(chunks, self._state.encrypt))

    async def close(self) -> None:
        await self._conn.close()


def make_io(conn: ISecureConn, *, socket_read_bytes: int) -> GenericIO | NoiseIO:
    """The fast Noise path for a Noise session, plain reads/writes for anything else."""
    inner = getattr(conn, "conn", None)
    if isinstance(inner, NoiseTransportReadWriter) and hasattr(inner, "read_writer"):
        return NoiseIO(conn, socket_read_bytes=socket_read_bytes)
    return GenericIO(conn)
