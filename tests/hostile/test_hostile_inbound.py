"""A hostile dialer against the daemon's inbound multistream-select on our Yamux
(net/transport/inbound.py, with the direct stream path of libp2p_fixes fix 6): endless unknown
proposals from a dialer that never reads the `na`s, an oversized protocol line, and a burst of
silent streams. Each stream is reset within NetLimits.negotiate_timeout_s (an oversized line at
once, NetLimits.max_mss_message_bytes), and the connection keeps serving the peer."""

from __future__ import annotations

from dataclasses import replace

import trio
from libp2p.peer.id import ID

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.identity import Identity
from jiaozi_node.net import wire
from jiaozi_node.net.libp2p_host import Libp2pHost

LOOP = "/ip4/127.0.0.1/tcp/0"
T = 1.0  # py-libp2p's timeouts take whole seconds
LIMITS = replace(NET_LIMITS, negotiate_timeout_s=T)
HEADER = wire.mss_message(b"/multistream/1.0.0\n")


async def _pair(nursery: trio.Nursery) -> tuple[Libp2pHost, Libp2pHost]:
    a = Libp2pHost(Identity.generate(), listen=[LOOP], limits=LIMITS)
    b = Libp2pHost(Identity.generate(), listen=[LOOP], limits=LIMITS)
    await nursery.start(a.run)
    await nursery.start(b.run)
    await a.connect(b.addrs()[0])
    return a, b


async def _raw(a: Libp2pHost, b: Libp2pHost):
    """A stream below the host API: the test writes the dialer's bytes itself."""
    return await a._host.get_network().new_stream(ID.from_base58(b.peer_id))


async def _ended(stream) -> None:
    """Reads until the victim ends the stream (a reset, or EOF)."""
    try:
        while await stream.read():
            pass
    except Exception:  # noqa: BLE001 - py-libp2p's StreamReset / StreamError: the expected end
        pass


async def _still_serves(a: Libp2pHost, b: Libp2pHost) -> None:
    assert a.peers() == [b.peer_id]
    info = await a.identify(b.peer_id)
    assert info["ID"] == b.peer_id


async def test_endless_unknown_proposals_never_read_are_cut(nursery) -> None:
    a, b = await _pair(nursery)
    s = await _raw(a, b)

    async def propose() -> None:
        try:
            await s.write(HEADER)
            for i in range(1_000_000):
                await s.write(wire.mss_message(b"/nope/%d\n" % i))
        except Exception:  # noqa: BLE001 - reset by the victim: the expected end
            pass

    with trio.fail_after(T * 6):
        await propose()  # never reads the victim's `na`s; ends only when the victim resets
        await _still_serves(a, b)


async def test_oversized_protocol_line_is_reset_at_once(nursery) -> None:
    a, b = await _pair(nursery)
    s = await _raw(a, b)
    await s.write(HEADER + wire.mss_message(b"/" + b"x" * (4 * LIMITS.max_mss_message_bytes) + b"\n"))
    with trio.fail_after(T * 0.9):  # well before the negotiation timeout
        await _ended(s)
    with trio.fail_after(T * 6):
        await _still_serves(a, b)


async def test_burst_of_silent_streams_is_reset_and_the_connection_stays(nursery) -> None:
    a, b = await _pair(nursery)
    streams = [await _raw(a, b) for _ in range(100)]
    with trio.fail_after(T * 8):
        async with trio.open_nursery() as n:
            for s in streams:
                n.start_soon(_ended, s)
        await _still_serves(a, b)
