"""jiaozi_node.net.transport.yamux over an in-memory byte pipe: muxer <-> muxer, and muxer <-> a raw
peer written in the test (hostile frames). Interop with go-yamux is in interop/test_libp2p_kubo.py."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
import trio
import trio.testing
from libp2p.stream_muxer.exceptions import MuxedStreamEOF, MuxedStreamReset

from jiaozi_node.net.transport.yamux import (
    F_ACK,
    F_FIN,
    F_RST,
    F_SYN,
    INITIAL_WINDOW,
    MAX_FRAME_PAYLOAD,
    TYPE_DATA,
    TYPE_GO_AWAY,
    TYPE_PING,
    TYPE_WINDOW_UPDATE,
    Yamux,
    YamuxSettings,
)

DEFAULT_SETTINGS = YamuxSettings.from_limits()  # NetLimits' defaults

HDR = struct.Struct("!BBHII")


class PipeConn:
    """Stands in for a secured connection (the generic, non-Noise I/O path)."""

    def __init__(self, stream: trio.abc.Stream, *, initiator: bool) -> None:
        self.s = stream
        self.is_initiator = initiator

    async def read(self, n: int | None = None) -> bytes:
        try:
            return await self.s.receive_some(n)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return b""

    async def write(self, data: bytes) -> None:
        await self.s.send_all(data)

    async def close(self) -> None:
        await self.s.aclose()

    def get_remote_address(self):
        return ("127.0.0.1", 1)

    def get_transport_addresses(self):
        return []


def _pair():
    a, b = trio.testing.memory_stream_pair()
    return PipeConn(a, initiator=True), PipeConn(b, initiator=False)


@pytest.fixture
async def muxers(nursery):
    ca, cb = _pair()
    closed = []

    async def on_close_a():
        closed.append("a")

    ma = Yamux(ca, peer_id=None, on_close=on_close_a, settings=DEFAULT_SETTINGS)
    mb = Yamux(cb, peer_id=None, settings=DEFAULT_SETTINGS)
    nursery.start_soon(ma.start)
    nursery.start_soon(mb.start)
    await ma.event_started.wait()
    await mb.event_started.wait()
    ma.closed_log = closed
    return ma, mb


async def test_streams_both_ways_with_half_close(muxers):
    ma, mb = muxers
    sa = await ma.open_stream()
    assert sa.stream_id % 2 == 1
    payload = bytes(range(256)) * 5000  # 1.28 MB: several frames, beyond the window

    async def send():
        await sa.write(payload)
        await sa.close()  # FIN; we can still read

    got = b""
    async with trio.open_nursery() as n:
        n.start_soon(send)
        sb = await mb.accept_stream()
        while True:
            try:
                got += await sb.read(100_000)
            except MuxedStreamEOF:
                break
    assert got == payload
    await sb.write(b"reply")
    await sb.close()
    assert await sa.read() == b"reply"
    with pytest.raises(MuxedStreamEOF):
        await sa.read()
    assert not ma.streams and not mb.streams  # both halves closed: forgotten


async def test_window_blocks_writer_until_reader_consumes(muxers):
    ma, mb = muxers
    sa = await ma.open_stream()
    sb = await mb.accept_stream()
    window = DEFAULT_SETTINGS.window
    done = trio.Event()

    async def writer():
        await sa.write(b"x" * (window + 100_000))
        done.set()

    async with trio.open_nursery() as n:
        n.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert not done.is_set()  # stuck on the window: nothing beyond it was sent
        assert sb._buffered <= window
        total = 0
        while total < window + 100_000:
            total += len(await sb.read(300_000))
    assert done.is_set()


async def test_reset_reaches_the_other_side(muxers):
    ma, mb = muxers
    sa = await ma.open_stream()
    await sa.write(b"hi")
    sb = await mb.accept_stream()
    await sa.reset()
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(MuxedStreamReset):
        await sb.read()
    with pytest.raises(MuxedStreamReset):
        await sb.write(b"late")


async def test_close_resets_streams_and_calls_on_close_once(muxers):
    ma, mb = muxers
    sa = await ma.open_stream()
    sb = await mb.accept_stream()
    await ma.close()
    assert ma.is_closed and ma.closed_log == ["a"]
    with pytest.raises(MuxedStreamReset):
        await sa.read()
    with trio.fail_after(2):  # the peer notices the hang-up
        await mb.event_closed.wait()
    with pytest.raises(MuxedStreamReset):
        await sb.read()
    await ma.close()  # idempotent
    assert ma.closed_log == ["a"]


# ------------------------------------------------------------------ against a raw peer


class RawPeer:
    def __init__(self, stream: trio.abc.Stream) -> None:
        self.s = stream
        self.buf = b""

    async def send(self, typ: int, flags: int, sid: int, length: int, body: bytes = b"") -> None:
        await self.s.send_all(HDR.pack(0, typ, flags, sid, length) + body)

    async def frame(self) -> tuple[int, int, int, int, bytes]:
        while True:
            if len(self.buf) >= 12:
                _, typ, flags, sid, length = HDR.unpack_from(self.buf)
                body_len = length if typ == TYPE_DATA else 0
                if len(self.buf) >= 12 + body_len:
                    body = self.buf[12 : 12 + body_len]
                    self.buf = self.buf[12 + body_len :]
                    return typ, flags, sid, length, body
            chunk = await self.s.receive_some()
            if not chunk:
                raise EOFError
            self.buf += chunk


@pytest.fixture
async def raw(nursery):
    a, b = trio.testing.memory_stream_pair()
    mux = Yamux(PipeConn(a, initiator=False), peer_id=None, settings=DEFAULT_SETTINGS)  # we are the responder
    nursery.start_soon(mux.start)
    await mux.event_started.wait()
    return mux, RawPeer(b)


async def test_inbound_syn_is_acked_on_accept_with_larger_window(raw):
    mux, peer = raw
    await peer.send(TYPE_WINDOW_UPDATE, F_SYN, 1, 0)
    await peer.send(TYPE_DATA, 0, 1, 5, b"hello")
    stream = await mux.accept_stream()
    typ, flags, sid, delta, _ = await peer.frame()
    assert (typ, flags, sid) == (TYPE_WINDOW_UPDATE, F_ACK, 1)
    assert delta == DEFAULT_SETTINGS.window - INITIAL_WINDOW
    assert await stream.read() == b"hello"
    await peer.send(TYPE_WINDOW_UPDATE, F_FIN, 1, 0)
    with pytest.raises(MuxedStreamEOF):
        await stream.read()


async def test_ping_is_answered(raw):
    _, peer = raw
    await peer.send(TYPE_PING, F_SYN, 0, 12345)
    assert await peer.frame() == (TYPE_PING, F_ACK, 0, 12345, b"")


async def test_data_beyond_the_window_closes_the_connection(raw):
    mux, peer = raw
    await peer.send(TYPE_WINDOW_UPDATE, F_SYN, 1, 0)
    await mux.accept_stream()
    await peer.frame()  # ACK: our window is now DEFAULT_SETTINGS.window
    chunk = b"z" * MAX_FRAME_PAYLOAD
    with trio.fail_after(5):
        sent = 0
        while not mux.is_closed and sent <= DEFAULT_SETTINGS.window + MAX_FRAME_PAYLOAD:
            await peer.send(TYPE_DATA, 0, 1, len(chunk), chunk)  # never reading: no credit back
            sent += len(chunk)
        await mux.event_closed.wait()


async def test_oversized_frame_and_bad_version_close_the_connection(raw):
    mux, peer = raw
    await peer.s.send_all(HDR.pack(1, TYPE_DATA, F_SYN, 1, 0))
    with trio.fail_after(5):
        await mux.event_closed.wait()


async def test_streams_over_the_limit_are_refused_with_rst(nursery):
    a, b = trio.testing.memory_stream_pair()
    mux = Yamux(PipeConn(a, initiator=False), peer_id=None,
                settings=replace(DEFAULT_SETTINGS, max_streams=3))
    nursery.start_soon(mux.start)
    await mux.event_started.wait()
    peer = RawPeer(b)
    for sid in (1, 3, 5, 7):
        await peer.send(TYPE_WINDOW_UPDATE, F_SYN, sid, 0)
    typ, flags, sid, _, _ = await peer.frame()
    assert (typ, flags, sid) == (TYPE_WINDOW_UPDATE, F_RST, 7)
    assert sorted(mux.streams) == [1, 3, 5]


async def test_syn_with_our_parity_is_a_protocol_error(raw):
    mux, peer = raw
    await peer.send(TYPE_WINDOW_UPDATE, F_SYN, 2, 0)  # we are the responder: even IDs are ours
    with trio.fail_after(5):
        await mux.event_closed.wait()


async def test_go_away_stops_new_outbound_streams(raw):
    mux, peer = raw
    await peer.send(TYPE_GO_AWAY, 0, 0, 0)
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(Exception, match="shutting down"):
        await mux.open_stream()


async def test_extra_window_budget_bounds_buffering(nursery):
    extra = DEFAULT_SETTINGS.window - INITIAL_WINDOW
    a, b = trio.testing.memory_stream_pair()
    mux = Yamux(PipeConn(a, initiator=False), peer_id=None,  # room for one big window
                settings=replace(DEFAULT_SETTINGS, extra_window_budget=extra))
    nursery.start_soon(mux.start)
    await mux.event_started.wait()
    peer = RawPeer(b)
    deltas = []
    for sid in (1, 3):
        await peer.send(TYPE_WINDOW_UPDATE, F_SYN, sid, 0)
        await mux.accept_stream()
        deltas.append((await peer.frame())[3])
    assert deltas == [extra, 0]  # the second stream keeps the spec's 256 KiB
    # stream 1 finishes (FIN both ways): its extra window goes back to the budget
    await mux.streams[1].close()
    await peer.frame()
    await peer.send(TYPE_WINDOW_UPDATE, F_FIN, 1, 0)
    await peer.send(TYPE_WINDOW_UPDATE, F_SYN, 5, 0)
    await mux.accept_stream()
    assert (await peer.frame())[3] == extra


async def test_close_racing_host_cancellation_does_not_wait_for_the_dead_writer(autojump_clock):
    """Host shutdown: the cancellation reaches the writer while a shielded close() waits for
    it to flush GO_AWAY. close() used to sit out its whole 0.5 s grace period (mock clock)."""
    ca, cb = _pair()
    ma, mb = Yamux(ca, peer_id=None, settings=DEFAULT_SETTINGS), Yamux(cb, peer_id=None, settings=DEFAULT_SETTINGS)
    async with trio.open_nursery() as outer:
        outer.start_soon(mb.start)
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as inner:
                inner.start_soon(ma.start)
                await ma.event_started.wait()
                scope.cancel()
                with trio.CancelScope(shield=True):  # as Libp2pHost.run's finally
                    t0 = trio.current_time()
                    await ma.close()
                    elapsed = trio.current_time() - t0
        outer.cancel_scope.cancel()
    assert ma.is_closed
    assert elapsed < 0.1


def test_a_connection_is_always_given_its_settings():
    """No module-level default: the host's NetLimits reach every connection (yamux_factory)."""
    with pytest.raises(TypeError):
        Yamux(None, peer_id=None)  # type: ignore[call-arg]


async def test_frames_cut_at_every_byte_reach_their_streams(raw):
    """Headers and bodies split across reads (the reader cuts frames as views of what it read,
    and joins a split header on its own)."""
    mux, peer = raw
    wire = (HDR.pack(0, TYPE_WINDOW_UPDATE, F_SYN, 1, 0) + HDR.pack(0, TYPE_DATA, 0, 1, 5) + b"hello"
            + HDR.pack(0, TYPE_DATA, F_FIN, 1, 6) + b" world")
    for i in range(len(wire)):
        await peer.s.send_all(wire[i : i + 1])
        await trio.sleep(0.001)  # one byte per read on the other side
    stream = await mux.accept_stream()
    got = b""
    with trio.fail_after(5):
        with pytest.raises(MuxedStreamEOF):
            while True:
                got += await stream.read()
    assert got == b"hello world"


async def test_read_view_and_unread_give_bytes_back_in_order(raw):
    mux, peer = raw
    await peer.send(TYPE_WINDOW_UPDATE, F_SYN, 1, 0)
    await peer.send(TYPE_DATA, 0, 1, 10, b"0123456789")
    stream = await mux.accept_stream()
    first = await stream.read_view()
    assert bytes(first) == b"0123456789"
    stream.unread(memoryview(first)[4:])
    await peer.send(TYPE_DATA, F_FIN, 1, 3, b"abc")
    with trio.fail_after(5):
        while stream._buffered < 9:  # noqa: ASYNC110 - a buffer level, no event
            await trio.sleep(0.001)
    assert await stream.read(2) == b"45"  # a partial read of a view comes out as bytes
    assert await stream.read() == b"6789abc"
    with pytest.raises(MuxedStreamEOF):
        await stream.read_view()


async def test_read_views_hands_over_every_chunk_then_eof(raw):
    mux, peer = raw
    await peer.send(TYPE_WINDOW_UPDATE, F_SYN, 1, 0)
    await peer.send(TYPE_DATA, 0, 1, 3, b"abc")
    await peer.send(TYPE_DATA, F_FIN, 1, 2, b"de")
    stream = await mux.accept_stream()
    with trio.fail_after(5):
        while not stream.recv_closed:  # noqa: ASYNC110 - a state, no event
            await trio.sleep(0.001)
    assert b"".join(await stream.read_views()) == b"abcde"
    with pytest.raises(MuxedStreamEOF):
        await stream.read_views()
