"""Hostile frames against our Yamux session (net/yamux_session.py), the muxer under both the
daemon (net/transport/yamux.py) and the lean client (net/lite). The peer here is a script of raw
frames; it may also never read what we send. Every case ends in a bounded state: the session
closes (or refuses the stream) and holds no more than a limit named in config.NetLimits."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
import trio

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.net.yamux_session import (
    F_ACK,
    F_SYN,
    INITIAL_WINDOW,
    TYPE_DATA,
    TYPE_PING,
    TYPE_WINDOW_UPDATE,
    YamuxSession,
    YamuxSettings,
)

HDR = struct.Struct("!BBHII")
LIMITS = replace(NET_LIMITS, yamux_max_streams=8, yamux_accept_backlog=4)
SETTINGS = YamuxSettings.from_limits(LIMITS)


class ScriptIO:
    """The hostile peer's side: `feed()` hands the session decrypted messages; it reads what the
    session writes only when `reads` is True (else every write blocks: a peer that never reads)."""

    def __init__(self, *, reads: bool) -> None:
        self.send, self.recv = trio.open_memory_channel[bytes](1000)
        self.reads = reads
        self.written: list[bytes] = []

    async def read(self) -> bytes:
        try:
            return await self.recv.receive()
        except trio.EndOfChannel:
            return b""

    async def write(self, chunks: list[bytes]) -> None:
        if not self.reads:
            await trio.sleep_forever()
        self.written.extend(chunks)

    async def close(self) -> None:
        self.send.close()


async def _session(nursery: trio.Nursery, io: ScriptIO) -> YamuxSession:
    s = YamuxSession(is_initiator=True, settings=SETTINGS, label="hostile")
    await nursery.start(s.run, io)
    return s


def _pending(s: YamuxSession) -> int:
    return len(s._out)


async def test_ping_flood_from_a_peer_that_never_reads_is_bounded(nursery) -> None:
    """Each PING SYN asks for a reply; a peer that sends them and never reads ours would grow our
    send queue without end (12 bytes in, a queued frame out). Past NetLimits.yamux_max_pending_replies
    the connection is closed."""
    io = ScriptIO(reads=False)
    s = await _session(nursery, io)
    ping = HDR.pack(0, TYPE_PING, F_SYN, 0, 7)
    most = 0
    with trio.fail_after(5):
        for _ in range(40):
            if s.is_closed:
                break
            await io.send.send(ping * 500)
            await trio.testing.wait_all_tasks_blocked()
            most = max(most, _pending(s))
        await s.event_closed.wait()
    assert most <= LIMITS.yamux_max_pending_replies + 1


async def test_syn_flood_beyond_max_streams_is_refused_and_bounded(nursery) -> None:
    """SYNs beyond yamux_max_streams / the accept backlog are refused with RST; a peer that keeps
    sending them and never reads the RSTs gets the connection closed."""
    io = ScriptIO(reads=False)
    s = await _session(nursery, io)
    most = 0
    with trio.fail_after(5):
        for round_ in range(40):
            if s.is_closed:
                break
            frames = b"".join(HDR.pack(0, TYPE_WINDOW_UPDATE, F_SYN, 2 * (500 * round_ + i + 1), 0)
                              for i in range(500))
            await io.send.send(frames)
            await trio.testing.wait_all_tasks_blocked()
            most = max(most, _pending(s))
            assert len(s.streams) <= LIMITS.yamux_accept_backlog
        await s.event_closed.wait()
    assert most <= LIMITS.yamux_max_pending_replies + LIMITS.yamux_accept_backlog + 1


async def test_ping_replies_flow_while_the_peer_reads(nursery) -> None:
    """The bound is on replies the peer has not read: a peer that reads keeps its connection."""
    io = ScriptIO(reads=True)
    s = await _session(nursery, io)
    ping = HDR.pack(0, TYPE_PING, F_SYN, 0, 9)
    with trio.fail_after(5):
        for _ in range(10):
            await io.send.send(ping * 200)
            await trio.testing.wait_all_tasks_blocked()
    assert not s.is_closed
    assert b"".join(io.written).count(HDR.pack(0, TYPE_PING, F_ACK, 0, 9)) == 2000


@pytest.mark.parametrize("frame", [
    HDR.pack(0, TYPE_DATA, F_SYN, 2, INITIAL_WINDOW + 1) + bytes(INITIAL_WINDOW + 1),  # > window
    HDR.pack(0, TYPE_DATA, F_SYN, 2, 64 << 20),  # a frame larger than any window we grant
    HDR.pack(1, TYPE_DATA, 0, 2, 0),  # unknown version
    HDR.pack(0, 9, 0, 2, 0),  # unknown frame type
    HDR.pack(0, TYPE_WINDOW_UPDATE, F_SYN, 1, 0),  # SYN with our parity
    HDR.pack(0, TYPE_WINDOW_UPDATE, F_SYN, 0, 0),  # SYN on the session ID
])
async def test_malformed_frames_close_the_session(nursery, frame: bytes) -> None:
    io = ScriptIO(reads=True)
    s = await _session(nursery, io)
    with trio.fail_after(5):
        await io.send.send(frame + b"z" * 64)
        await s.event_closed.wait()
