"""Hostile bytes against the lean client's connection setup (net/lite): multistream-select and
the Noise handshake, as a malicious listener would send them. Any input ends in one of our clear
errors (RemoteProtocolError, ProtocolNotSupported, NetworkError) or in waiting for more bytes —
never another exception, never a hang."""

from __future__ import annotations

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaozi_node.errors import NetworkError, ProtocolNotSupported, RemoteProtocolError
from jiaozi_node.identity import Identity
from jiaozi_node.net.lite.multistream import HEADER, Initiator, Responder, encode_message
from jiaozi_node.net.lite.negotiate import select
from jiaozi_node.net.lite.noise import NoiseHandshake, decode_payload, encode_payload
from jiaozi_node.net.lite.secure import secure_outbound

CLEAR = (RemoteProtocolError, ProtocolNotSupported)
ME = Identity.generate()


def _feed_both(chunks: list[bytes]) -> None:
    for machine in (Initiator(["/noise"]), Responder(lambda p: p == "/noise")):
        try:
            for c in chunks:
                if machine.done:
                    break
                machine.receive_data(c)
        except CLEAR:
            pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=6))
def test_multistream_machines_on_random_chunks(chunks: list[bytes]) -> None:
    _feed_both(chunks)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([HEADER, encode_message("na"), encode_message("/noise"),
                                 encode_message("ls"), b"\x01", b"\x80", b"\xff\n"]), max_size=8))
def test_multistream_machines_on_shuffled_messages(parts: list[bytes]) -> None:
    _feed_both(parts)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_payload_decoder_on_random_bytes(raw: bytes) -> None:
    try:
        decode_payload(raw)
    except RemoteProtocolError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 400))
def test_noise_initiator_on_random_message_2(body: bytes, flip: int) -> None:
    ini = NoiseHandshake(ME, initiator=True)
    ini.initial_bytes()
    try:
        ini.receive_data(len(body).to_bytes(2, "big") + body)
    except RemoteProtocolError:
        return
    assert not ini.done  # a random message 2 never authenticates


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(0, 7))
def test_noise_responder_on_bit_flipped_message_3(pos: int, bit: int) -> None:
    """A genuine message 3 with one bit flipped anywhere: refused (AEAD), never accepted."""
    ini, res = NoiseHandshake(ME, initiator=True), NoiseHandshake(Identity.generate(), initiator=False)
    msg3 = bytearray(ini.receive_data(res.receive_data(ini.initial_bytes())))
    i = 2 + pos % (len(msg3) - 2)
    msg3[i] ^= 1 << bit
    with pytest.raises(RemoteProtocolError):
        res.receive_data(bytes(msg3))


def test_payload_encoder_round_trips_what_it_writes() -> None:
    raw = encode_payload(decode_payload(b"\x0a\x01k\x12\x01s"))
    assert decode_payload(raw).identity_key == b"k"


@pytest.mark.parametrize("reply", [
    b"",  # closes at once
    HEADER,  # then closes
    HEADER + encode_message("/noise") + b"\x00",  # half a length
    HEADER + encode_message("/noise") + b"\xff\xff" + b"z" * 100,  # a 64 KiB message, cut short
    HEADER + encode_message("/noise") + b"\x00\x60" + bytes(0x60),  # a well-framed junk message 2
    b"HTTP/1.1 400 Bad Request\r\n\r\n",  # not libp2p at all
])
async def test_hostile_listener_over_tcp(reply: bytes) -> None:
    """A real socket: the listener answers `reply` to anything, then hangs up."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]

    async def hostile() -> None:
        sock = await listeners[0].accept()
        await sock.receive_some(65536)
        if reply:
            await sock.send_all(reply)
        await sock.aclose()

    with trio.fail_after(10):
        async with trio.open_nursery() as n:
            n.start_soon(hostile)
            sock = await trio.open_tcp_stream("127.0.0.1", port)
            with pytest.raises((NetworkError, RemoteProtocolError)):
                _, rest = await select(sock, "/noise")
                await secure_outbound(sock, ME, None, received=rest)
            await sock.aclose()
    await listeners[0].aclose()
