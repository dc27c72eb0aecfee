"""jiaozi_node.net.lite.secure: the Noise handshake over trio streams (in memory and TCP
loopback), both ends ours, plus peers that stall, close or lie."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import trio
import trio.testing

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.errors import NetworkError, RemoteProtocolError, Timeout
from jiaozi_node.identity import Identity
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.net.lite.negotiate import accept, select
from jiaozi_node.net.lite.noise import NOISE_MAX_PLAINTEXT, NoiseHandshake
from jiaozi_node.net.lite.secure import YAMUX, SecureChannel, secure_inbound, secure_outbound


async def _pair(a: trio.abc.Stream, b: trio.abc.Stream, server_key: object,
                expected: str | None, **kw: object) -> tuple[SecureChannel, SecureChannel]:
    out: dict[str, SecureChannel] = {}
    client = Identity.generate()

    async def server() -> None:
        out["s"] = await secure_inbound(b, server_key, **kw)  # type: ignore[arg-type]

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            n.start_soon(server)
            out["c"] = await secure_outbound(a, client, expected, **kw)  # type: ignore[arg-type]
    assert out["s"].remote_peer_id == client.peer_id
    return out["c"], out["s"]


async def test_handshake_then_data_over_memory_streams() -> None:
    server = Identity.generate()
    a, b = trio.testing.memory_stream_pair()
    c, s = await _pair(a, b, server, server.peer_id)
    assert c.remote_peer_id == server.peer_id and c.muxer == s.muxer == YAMUX
    with trio.fail_after(10):
        big = os.urandom(3 * NOISE_MAX_PLAINTEXT + 5)
        async with trio.open_nursery() as n:
            n.start_soon(c.send_all, big)
            got = b""
            while len(got) < len(big):
                got += await s.read()
        assert got == big
        await s.write([b"one", b"two"])
        # one message per read (no join), even when both came in one socket read
        assert await c.read() == b"one" and await c.read() == b"two"
        await s.write([b"abcdef"])
        assert await c.receive_some(2) == b"ab" and await c.receive_some(100) == b"cdef"
        await s.close()
        assert await c.read() == b""


async def test_full_upgrade_over_tcp_loopback_with_multistream() -> None:
    """/noise chosen by multistream-select, then the muxer: early (both offer yamux) or by
    multistream-select over the secured channel (we offer none)."""
    server = PrivateKey.generate("secp256k1")
    server_id = __import__("base58").b58encode(server.public_key.peer_id_multihash()).decode()
    for muxers in ((YAMUX,), ()):
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        result: dict[str, object] = {}

        async def serve(muxers: tuple[str, ...] = muxers,
                        listeners: list[trio.SocketListener] = listeners,
                        result: dict[str, object] = result) -> None:
            sock = await listeners[0].accept()
            proto, rest = await accept(sock, lambda p: p == "/noise")
            assert (proto, rest) == ("/noise", b"")
            ch = await secure_inbound(sock, server, muxers=muxers)
            result["server_muxer"] = ch.muxer
            if ch.muxer is None:
                result["server_muxer"], _ = await accept(ch, lambda p: p == YAMUX)
            await ch.write([b"ready"])
            await ch.close()

        with trio.fail_after(10):
            async with trio.open_nursery() as n:
                n.start_soon(serve)
                sock = await trio.open_tcp_stream("127.0.0.1", port)
                proto, rest = await select(sock, ["/tls/1.0.0", "/noise"])
                assert (proto, rest) == ("/noise", b"")
                ch = await secure_outbound(sock, Identity.generate(), server_id, muxers=muxers)
                assert ch.remote_peer_id == server_id
                if muxers:
                    assert ch.muxer == YAMUX
                    rest = b""
                else:
                    assert ch.muxer is None
                    _, rest = await select(ch, YAMUX)
                assert rest + await ch.read() == b"ready"
                await ch.close()
            await listeners[0].aclose()
        assert result["server_muxer"] == YAMUX


async def test_wrong_peer_at_the_address_fails_the_dial() -> None:
    a, b = trio.testing.memory_stream_pair()
    dialed = Identity.generate().peer_id

    async def server() -> None:
        with pytest.raises(NetworkError):  # we hang up without sending message 3
            await secure_inbound(b, Identity.generate())

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            n.start_soon(server)
            with pytest.raises(NetworkError, match="peer ID mismatch"):
                await secure_outbound(a, Identity.generate(), dialed)
            await a.aclose()


async def test_peer_closing_mid_handshake_is_a_network_error() -> None:
    a, b = trio.testing.memory_stream_pair()

    async def peer() -> None:
        await b.receive_some(1000)  # message 1
        await b.send_all(b"\x00\x50" + b"x" * 10)  # half a message 2, then gone
        await b.aclose()

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            n.start_soon(peer)
            with pytest.raises(NetworkError, match="closed the connection during the Noise"):
                await secure_outbound(a, Identity.generate(), None)


async def test_silent_peer_times_out(autojump_clock: trio.testing.MockClock) -> None:
    a, _b = trio.testing.memory_stream_pair()
    limits = replace(NET_LIMITS, connect_timeout_s=5.0)
    with pytest.raises(Timeout, match="Noise handshake"):
        await secure_outbound(a, Identity.generate(), None, limits=limits)


async def test_garbage_instead_of_message_2_is_a_protocol_error() -> None:
    a, b = trio.testing.memory_stream_pair()
    await b.send_all(b"\x01\x00" + os.urandom(256))
    with trio.fail_after(10), pytest.raises(RemoteProtocolError):
        await secure_outbound(a, Identity.generate(), None)


async def test_truncated_and_forged_transport_messages() -> None:
    server = Identity.generate()
    a, b = trio.testing.memory_stream_pair()
    c, s = await _pair(a, b, server, None)
    with trio.fail_after(10):
        await b.send_all(b"\x00\x30" + os.urandom(0x30))  # well framed, not authentic
        with pytest.raises(RemoteProtocolError, match="authentication"):
            await c.read()
    a, b = trio.testing.memory_stream_pair()
    c, s = await _pair(a, b, server, None)
    with trio.fail_after(10):
        await b.send_all(b"\x00\x30abc")  # a message cut short by EOF
        await b.aclose()
        with pytest.raises(NetworkError, match="middle of a Noise message"):
            await c.read()


async def test_data_pipelined_behind_message_3_reaches_the_responder() -> None:
    """The initiator may send transport data in the same write as message 3."""
    a, b = trio.testing.memory_stream_pair()
    me = Identity.generate()
    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            async def dialer() -> None:
                hs = NoiseHandshake(me, initiator=True)
                await a.send_all(hs.initial_bytes())
                msg3 = hs.receive_data(await a.receive_some(65536))
                await a.send_all(msg3 + hs.result().transport.encrypt([b"early"]))
            n.start_soon(dialer)
            ch = await secure_inbound(b, Identity.generate())
            assert ch.remote_peer_id == me.peer_id
            assert await ch.read() == b"early"


async def test_message_1_pipelined_behind_the_noise_proposal() -> None:
    """A dialer may send message 1 in the same write as its `/noise` proposal: `accept` returns
    it as `rest`, `secure_inbound(received=rest)` starts from it."""
    from jiaozi_node.net.lite.multistream import HEADER, encode_message

    a, b = trio.testing.memory_stream_pair()
    me = Identity.generate()
    hs = NoiseHandshake(me, initiator=True)
    await a.send_all(HEADER + encode_message("/noise") + hs.initial_bytes())
    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            async def dialer() -> None:
                answer = HEADER + encode_message("/noise")
                buf = b""
                while len(buf) < len(answer):
                    buf += await a.receive_some(65536)
                assert buf.startswith(answer)
                out, buf = hs.receive_data(buf[len(answer):]), b""
                while not hs.done:
                    out = hs.receive_data(await a.receive_some(65536))
                await a.send_all(out)
            n.start_soon(dialer)
            proto, rest = await accept(b, lambda p: p == "/noise")
            assert proto == "/noise" and rest
            ch = await secure_inbound(b, Identity.generate(), received=rest)
            assert ch.remote_peer_id == me.peer_id
