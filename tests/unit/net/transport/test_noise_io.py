"""jiaozi_node.net.transport.noise_io.NoiseIO with real Noise cipher states (the `noise` library
py-libp2p uses) over a fake socket that cuts the ciphertext stream anywhere."""

from __future__ import annotations

import random
from collections import deque
from types import SimpleNamespace

import pytest
from noise.connection import NoiseConnection

from jiaozi_node.net.transport.noise_io import NOISE_MAX_PLAINTEXT, NoiseIO


def _handshaken() -> tuple[NoiseConnection, NoiseConnection]:
    a, b = (NoiseConnection.from_name(b"Noise_NN_25519_ChaChaPoly_SHA256") for _ in range(2))
    a.set_as_initiator()
    b.set_as_responder()
    a.start_handshake()
    b.start_handshake()
    b.read_message(a.write_message())
    a.read_message(b.write_message())
    assert a.handshake_finished and b.handshake_finished
    return a, b


class FakeSocket:
    def __init__(self, data: bytes, cuts: list[int]) -> None:
        self.chunks = deque(data[i:j] for i, j in zip([0, *cuts], [*cuts, len(data)], strict=True) if j > i)

    async def read(self, n: int) -> bytes:
        return self.chunks.popleft() if self.chunks else b""

    async def write(self, data: bytes) -> None:
        self.chunks.append(data)


def _noise_io(state: NoiseConnection, sock: FakeSocket, leftover: bytes = b"") -> NoiseIO:
    rw = SimpleNamespace(noise_state=state, read_writer=SimpleNamespace(read_write_closer=sock))
    conn = SimpleNamespace(conn=rw, _drain=lambda n: leftover)
    return NoiseIO(conn, socket_read_bytes=1 << 18)


def _wire(sender: NoiseConnection, messages: list[bytes]) -> bytes:
    out = b""
    for m in messages:
        ct = sender.encrypt(m)
        out += len(ct).to_bytes(2, "big") + ct
    return out


@pytest.mark.parametrize("seed", range(6))
async def test_messages_come_out_whole_wherever_the_socket_reads_cut(seed):
    rnd = random.Random(seed)
    a, b = _handshaken()
    step = [1, 2, 3, 1000, 70000, 300000][seed]  # cuts inside length prefixes, bodies, many messages
    sizes = [1, 7, 300] if step < 1000 else [1, 7, 4000, NOISE_MAX_PLAINTEXT]
    messages = [rnd.randbytes(rnd.choice(sizes)) for _ in range(40)]
    data = _wire(a, messages)
    cuts = sorted(rnd.sample(range(1, len(data)), min(len(data) - 1, len(data) // step + 1)))
    io = _noise_io(b, FakeSocket(data, cuts), leftover=b"already decrypted")
    assert await io.read() == b"already decrypted"
    got = [bytes(await io.read()) for _ in messages]
    assert got == messages
    assert await io.read() == b""


async def test_a_tampered_message_raises():
    a, b = _handshaken()
    data = bytearray(_wire(a, [b"x" * 100]))
    data[10] ^= 1
    io = _noise_io(b, FakeSocket(bytes(data), []))
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag: the muxer closes
        await io.read()


async def test_write_encrypts_each_chunk_as_one_message():
    a, b = _handshaken()
    sock = FakeSocket(b"", [])
    await _noise_io(a, sock).write([b"one", b"two" * 1000])
    reader = _noise_io(b, FakeSocket(b"".join(sock.chunks), []))
    assert [await reader.read(), await reader.read()] == [b"one", b"two" * 1000]
