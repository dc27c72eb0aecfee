"""jiaozi_node.net.transport.inbound: multistream-select answered on our Yamux, between two real
hosts on 127.0.0.1 (raw streams opened below the host API, so the test writes the dialer's bytes)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio
from libp2p.peer.id import ID

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.identity import Identity
from jiaozi_node.net import wire
from jiaozi_node.net.libp2p_host import Libp2pHost

LOOP = "/ip4/127.0.0.1/tcp/0"


def _msg(line: bytes) -> bytes:
    return wire.mss_message(line + b"\n")


@pytest.fixture
async def pair(nursery):
    limits = replace(NET_LIMITS, negotiate_timeout_s=1.0)  # py-libp2p takes whole seconds
    a = Libp2pHost(Identity.generate(), listen=[LOOP], limits=limits)
    b = Libp2pHost(Identity.generate(), listen=[LOOP], limits=limits)
    await nursery.start(a.run)
    await nursery.start(b.run)
    await a.connect(b.addrs()[0])
    return a, b


async def _raw_stream(a: Libp2pHost, b: Libp2pHost):
    return await a._host.get_network().new_stream(ID.from_base58(b.peer_id))


async def _read_until(stream, n: int) -> bytes:
    got = b""
    with trio.fail_after(5):
        while len(got) < n:
            got += await stream.read()
    return got


async def test_pipelined_negotiation_and_first_message_in_one_write(pair):
    a, b = pair
    got: list[bytes] = []
    done = trio.Event()

    async def sink(stream):
        got.append(await stream.read_until_eof(1 << 20))
        done.set()

    b.set_stream_handler("/test/sink/1", sink)
    s = await _raw_stream(a, b)
    await s.write(_msg(b"/multistream/1.0.0") + _msg(b"/test/sink/1") + b"payload" * 1000)
    answer = _msg(b"/multistream/1.0.0") + _msg(b"/test/sink/1")
    assert await _read_until(s, len(answer)) == answer
    await s.close()
    with trio.fail_after(5):
        await done.wait()
    assert got == [b"payload" * 1000]


async def test_unknown_protocol_and_ls_get_na_then_a_known_one_is_taken(pair):
    a, b = pair
    got: list[bytes] = []
    done = trio.Event()

    async def sink(stream):
        got.append(await stream.read_until_eof(1 << 10))
        done.set()

    b.set_stream_handler("/test/x/1", sink)
    s = await _raw_stream(a, b)
    await s.write(_msg(b"/multistream/1.0.0") + _msg(b"/nope/1") + _msg(b"ls") + _msg(b"/test/x/1") + b"hi")
    answer = _msg(b"/multistream/1.0.0") + _msg(b"na") + _msg(b"na") + _msg(b"/test/x/1")
    assert await _read_until(s, len(answer)) == answer
    await s.close()
    with trio.fail_after(5):
        await done.wait()
    assert got == [b"hi"]


async def test_silent_or_malformed_dialer_is_reset_and_the_connection_stays(pair):
    a, b = pair
    silent = await _raw_stream(a, b)
    garbage = await _raw_stream(a, b)
    await garbage.write(_msg(b"/not/multistream"))
    for s in (silent, garbage):
        with trio.fail_after(5):
            with pytest.raises(Exception):  # noqa: B017 - py-libp2p's StreamReset/StreamError
                while True:
                    if not await s.read():
                        raise EOFError
    assert a.peers() == [b.peer_id]
    info = await a.identify(b.peer_id)  # py-libp2p's own handlers still answer through us
    assert info["ID"] == b.peer_id


async def test_our_handlers_get_a_direct_stream_py_libp2p_ones_a_net_stream(pair):
    """libp2p_fixes fix 6: no NetStream (nor swarm bookkeeping) for our own handlers."""
    from jiaozi_node.net.transport.inbound import DirectStream

    a, b = pair
    seen: list[tuple[str, int]] = []
    done = trio.Event()

    async def echo(stream):
        conns = b._host.get_network().get_connections(ID.from_base58(a.peer_id))
        ours = [st for c in conns for st in c.streams if str(st.get_protocol()) == "/test/direct/1"]
        seen.append((type(stream._s).__name__, len(ours)))
        await stream.write(await stream.read_until_eof(1 << 16))
        done.set()

    b.set_stream_handler("/test/direct/1", echo)
    s = await a.new_stream(b.peer_id, "/test/direct/1")
    await s.write(b"ping")
    await s.close_write()
    assert await s.read_until_eof(100) == b"ping"
    with trio.fail_after(5):
        await done.wait()
    assert seen == [(DirectStream.__name__, 0)]
    assert (await a.identify(b.peer_id))["ID"] == b.peer_id  # identify: upstream NetStream path
    assert await a.ping(b.peer_id)
