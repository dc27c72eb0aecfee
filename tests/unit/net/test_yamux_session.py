"""net/yamux_session.py on its own (no py-libp2p): two sessions over an in-memory byte pipe with
a plain `FrameIO`, this module's own exception types, and the module imports no libp2p. The
protocol behaviour (windows, hostile frames, limits) is tested through the py-libp2p face in
tests/unit/net/transport/test_yamux.py; both faces run this same code."""

from __future__ import annotations

import subprocess
import sys

import pytest
import trio
import trio.testing

from jiaozi_node.net.yamux_session import (
    SessionClosed,
    StreamEOF,
    StreamReset,
    YamuxError,
    YamuxSession,
    YamuxSettings,
)

SETTINGS = YamuxSettings.from_limits()


class PipeIO:
    def __init__(self, s: trio.abc.Stream) -> None:
        self.s = s

    async def read(self) -> bytes:
        try:
            return await self.s.receive_some(65536)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return b""

    async def write(self, chunks: list[bytes]) -> None:
        await self.s.send_all(b"".join(chunks))

    async def close(self) -> None:
        await self.s.aclose()


@pytest.fixture
async def sessions(nursery):
    a, b = trio.testing.memory_stream_pair()
    closed: list[str] = []

    async def on_close():
        closed.append("a")

    sa = YamuxSession(is_initiator=True, settings=SETTINGS, on_close=on_close)
    sb = YamuxSession(is_initiator=False, settings=SETTINGS)
    await nursery.start(sa.run, PipeIO(a))
    await nursery.start(sb.run, PipeIO(b))
    return sa, sb, closed


async def test_round_trip_with_own_exception_types(sessions, nursery):
    sa, sb, _ = sessions
    accepted = []

    async def accept():
        accepted.append(await sb.accept_stream())

    nursery.start_soon(accept)
    st = await sa.open_stream()
    await st.write(b"x" * 300_000)  # more than the spec's 256 KiB: the ACK on accept grants it
    await st.close()
    peer = accepted[0]
    got = b""
    with pytest.raises(StreamEOF):
        while True:
            got += await peer.read()
    assert got == b"x" * 300_000
    await peer.write(b"ok")
    assert await st.read() == b"ok"
    await peer.reset()
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(StreamReset):
        await st.read()


async def test_session_end_resets_streams_and_refuses_new_ones(sessions):
    sa, sb, closed = sessions
    st = await sa.open_stream()
    await sb.close()
    with trio.fail_after(5):
        await sa.event_closed.wait()
    assert closed == ["a"]
    with pytest.raises(StreamReset):
        await st.read()
    with pytest.raises(YamuxError, match="shutting down"):
        await sa.open_stream()
    with pytest.raises(SessionClosed):
        await sa.accept_stream()


def test_imports_no_libp2p():
    code = "import sys, jiaozi_node.net.yamux_session; print('libp2p' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
