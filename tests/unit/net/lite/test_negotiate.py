"""jiaozi_node.net.lite.negotiate: multistream-select over trio in-memory streams."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from jiaozi_node.errors import NetworkError, ProtocolNotSupported, RemoteProtocolError, Timeout
from jiaozi_node.net.lite.multistream import HEADER, encode_message
from jiaozi_node.net.lite.negotiate import accept, select

YAMUX = "/yamux/1.0.0"


class Recording:
    """Wraps a stream; remembers every max_bytes asked of receive_some."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.s = stream
        self.asked: list[int | None] = []

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        self.asked.append(max_bytes)
        return await self.s.receive_some(max_bytes)

    async def send_all(self, data: bytes) -> None:
        await self.s.send_all(data)


async def _read_exactly(stream: trio.abc.Stream, have: bytes, n: int) -> bytes:
    while len(have) < n:
        have += await stream.receive_some(1000)
    return have


async def test_select_and_accept_agree_and_keep_pipelined_bytes() -> None:
    a, b = trio.testing.memory_stream_pair()
    ra = Recording(a)
    got: dict[str, object] = {}

    async def listener() -> None:
        proto, rest = await accept(b, lambda p: p in ("/noise", YAMUX))
        await b.send_all(b"server-first-bytes")
        got["acc"] = proto, await _read_exactly(b, rest, len(b"client-data"))

    with trio.fail_after(5):
        async with trio.open_nursery() as n:
            n.start_soon(listener)
            proto, rest = await select(ra, ["/tls/1.0.0", "/noise"])
            await a.send_all(b"client-data")
            got["sel"] = proto, await _read_exactly(a, rest, len(b"server-first-bytes"))
    assert got == {"acc": ("/noise", b"client-data"), "sel": ("/noise", b"server-first-bytes")}
    assert all(n is not None and n >= 1024 for n in ra.asked)  # never byte by byte


async def test_select_returns_data_pipelined_in_the_same_read() -> None:
    a, b = trio.testing.memory_stream_pair()

    async def peer() -> None:
        assert await b.receive_some(1000) == HEADER + encode_message(YAMUX)
        await b.send_all(HEADER + encode_message(YAMUX) + b"\x00\x01frame")

    with trio.fail_after(5):
        async with trio.open_nursery() as n:
            n.start_soon(peer)
            proto, rest = await select(a, YAMUX)
    assert (proto, rest) == (YAMUX, b"\x00\x01frame")


async def test_accept_returns_data_pipelined_behind_the_proposal() -> None:
    a, b = trio.testing.memory_stream_pair()
    await a.send_all(HEADER + encode_message("/x") + encode_message(YAMUX) + b"early")
    with trio.fail_after(5):
        proto, rest = await accept(b, lambda p: p == YAMUX)
    assert (proto, rest) == (YAMUX, b"early")
    assert await a.receive_some(1000) == HEADER + encode_message("na") + encode_message(YAMUX)


async def test_select_refused_names_the_protocols() -> None:
    a, b = trio.testing.memory_stream_pair()
    with trio.fail_after(5):
        async with trio.open_nursery() as n:
            n.start_soon(accept, b, lambda p: False)  # keeps answering na (cancelled below)
            with pytest.raises(ProtocolNotSupported, match="/a, /b"):
                await select(a, ["/a", "/b"])
            n.cancel_scope.cancel()


async def test_peer_closing_mid_negotiation_is_a_network_error() -> None:
    a, b = trio.testing.memory_stream_pair()

    async def peer() -> None:
        await b.receive_some(1000)
        await b.send_all(HEADER)
        await b.aclose()

    with trio.fail_after(5):
        async with trio.open_nursery() as n:
            n.start_soon(peer)
            with pytest.raises(NetworkError, match="closed"):
                await select(a, YAMUX)


async def test_silent_peer_times_out(autojump_clock: trio.testing.MockClock) -> None:
    a, _b = trio.testing.memory_stream_pair()
    with pytest.raises(Timeout, match="multistream-select"):
        await select(a, YAMUX, timeout_s=3)


@pytest.mark.parametrize("answer, match", [
    (b"\x82\x10" + b"x" * 2050, "limit"),
    (b"\x05abcde", "newline"),
    (b"\x03\xc3\x28\n", "UTF-8"),
])
async def test_hostile_answers_give_a_clear_error(answer: bytes, match: str) -> None:
    a, b = trio.testing.memory_stream_pair()
    await b.send_all(answer)
    with trio.fail_after(5), pytest.raises(RemoteProtocolError, match=match):
        await select(a, YAMUX)


class Chunks:
    """A fake Yamux stream: chunks in, writes recorded, unread chunks given back first."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks: list[bytes | memoryview] = list(chunks)
        self.writes: list[bytes] = []

    async def read_view(self) -> bytes | memoryview:
        if not self.chunks:
            await trio.sleep_forever()
        return self.chunks.pop(0)

    def unread(self, data: bytes | memoryview) -> None:
        if data:
            self.chunks.insert(0, data)

    async def write(self, data: bytes) -> None:
        self.writes.append(data)


@pytest.mark.parametrize("split", [None, 5, 20, 45])
async def test_accept_chunks_pipelined_first_message_kept_as_view(split: int | None) -> None:
    from jiaozi_node.net.lite.negotiate import accept_chunks

    offer = HEADER + encode_message("/other") + encode_message(YAMUX)
    payload = bytes(range(256)) * 40
    wire = offer + payload
    chunks = [wire] if split is None else [wire[:split], wire[split:]]
    s = Chunks(chunks)
    assert await accept_chunks(s, lambda p: p == YAMUX, timeout_s=5) == YAMUX
    # header, na for /other and the echo: one write when the offer came in one chunk
    assert b"".join(s.writes) == HEADER + encode_message("na") + encode_message(YAMUX)
    if split is None or split >= len(offer):
        assert len(s.writes) == 1
    assert b"".join(bytes(c) for c in s.chunks) == payload
    if split is None:  # the payload is a view of the chunk it came in (no copy)
        assert isinstance(s.chunks[-1], memoryview)


async def test_accept_chunks_garbage_and_silence() -> None:
    from jiaozi_node.net.lite.negotiate import accept_chunks

    with pytest.raises(RemoteProtocolError):
        await accept_chunks(Chunks([b"\x05hello"]), lambda p: True, timeout_s=5)
    with pytest.raises(Timeout):
        await accept_chunks(Chunks([HEADER]), lambda p: True, timeout_s=0.05)
