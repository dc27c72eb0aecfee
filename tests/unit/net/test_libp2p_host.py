"""Two jzfs hosts in one trio process on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest
import trio

from jiaozi_node.errors import InvalidInput, LimitExceeded, NetworkError, NotFound, StreamReset
from jiaozi_node.identity import Identity
from jiaozi_node.net.libp2p_host import (
    IDENTIFY_PROTOCOL,
    PING_PROTOCOL,
    Libp2pHost,
    parse_peer_multiaddr,
)

LOOP = "/ip4/127.0.0.1/tcp/0"


@pytest.fixture
async def pair(nursery):
    a = Libp2pHost(Identity.generate(), listen=[LOOP])
    b = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(a.run)
    await nursery.start(b.run)
    return a, b


def test_peer_id_is_the_repo_identity():
    ident = Identity.generate()
    host = Libp2pHost(ident, listen=[LOOP])
    assert host.peer_id == ident.peer_id
    assert host.public_key_protobuf == ident.public_key_protobuf


def test_parse_peer_multiaddr():
    pid = Identity.generate().peer_id
    assert parse_peer_multiaddr(f"/ip4/127.0.0.1/tcp/4001/p2p/{pid}")[0] == pid
    for bad in ("/ip4/127.0.0.1/tcp/4001", "nonsense", f"/ip4/999.1.1.1/tcp/1/p2p/{pid}"):
        with pytest.raises(InvalidInput):
            parse_peer_multiaddr(bad)


async def test_listen_addrs_carry_real_port_and_peer_id(pair):
    a, _ = pair
    (addr,) = a.addrs()
    assert addr.startswith("/ip4/127.0.0.1/tcp/") and addr.endswith(f"/p2p/{a.peer_id}")
    assert not addr.startswith("/ip4/127.0.0.1/tcp/0/")
    assert {IDENTIFY_PROTOCOL, PING_PROTOCOL} <= set(a.protocols())


async def test_connect_identify_ping_and_notifications(pair):
    a, b = pair
    a_seen: list[tuple[str, str]] = []
    b_seen: list[tuple[str, str]] = []
    b_up_ev, a_down_ev, b_down_ev = trio.Event(), trio.Event(), trio.Event()
    a.on_connected(lambda p: a_seen.append(("up", p)))
    a.on_disconnected(lambda p: (a_seen.append(("down", p)), a_down_ev.set()))

    async def b_up(p: str) -> None:  # async callbacks are awaited too
        b_seen.append(("up", p))
        b_up_ev.set()

    b.on_connected(b_up)
    b.on_disconnected(lambda p: (b_seen.append(("down", p)), b_down_ev.set()))

    t0 = time.perf_counter()
    peer = await a.connect(b.addrs()[0])
    ms = (time.perf_counter() - t0) * 1e3
    print(f"\nconnect to a local jzfs host: {ms:.1f} ms (py-libp2p's dial_peer waits >= 250 ms)")
    assert peer == b.peer_id
    assert await a.connect(b.addrs()[0]) == peer  # already connected: no second connection
    assert a.peers() == [b.peer_id]
    with trio.fail_after(5):
        await b_up_ev.wait()
    assert b.peers() == [a.peer_id]
    assert a_seen == [("up", b.peer_id)] and b_seen == [("up", a.peer_id)]

    info = await a.identify(b.peer_id)
    assert info["AgentVersion"].startswith("jzfs/")
    assert info["ID"] == b.peer_id and info["PublicKey"] == b.public_key_protobuf
    assert IDENTIFY_PROTOCOL in info["Protocols"]
    assert info["Addresses"] == b.listen_addrs()
    rtts = await a.ping(b.peer_id, count=2)
    assert len(rtts) == 2 and all(0 < r < 5 for r in rtts)
    (conn,) = a.peer_conn_info(b.peer_id)
    assert conn["Muxer"] == "/yamux/1.0.0" and conn["Addr"] == b.listen_addrs()[0]

    await a.disconnect(b.peer_id)
    with trio.fail_after(5):
        await a_down_ev.wait()
        await b_down_ev.wait()
    assert a_seen[-1] == ("down", b.peer_id) and b_seen[-1] == ("down", a.peer_id)
    assert a.peers() == [] and b.peers() == []
    with pytest.raises(NotFound):
        await a.disconnect(b.peer_id)


async def test_custom_protocol_echo_both_directions(pair):
    a, b = pair
    payload = bytes(range(256)) * 4096  # 1 MiB: several yamux frames and window updates

    async def echo(stream):
        assert stream.protocol == "/test/echo/2.0.0"
        data = await stream.read_until_eof(4 << 20)
        await stream.write(data[::-1])

    b.set_stream_handler(["/test/echo/1.0.0", "/test/echo/2.0.0"], echo)
    a.set_stream_handler("/test/echo/2.0.0", echo)
    await a.connect(b.addrs()[0])
    for src, dst in ((a, b), (b, a)):
        s = await src.new_stream(dst.peer_id, ["/test/nope/1.0.0", "/test/echo/2.0.0"])
        assert s.protocol == "/test/echo/2.0.0" and s.remote_peer == dst.peer_id
        await s.write(payload)
        await s.close_write()
        assert await s.read_until_eof(4 << 20) == payload[::-1]
        await s.close()


async def test_unsupported_protocol_and_unconnected_peer(pair):
    a, b = pair
    with pytest.raises(NotFound):
        await a.new_stream(b.peer_id, "/test/echo/1.0.0")
    await a.connect(b.addrs()[0])
    with pytest.raises(NetworkError):
        await a.new_stream(b.peer_id, "/test/none/1.0.0")


async def test_failing_handler_resets_only_its_stream(pair):
    a, b = pair

    async def broken(stream):
        await stream.read(10)
        raise ValueError("bug in a handler")

    async def ok(stream):
        await stream.write(b"fine")

    b.set_stream_handler("/test/broken/1", broken)
    b.set_stream_handler("/test/ok/1", ok)
    await a.connect(b.addrs()[0])
    s = await a.new_stream(b.peer_id, "/test/broken/1")
    await s.write(b"x")
    with pytest.raises(StreamReset):
        with trio.fail_after(5):
            while await s.read():
                pass
    s2 = await a.new_stream(b.peer_id, "/test/ok/1")
    assert await s2.read_until_eof(100) == b"fine"
    assert a.peers() == [b.peer_id]


async def test_many_short_inbound_streams(pair):
    """Kubo opens one stream per bitswap reply: accepting hundreds of them must work."""
    a, b = pair
    got: list[int] = []
    n = 300
    all_in = trio.Event()

    async def sink(stream):
        got.append(len(await stream.read_until_eof(1 << 20)))
        if len(got) == n:
            all_in.set()

    b.set_stream_handler("/test/sink/1", sink)
    await a.connect(b.addrs()[0])
    t0 = time.perf_counter()
    for i in range(n):
        s = await a.new_stream(b.peer_id, "/test/sink/1")
        await s.write(b"b" * (i + 1))
        await s.close()
    with trio.fail_after(10):
        await all_in.wait()
    dt = time.perf_counter() - t0
    print(f"\n{n} short streams: {n / dt:.0f} streams/s")
    assert sorted(got) == list(range(1, n + 1))


async def test_dial_errors(pair):
    a, b = pair
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(NetworkError):
        await a.connect(f"/ip4/127.0.0.1/tcp/{port}/p2p/{b.peer_id}")
    print(f"\nrefused dial failed after {(time.perf_counter() - t0) * 1e3:.1f} ms")
    with pytest.raises(InvalidInput):
        await a.connect(a.addrs()[0])
    with pytest.raises(InvalidInput):
        await a.connect("/ip4/127.0.0.1/tcp/1")
    # dialing b's port while expecting a different peer ID: Noise catches the mismatch
    wrong = Identity.generate().peer_id
    with pytest.raises(NetworkError):
        await a.connect(f"{b.listen_addrs()[0]}/p2p/{wrong}")
    assert a.peers() == []
    # and a failed dial does not block the right one afterwards (no negative cache)
    assert await a.connect(b.addrs()[0]) == b.peer_id


async def test_lazy_negotiation_for_protocols_the_peer_announced(pair):
    a, b = pair

    async def echo(stream):
        await stream.write(await stream.read_until_eof(1 << 20))

    b.set_stream_handler("/test/lazy/1", echo)
    await a.connect(b.addrs()[0])
    await a.identify(b.peer_id)  # the peer announced /test/lazy/1
    s = await a.new_stream(b.peer_id, ["/test/other/1", "/test/lazy/1"])
    assert s._lazy and s.protocol == "/test/lazy/1"  # no round trip was spent
    await s.write(b"ping")
    await s.close_write()
    assert await s.read_until_eof(100) == b"ping"

    # the peer dropped the protocol since identify: the first read reports the refusal
    b.remove_stream_handler("/test/lazy/1")
    s = await a.new_stream(b.peer_id, "/test/lazy/1")
    assert s._lazy
    await s.write(b"x")
    with pytest.raises(NetworkError, match="refused"):
        await s.read()


async def test_mplex_only_peer_falls_back_to_mplex(nursery):
    """A peer without yamux (older py-libp2p / js setups) still connects: mplex is offered."""
    import multiaddr
    from libp2p import new_host
    from libp2p.custom_types import TProtocol
    from libp2p.peer.peerinfo import info_from_p2p_addr
    from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID, Mplex

    ours = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(ours.run)

    async def echo(stream):
        await stream.write(await stream.read(100))

    ours.set_stream_handler("/test/echo/1", echo)
    other = new_host(muxer_opt={TProtocol(MPLEX_PROTOCOL_ID): Mplex})
    async with other.run([multiaddr.Multiaddr(LOOP)]):
        with trio.fail_after(10):
            await other.connect(info_from_p2p_addr(multiaddr.Multiaddr(ours.addrs()[0])))
            ours_id = info_from_p2p_addr(multiaddr.Multiaddr(ours.addrs()[0])).peer_id
            s = await other.new_stream(ours_id, [TProtocol("/test/echo/1")])
            await s.write(b"over mplex")
            assert await s.read(100) == b"over mplex"
        (conn,) = ours.peer_conn_info(other.get_id().to_base58())
        assert conn["Muxer"] == MPLEX_PROTOCOL_ID


@pytest.mark.parametrize("key_type", ["secp256k1", "rsa"])
async def test_remote_secp256k1_and_rsa_keys(nursery, key_type):
    """Kubo's default identity is RSA-2048; secp256k1 peers exist too: both work in Noise and
    identify, whichever side dials."""
    import multiaddr
    from libp2p import new_host
    from libp2p.crypto import rsa, secp256k1

    key_pair = secp256k1.create_new_key_pair() if key_type == "secp256k1" else rsa.create_new_key_pair()
    ours = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(ours.run)
    other = new_host(key_pair=key_pair)
    async with other.run([multiaddr.Multiaddr(LOOP)]):
        other_id = other.get_id().to_base58()
        other_addr = f"{other.get_addrs()[0]}"
        if "/p2p/" not in other_addr:
            other_addr += f"/p2p/{other_id}"
        with trio.fail_after(20):
            assert await ours.connect(other_addr) == other_id
            info = await ours.identify(other_id)
            assert info["ID"] == other_id
            assert (await ours.ping(other_id))[0] > 0


async def test_connect_avoids_dial_peer_and_its_250_ms_delay(pair, monkeypatch):
    """py-libp2p's `Swarm.dial_peer` waits a fixed 250 ms after its last dial starts; `connect`
    must not go through it at all (it dials the given address directly)."""
    from libp2p.network.swarm import Swarm

    async def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("connect went through Swarm.dial_peer (250 ms fallback delay)")

    monkeypatch.setattr(Swarm, "dial_peer", refuse)
    a, b = pair
    assert await a.connect(b.addrs()[0]) == b.peer_id
    assert a.is_connected(b.peer_id)


async def test_identify_push_from_a_peer_updates_what_we_know(pair):
    """Identify push (/ipfs/id/push/1.0.0): a peer that starts speaking a new protocol after we
    connected tells us, and our peerstore learns it without a new identify round trip."""
    from libp2p.identity.identify_push.identify_push import push_identify_to_peer
    from libp2p.peer.id import ID

    a, b = pair
    assert "/ipfs/id/push/1.0.0" in a.protocols()
    await a.connect(b.addrs()[0])

    async def handler(stream):  # type: ignore[no-untyped-def]
        await stream.close()

    store = a._host.get_peerstore()
    learned = trio.Event()
    add_protocols = store.add_protocols

    def spy(peer_id, protocols):  # type: ignore[no-untyped-def]
        add_protocols(peer_id, protocols)
        if "/jzfs/test-push/1.0.0" in protocols:
            learned.set()

    store.add_protocols = spy  # the push handler records what it learned through this call
    b.set_stream_handler(["/jzfs/test-push/1.0.0"], handler)
    assert await push_identify_to_peer(b._host, ID.from_base58(a.peer_id))
    with trio.fail_after(5):
        await learned.wait()
    assert "/jzfs/test-push/1.0.0" in store.get_protocols(ID.from_base58(b.peer_id))


async def test_the_hosts_limits_reach_identify_and_lazy_negotiation(nursery):
    from jiaozi_node.config import NetLimits

    a = Libp2pHost(Identity.generate(), listen=[LOOP], limits=NetLimits(max_identify_entries=2,
                                                                         max_mss_message_bytes=77))
    b = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(a.run)
    await nursery.start(b.run)
    b.set_stream_handler("/test/lazy/1", lambda stream: stream.close())
    await a.connect(b.addrs()[0])
    with pytest.raises(LimitExceeded, match="more than 2 fields"):  # b announces more than two
        await a.identify(b.peer_id)
    b2 = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(b2.run)
    b2.set_stream_handler("/test/lazy/1", lambda stream: stream.close())
    await b2.connect(b.addrs()[0])
    await b2.identify(b.peer_id)
    s = await b2.new_stream(b.peer_id, "/test/lazy/1")
    assert s._lazy and s._max_mss == b2.limits.max_mss_message_bytes


async def test_read_views_of_an_inbound_stream(pair):
    """Stream.read_views: the received chunks as views (bitswap joins each message once)."""
    a, b = pair
    payload = bytes(range(256)) * 4096
    got: list[bytes] = []
    done = trio.Event()

    async def sink(stream):
        parts = []
        while views := await stream.read_views():
            parts += [bytes(v) for v in views]
        got.append(b"".join(parts))
        done.set()

    b.set_stream_handler("/test/views/1", sink)
    await a.connect(b.addrs()[0])
    s = await a.new_stream(b.peer_id, "/test/views/1")
    await s.write(payload)
    await s.close()
    with trio.fail_after(10):
        await done.wait()
    assert got == [payload]
