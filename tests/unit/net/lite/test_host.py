"""LiteHost (dial-only, no py-libp2p) against an in-process py-libp2p host (Libp2pHost), and
against a hostile responder made of the lean pieces (TCP + multistream + Noise + our Yamux)
that resets streams, refuses protocols, sends oversized frames or stalls: clear errors, no hang.
Real Kubo/Helia: interop/test_bitswap_kubo.py, interop/test_bitswap_helia.py."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
import trio

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.errors import (
    InvalidInput,
    NetworkError,
    NotFound,
    ProtocolNotSupported,
    StreamReset,
    Timeout,
)
from jiaozi_node.identity import Identity
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.net.lite.host import (
    IDENTIFY_PROTOCOL,
    PING_PROTOCOL,
    LiteHost,
    UnsupportedAddress,
    dialable,
    parse_tcp_addr,
)
from jiaozi_node.net.lite.negotiate import accept
from jiaozi_node.net.lite.secure import YAMUX, secure_inbound
from jiaozi_node.net.yamux_session import YamuxSession, YamuxSettings

ECHO = "/test/echo/1.0.0"
LOOP = "/ip4/127.0.0.1/tcp/0"
FAST = replace(NET_LIMITS, connect_timeout_s=1.0, negotiate_timeout_s=1.0, ping_timeout_s=1.0,
               identify_timeout_s=1.0)


async def _echo(stream) -> None:
    while data := await stream.read():
        await stream.write(data)


@pytest.fixture
async def full(nursery):
    host = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(host.run)
    host.set_stream_handler(ECHO, _echo)
    return host


@pytest.fixture
async def lite(nursery):
    host = LiteHost(Identity.generate(), limits=FAST)
    await nursery.start(host.run)
    return host


def test_addresses_it_dials_and_those_it_leaves_to_libp2p_host():
    pid = Identity.generate().peer_id
    assert parse_tcp_addr(f"/ip4/127.0.0.1/tcp/4001/p2p/{pid}") == ("127.0.0.1", 4001, pid)
    assert parse_tcp_addr(f"/ip6/::1/tcp/4001/ipfs/{pid}") == ("::1", 4001, pid)
    for other in (f"/dns4/localhost/tcp/4001/p2p/{pid}", f"/ip4/127.0.0.1/udp/4001/quic-v1/p2p/{pid}",
                  "/ip4/127.0.0.1/tcp/4001", f"/ip4/127.0.0.1/tcp/4001/ws/p2p/{pid}",
                  f"/ip4/1.2.3/tcp/1/p2p/{pid}", f"/ip4/127.0.0.1/tcp/0/p2p/{pid}"):
        assert not dialable(other)
        with pytest.raises(UnsupportedAddress):
            parse_tcp_addr(other)
    with pytest.raises(InvalidInput):
        parse_tcp_addr("/ip4/127.0.0.1/tcp/1/p2p/QmNotBase58!!")


async def test_streams_both_ways_identify_ping_disconnect(full, lite):
    events: list[tuple[str, str]] = []
    down = trio.Event()
    lite.on_connected(lambda p: events.append(("up", p)))
    lite.on_disconnected(lambda p: (events.append(("down", p)), down.set()))
    peer = await lite.connect(full.addrs()[0])
    assert peer == full.peer_id and lite.peers() == [peer] and lite.is_connected(peer)
    assert await lite.connect(full.addrs()[0]) == peer  # no second connection
    assert lite.listen_addrs() == [] and lite.addrs() == []

    s = await lite.new_stream(peer, ["/nope/1.0.0", ECHO])  # the first one is refused
    assert s.protocol == ECHO and s.remote_peer == peer
    big = bytes(range(256)) * 4096  # 1 MiB: beyond the initial window
    async with trio.open_nursery() as n:
        async def send():
            await s.write(big)
            await s.close_write()
        n.start_soon(send)
        assert await s.read_until_eof(2 * len(big)) == big
    await s.close()

    got = []
    lite.set_stream_handler(ECHO, _echo)  # the peer opens a stream to us on our connection
    back = await full.new_stream(lite.peer_id, [ECHO])
    await back.write(b"hello")
    got.append(await back.read_exactly(5))
    await back.close()
    assert got == [b"hello"]

    info = await full.identify(lite.peer_id)  # answered by LiteHost
    assert info["AgentVersion"].startswith("jzfs/") and info["Addresses"] == []
    assert {IDENTIFY_PROTOCOL, PING_PROTOCOL, ECHO} <= set(info["Protocols"])
    mine = await lite.identify(peer)
    assert mine["ID"] == peer and ECHO in mine["Protocols"] and mine["Addresses"]
    assert len(await lite.ping(peer, count=2)) == 2
    assert len(await full.ping(lite.peer_id)) == 1

    await lite.disconnect(peer)
    with trio.fail_after(5):
        await down.wait()
    assert events == [("up", peer), ("down", peer)] and lite.peers() == []
    with pytest.raises(NotFound):
        await lite.new_stream(peer, [ECHO])


async def test_wrong_peer_id_and_refused_dial(full, lite):
    other = Identity.generate().peer_id
    addr = full.addrs()[0].rsplit("/p2p/", 1)[0]
    with pytest.raises(NetworkError, match="mismatch"):
        await lite.connect(f"{addr}/p2p/{other}")
    with trio.socket.socket() as s:  # a port nobody listens on
        await s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError, match="cannot connect"):
        await lite.connect(f"/ip4/127.0.0.1/tcp/{port}/p2p/{other}")
    assert lite.peers() == []


# ------------------------------------------------------------------ a hostile responder


class Responder:
    """TCP listener speaking multistream + Noise + Yamux (the lean pieces, responder side);
    `on_stream(session, stream)` decides what each inbound stream gets."""

    def __init__(self, on_stream) -> None:
        self.identity = Identity.generate()
        self.on_stream = on_stream
        self.sessions: list[YamuxSession] = []
        self.channels = []

    async def serve(self, nursery, *, task_status=trio.TASK_STATUS_IGNORED):
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        task_status.started(f"/ip4/127.0.0.1/tcp/{port}/p2p/{self.identity.peer_id}")
        await trio.serve_listeners(self._conn, listeners)

    async def _conn(self, sock) -> None:
        _, rest = await accept(sock, lambda p: p == "/noise")
        ch = await secure_inbound(sock, self.identity, received=rest)
        self.channels.append(ch)
        if ch.muxer is None:
            await accept(ch, lambda p: p == YAMUX)
        session = YamuxSession(is_initiator=False, settings=YamuxSettings.from_limits())
        self.sessions.append(session)
        async with trio.open_nursery() as n:
            await n.start(session.run, ch)
            while True:
                try:
                    st = await session.accept_stream()
                except Exception:  # noqa: BLE001
                    return
                n.start_soon(self.on_stream, ch, st)


class Raw:
    """A session stream as a byte stream for multistream-select."""

    def __init__(self, st) -> None:
        self.st = st

    async def receive_some(self, n=None):
        return await self.st.read(n or 65536)

    async def send_all(self, data):
        await self.st.write(data)


async def _responder(nursery, on_stream) -> tuple[Responder, str]:
    r = Responder(on_stream)
    addr = await nursery.start(r.serve, nursery)
    return r, addr


async def test_peer_refuses_every_protocol(nursery, lite):
    async def refuse(ch, st):
        await accept(Raw(st), lambda p: False)

    _, addr = await _responder(nursery, refuse)
    peer = await lite.connect(addr)
    with trio.fail_after(5), pytest.raises(ProtocolNotSupported):
        await lite.new_stream(peer, [ECHO, "/other/1.0.0"])


async def test_peer_resets_mid_stream(nursery, lite):
    async def half_then_reset(ch, st):
        await accept(Raw(st), lambda p: p == ECHO)
        await st.read(1)  # our "go"
        await st.write(b"x" * 1000)
        await st.reset()

    _, addr = await _responder(nursery, half_then_reset)
    peer = await lite.connect(addr)
    s = await lite.new_stream(peer, [ECHO])
    await s.write(b"g")
    with trio.fail_after(5), pytest.raises(StreamReset, match="was reset"):
        while True:
            await s.read()


async def test_oversized_frame_ends_the_connection_with_an_error(nursery, lite):
    down = trio.Event()
    lite.on_disconnected(lambda p: down.set())

    async def oversized(ch, st):
        await accept(Raw(st), lambda p: p == ECHO)
        await st.read(1)  # our "go"
        # a DATA frame announcing 16 MiB on the stream: beyond any window we granted
        await ch.write([struct.pack("!BBHII", 0, 0, 0, st.stream_id, 16 << 20) + b"y" * 100])

    _, addr = await _responder(nursery, oversized)
    peer = await lite.connect(addr)
    s = await lite.new_stream(peer, [ECHO])
    await s.write(b"g")
    with trio.fail_after(5):
        with pytest.raises(StreamReset):
            while True:
                await s.read()
        await down.wait()
    assert not lite.is_connected(peer)
    with pytest.raises(NotFound):
        await lite.new_stream(peer, [ECHO])


async def test_stalled_peer_times_out(nursery, lite):
    async def silent(sock):
        await trio.sleep_forever()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    nursery.start_soon(trio.serve_listeners, silent, listeners)
    pid = Identity.generate().peer_id
    with trio.fail_after(5), pytest.raises(Timeout):
        await lite.connect(f"/ip4/127.0.0.1/tcp/{port}/p2p/{pid}")


async def test_stalled_stream_negotiation_times_out(nursery, lite):
    async def mute(ch, st):
        await trio.sleep_forever()

    _, addr = await _responder(nursery, mute)
    peer = await lite.connect(addr)
    with trio.fail_after(5), pytest.raises(Timeout):
        await lite.new_stream(peer, [ECHO])
