"""Plaintext I/O under our Yamux muxer (`net.transport.yamux`): whole Noise messages in,
batches of frames out, bypassing py-libp2p's per-message layers. See `NoiseIO`.

Relies on py-libp2p 0.8.1 internals (`NoiseTransportReadWriter.noise_state` / `.read_writer`,
`SecureSession._drain`), pinned by tests/unit/net/transport/test_upstream_pins.py."""

from __future__ import annotations

from typing import Any

from libp2p.abc import ISecureConn
from libp2p.security.noise.io import NoiseTransportReadWriter

from ..lite.noise import (  # the one Noise transport framing (pure)
    NOISE_MAX_PLAINTEXT,
    open_frames,
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

    Reads the socket in large chunks and decrypts every complete Noise message in them; writes a
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
        self._raw = rw.read_writer.read_write_closer
        self._buf = b""
        leftover = conn._drain(None) if hasattr(conn, "_drain") else b""
        self._pending = leftover

    async def read(self) -> bytes:
        if self._pending:
            out, self._pending = self._pending, b""
            return out
        while True:
            buf = self._buf
            plain, pos = open_frames(buf, self._state.decrypt)
            self._buf = buf[pos:] if pos else buf
            if plain:
                return plain[0] if len(plain) == 1 else b"".join(plain)
            data = await self._raw.read(self._read_bytes)
            if not data:
                return b""
            self._buf = self._buf + data if self._buf else data

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
