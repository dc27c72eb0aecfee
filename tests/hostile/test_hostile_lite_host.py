"""A hostile peer against `LiteHost` (net/lite/host.py), the dial-only host of one-shot commands,
once the connection is up: streams it opens to us (flood, never-ending or oversized negotiation,
identify push floods, mute ping streams) and answers it gives to our identify / ping. Every case
ends in a clear error (NetworkError, Timeout, LimitExceeded) or a reset stream within the
timeouts of config.NetLimits, and the connection keeps working. Handshake bytes:
test_hostile_lite_handshake.py; frames: test_hostile_yamux.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
import trio

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.errors import LimitExceeded, NetworkError, Timeout
from jiaozi_node.identity import Identity
from jiaozi_node.net import wire
from jiaozi_node.net.lite.host import (
    IDENTIFY_PUSH_PROTOCOL,
    PING_PROTOCOL,
    LiteHost,
)
from jiaozi_node.net.lite.multistream import HEADER, encode_message
from jiaozi_node.net.lite.negotiate import accept, select
from jiaozi_node.net.lite.secure import YAMUX, secure_inbound
from jiaozi_node.net.yamux_session import StreamReset, YamuxError, YamuxSession, YamuxSettings

ECHO = "/test/echo/1.0.0"
T = 0.5  # every LiteHost timeout in these tests
FAST = replace(NET_LIMITS, connect_timeout_s=2.0, negotiate_timeout_s=T, ping_timeout_s=T,
               identify_timeout_s=T, yamux_max_streams=16, yamux_accept_backlog=8)


class Raw:
    """A session stream as a byte stream for multistream-select."""

    def __init__(self, st: Any) -> None:
        self.st = st

    async def receive_some(self, n: int | None = None) -> bytes:
        return await self.st.read(n or 65536)

    async def send_all(self, data: bytes) -> None:
        await self.st.write(data)


class Hostile:
    """A listener LiteHost dials: Noise + our Yamux, then `answer(stream)` for each stream LiteHost
    opens (after accepting any protocol); `self.session` lets a test open streams to LiteHost."""

    def __init__(self, answer: Callable[[Any], Awaitable[None]] | None = None) -> None:
        self.identity = Identity.generate()
        self.answer = answer
        self.session: YamuxSession | None = None
        self.ready = trio.Event()

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        task_status.started(f"/ip4/127.0.0.1/tcp/{port}/p2p/{self.identity.peer_id}")
        await trio.serve_listeners(self._conn, listeners)

    async def _conn(self, sock: Any) -> None:
        _, rest = await accept(sock, lambda p: p == "/noise")
        ch = await secure_inbound(sock, self.identity, received=rest)
        if ch.muxer is None:
            await accept(ch, lambda p: p == YAMUX)
        session = YamuxSession(is_initiator=False, settings=YamuxSettings.from_limits())
        async with trio.open_nursery() as n:
            await n.start(session.run, ch)
            self.session = session
            self.ready.set()
            while True:
                try:
                    st = await session.accept_stream()
                except YamuxError:
                    return
                n.start_soon(self._answer, st)

    async def _answer(self, st: Any) -> None:
        await accept(Raw(st), lambda p: True)
        if self.answer is not None:
            await self.answer(st)

    async def open(self, protocol: str | None = None) -> Any:
        """A stream to LiteHost, negotiated to `protocol` unless None (raw)."""
        assert self.session is not None
        st = await self.session.open_stream()
        if protocol is not None:
            await select(Raw(st), protocol)
        return st


@pytest.fixture
async def lite(nursery: trio.Nursery) -> LiteHost:
    host = LiteHost(Identity.generate(), limits=FAST)
    await nursery.start(host.run)
    host.set_stream_handler(ECHO, _echo)
    return host


async def _echo(stream: Any) -> None:
    while data := await stream.read():
        await stream.write(data)


async def _connected(nursery: trio.Nursery, lite: LiteHost, answer: Any = None) -> tuple[Hostile, str]:
    h = Hostile(answer)
    addr = await nursery.start(h.serve)
    peer = await lite.connect(addr)
    await h.ready.wait()
    return h, peer


async def _ends_with_reset(st: Any) -> None:
    """Reads until LiteHost ends the stream; it must be a reset (or EOF), within the test's deadline."""
    try:
        while await st.read(65536):
            pass
    except YamuxError:
        pass


async def _still_serves(h: Hostile) -> None:
    st = await h.open(ECHO)
    await st.write(b"ok")
    assert await st.read(2) == b"ok"
    await st.close()


# ------------------------------------------------------------------ streams the peer opens to us


@pytest.mark.parametrize("opening", [
    b"",  # opens a stream and says nothing
    HEADER,  # the header, then nothing
    HEADER + encode_message("/nope/1.0.0"),  # an unknown protocol, then nothing
])
async def test_never_ending_inbound_negotiation_is_reset(nursery, lite, opening: bytes) -> None:
    h, _ = await _connected(nursery, lite)
    st = await h.open()
    if opening:
        await st.write(opening)
    with trio.fail_after(T * 6):
        await _ends_with_reset(st)
        await _still_serves(h)


async def test_endless_unknown_proposals_are_cut_at_the_negotiation_timeout(nursery, lite) -> None:
    h, _ = await _connected(nursery, lite)
    st = await h.open()
    await st.write(HEADER)
    with trio.fail_after(T * 6):
        with pytest.raises(YamuxError):
            for i in range(100_000):
                await st.write(encode_message(f"/nope/{i}"))
                await st.read(65536)  # "na"
        await _still_serves(h)


@pytest.mark.parametrize("line", [
    b"\xff\xff\x03",  # a varint announcing a 64 KiB protocol line
    b"\x05/a\x00b\n",  # a line without a proper end
])
async def test_malformed_inbound_negotiation_is_reset_at_once(nursery, lite, line: bytes) -> None:
    h, _ = await _connected(nursery, lite)
    st = await h.open()
    await st.write(HEADER + line + b"z" * 2000)
    with trio.fail_after(T * 0.9):  # well before the negotiation timeout
        await _ends_with_reset(st)
    with trio.fail_after(T * 6):
        await _still_serves(h)


async def test_inbound_stream_flood_is_bounded_and_the_connection_survives(nursery, lite) -> None:
    """Twice yamux_max_streams silent streams: at most yamux_max_streams are ever open at once on
    our side, the rest refused; all are reset by the negotiation timeout, then the peer is served."""
    h, peer = await _connected(nursery, lite)
    conn_session = lite._conns[peer].session
    opened = [await h.open() for _ in range(2 * FAST.yamux_max_streams)]
    await trio.sleep(0.05)
    assert len(conn_session.streams) <= FAST.yamux_max_streams
    with trio.fail_after(T * 8):
        for st in opened:
            await _ends_with_reset(st)
        await _still_serves(h)
    assert len(conn_session.streams) <= 1


async def test_identify_push_flood_is_cut(nursery, lite) -> None:
    """An identify push larger than max_identify_bytes is reset (not buffered), the connection stays."""
    h, _ = await _connected(nursery, lite)
    st = await h.open(IDENTIFY_PUSH_PROTOCOL)
    with trio.fail_after(T * 0.9):  # reset as soon as the limit is passed, not at the timeout
        with pytest.raises(StreamReset):
            for _ in range(2 * FAST.max_identify_bytes // 4096):
                await st.write(b"\x00" * 4096)
            await st.read(1)
    with trio.fail_after(T * 6):
        await _still_serves(h)


async def test_mute_ping_stream_is_reset_after_ping_timeout(nursery, lite) -> None:
    h, _ = await _connected(nursery, lite)
    st = await h.open(PING_PROTOCOL)
    await st.write(b"p" * 32)
    assert await st.read(32) == b"p" * 32
    with trio.fail_after(T * 6):
        await _ends_with_reset(st)
        await _still_serves(h)


# ------------------------------------------------------------------ answers to our identify / ping


async def _giant_identify(st: Any) -> None:
    try:
        while True:
            await st.write(b"\x0a" + b"\xff" * 4095)
    except YamuxError:
        pass


async def _foreign_identify(st: Any) -> None:
    other = Identity.generate()
    await st.write(wire.encode_identify(wire.IdentifyMsg(public_key=other.public_key_protobuf)))
    await st.close()


async def _junk_identify(st: Any) -> None:
    await st.write(b"\x0a\xff\xff\xff\xff\x0f" + b"x" * 20)
    await st.close()


async def _mute(st: Any) -> None:
    await trio.sleep_forever()


async def _trickle(st: Any) -> None:
    """One byte every tenth of a second, forever: never EOF, never over the size limit."""
    while True:
        await st.write(b"\x00")
        await trio.sleep(0.1)


async def test_giant_identify_answer_is_cut_at_the_size_limit(nursery, lite) -> None:
    _, peer = await _connected(nursery, lite, _giant_identify)
    with trio.fail_after(T * 0.9), pytest.raises(LimitExceeded):  # before the timeout
        await lite.identify(peer)


@pytest.mark.parametrize(("answer", "error"), [
    (_foreign_identify, NetworkError),
    (_junk_identify, NetworkError),
    (_mute, Timeout),
    (_trickle, Timeout),
])
async def test_hostile_identify_answers(nursery, lite, answer, error) -> None:
    _, peer = await _connected(nursery, lite, answer)
    with trio.fail_after(T * 6), pytest.raises(error):
        await lite.identify(peer)
    assert lite._identify_cache.get(peer) is None


async def _wrong_echo(st: Any) -> None:
    while data := await st.read(32):
        await st.write(bytes(len(data)))


async def _short_echo_then_close(st: Any) -> None:
    await st.read(32)
    await st.write(b"x" * 5)
    await st.close()


@pytest.mark.parametrize(("answer", "error"), [
    (_wrong_echo, NetworkError),
    (_short_echo_then_close, NetworkError),
    (_mute, Timeout),
])
async def test_hostile_ping_answers(nursery, lite, answer, error) -> None:
    _, peer = await _connected(nursery, lite, answer)
    with trio.fail_after(T * 6), pytest.raises(error):
        await lite.ping(peer, count=2)
