"""The lean libp2p client (jiaozi_node.net.lite, no py-libp2p) dials real Kubo 0.22 and Helia.

TCP -> multistream-select `/noise` -> Noise XX (the remote proves the peer ID we dialed) ->
`/yamux/1.0.0` (agreed inside the handshake when the peer offers it, as Kubo does, else by
multistream-select over the secured channel) -> a Yamux ping answered by the peer, which shows the
channel carries data both ways. Loopback only (interop/conftest.py: a loopback-only netns).
"""

from __future__ import annotations

import struct
import time

import pytest
import trio

from jiaozi_node.errors import NetworkError
from jiaozi_node.identity import Identity
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.net.lite.negotiate import select
from jiaozi_node.net.lite.secure import YAMUX, SecureChannel, secure_outbound

pytestmark = pytest.mark.trio

YAMUX_HDR = struct.Struct("!BBHII")  # version, type, flags, stream id, length
PING, SYN, ACK, DATA = 2, 1, 2, 0


def _tcp(multiaddr: str) -> tuple[str, int, str]:
    parts = multiaddr.split("/")
    assert parts[1] == "ip4" and parts[3] == "tcp" and parts[5] == "p2p", multiaddr
    return parts[2], int(parts[4]), parts[6]


async def _dial(multiaddr: str, identity: object, expected: str, *,
                early: bool = True) -> tuple[SecureChannel, bytes]:
    host, port, _ = _tcp(multiaddr)
    sock = await trio.open_tcp_stream(host, port)
    proto, rest = await select(sock, "/noise")
    assert (proto, rest) == ("/noise", b"")
    ch = await secure_outbound(sock, identity, expected, muxers=(YAMUX,) if early else ())
    rest = b""
    if ch.muxer is None:
        muxer, rest = await select(ch, YAMUX)
        assert muxer == YAMUX
    return ch, rest


async def _yamux_ping(ch: SecureChannel, buf: bytes) -> None:
    """Send a Yamux ping; read frames (the peer may open its own streams first) until its ACK."""
    opaque = 0x5EED
    await ch.write([YAMUX_HDR.pack(0, PING, SYN, 0, opaque)])
    while True:
        while len(buf) >= 12:
            _, typ, flags, _sid, length = YAMUX_HDR.unpack_from(buf)
            size = 12 + (length if typ == DATA else 0)
            if len(buf) < size:
                break
            buf = buf[size:]
            if typ == PING and flags & ACK and length == opaque:
                return
        data = await ch.read()
        assert data, "peer closed before answering the Yamux ping"
        buf += data


@pytest.mark.parametrize("identity", ["rsa", "ed25519"])
async def test_lite_client_dials_kubo(kubo_factory, identity):
    kubo = kubo_factory(identity=identity)
    with trio.fail_after(20):
        t0 = time.perf_counter()
        ch, rest = await _dial(kubo.multiaddr, Identity.generate(), kubo.peer_id)
        print(f"lite -> Kubo ({identity}) secured: {(time.perf_counter() - t0) * 1e3:.1f} ms, "
              f"muxer {'in the handshake' if ch.muxer else 'by multistream-select'}")
        assert ch.remote_peer_id == kubo.peer_id
        assert ch.remote_public_key.type_name == identity
        assert ch.muxer == YAMUX  # go-libp2p offers yamux in its Noise payload: no extra round trip
        await _yamux_ping(ch, rest)
        await ch.close()


async def test_lite_client_with_a_secp256k1_identity_dials_kubo(kubo_factory):
    """Kubo verifies our handshake payload too: any libp2p key type works as our identity. The
    muxer by multistream-select over the secured channel (no early negotiation offered)."""
    kubo = kubo_factory(identity="ed25519")
    with trio.fail_after(20):
        ch, rest = await _dial(kubo.multiaddr, PrivateKey.generate("secp256k1"), kubo.peer_id,
                               early=False)
        assert ch.muxer is None
        await _yamux_ping(ch, rest)
        await ch.close()


async def test_lite_client_refuses_the_wrong_peer_at_kubos_address(kubo_factory):
    kubo = kubo_factory(identity="ed25519")
    host, port, _ = _tcp(kubo.multiaddr)
    with trio.fail_after(20):
        sock = await trio.open_tcp_stream(host, port)
        await select(sock, "/noise")
        with pytest.raises(NetworkError, match="peer ID mismatch"):
            await secure_outbound(sock, Identity.generate(), Identity.generate().peer_id)
        await sock.aclose()


@pytest.mark.parametrize("early", [True, False])
async def test_lite_client_dials_helia(helia, early):
    with trio.fail_after(20):
        t0 = time.perf_counter()
        ch, rest = await _dial(helia.multiaddr, Identity.generate(), helia.peer_id, early=early)
        print(f"lite -> Helia secured: {(time.perf_counter() - t0) * 1e3:.1f} ms, "
              f"muxer {'in the handshake' if ch.muxer else 'by multistream-select'}")
        assert ch.remote_peer_id == _tcp(helia.multiaddr)[2] == helia.peer_id
        assert ch.muxer == (YAMUX if early else None)
        await _yamux_ping(ch, rest)
        await ch.close()
