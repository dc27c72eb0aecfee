"""The kad-dht protobuf codec: round trips, binary keys, strictness and bounds."""

import os

import pytest

from jiaozi_node.config import DhtLimits
from jiaozi_node.errors import LimitExceeded, RemoteProtocolError
from jiaozi_node.routing.dht import message as m


def _ipns_key() -> bytes:
    # /ipns/ + a binary Ed25519 peer ID: not UTF-8
    return b"/ipns/" + b"\x00\x24\x08\x01\x12\x20" + b"\xff\xfe" + os.urandom(30)


def test_round_trip_every_field():
    msg = m.Message(m.PUT_VALUE, key=_ipns_key(),
                    record=m.Record(b"/pk/abc", b"\x00\xff value", "2026-01-01T00:00:00Z"),
                    closer_peers=[m.Peer(b"\x00\x02ab", [b"\x04\x7f\x00\x00\x01\x06\x0f\xa1"], m.CONNECTED)],
                    provider_peers=[m.Peer(b"\x12\x20" + bytes(32))], cluster_level_raw=3)
    out = m.decode(m.encode(msg))
    assert out == msg


def test_binary_key_survives_exactly():
    key = _ipns_key()
    with pytest.raises(UnicodeDecodeError):
        key.decode("utf-8")
    assert m.decode(m.encode(m.Message(m.GET_VALUE, key=key))).key == key


def test_known_bytes_find_node():
    # type=FIND_NODE (0x08 0x04), key (0x12 len ...): as go/js encode it
    assert m.encode(m.Message(m.FIND_NODE, key=b"ab")) == b"\x08\x04\x12\x02ab"
    assert m.decode(b"\x12\x02ab\x08\x04").key == b"ab"  # field order does not matter


def test_unknown_fields_are_skipped():
    raw = m.encode(m.Message(m.PING)) + b"\x78\x05" + b"\x82\x01\x03abc"  # fields 15 and 16
    assert m.decode(raw).type == m.PING


def test_missing_type_is_put_value():
    # proto3 omits a field at its default; PUT_VALUE is 0 (js kad-dht sends it like this)
    key = b"/pk/\x00\x01a"
    raw = m.encode(m.Message(m.PUT_VALUE, key=key, record=m.Record(key, b"v")))
    assert raw.startswith(b"\x08\x00")
    msg = m.decode(raw[2:])
    assert msg.type == m.PUT_VALUE and msg.key == key and msg.record.key == key
    assert m.decode(b"").type == m.PUT_VALUE


@pytest.mark.parametrize("raw", [
    b"\x08\x09",             # unknown type
    b"\x08\x04\x12\x05ab",   # truncated key
    b"\x08\x04\x12",         # truncated length
    b"\x0a\x01a",            # type with wrong wire type
    b"\x08\x04\x42\x02\x12\x00",  # peer without an ID
    b"\x08\x04\x0f",         # wire type 7
    b"\x08" + b"\xff" * 11,  # overlong varint
])
def test_garbage_is_refused(raw):
    with pytest.raises(RemoteProtocolError):
        m.decode(raw)


def test_bounds():
    lim = DhtLimits(max_peers_per_message=2, max_key_bytes=8, max_record_value_bytes=4,
                    max_message_bytes=100)
    peers = [m.Peer(b"\x00\x01" + bytes([i])) for i in range(3)]
    with pytest.raises(LimitExceeded):
        m.decode(m.encode(m.Message(m.FIND_NODE, key=b"k", closer_peers=peers)), limits=lim)
    with pytest.raises(LimitExceeded):
        m.decode(m.encode(m.Message(m.FIND_NODE, key=b"123456789")), limits=lim)
    with pytest.raises(LimitExceeded):
        m.decode(m.encode(m.Message(m.PUT_VALUE, key=b"k", record=m.Record(b"k", b"12345"))),
                 limits=lim)
    with pytest.raises(LimitExceeded):
        m.decode(b"\x08\x05" + b"\x7a\x62" + bytes(98), limits=lim)


def test_addresses_per_peer_are_capped_not_refused():
    lim = DhtLimits(max_addrs_per_peer=2)
    p = m.Peer(b"\x00\x01a", [b"\x04\x7f\x00\x00\x01"] * 5)
    out = m.decode(m.encode(m.Message(m.FIND_NODE, key=b"k", closer_peers=[p])), limits=lim)
    assert len(out.closer_peers[0].addrs) == 2


def test_frame_reader_splits_and_bounds():
    a = m.frame(m.encode(m.Message(m.PING)))
    b = m.add_provider_frame(b"\x12\x20" + bytes(32), m.encode_peer(m.Peer(b"\x00\x01a")))
    r = m.FrameReader()
    data = a + b + a
    frames = []
    for i in range(len(data)):  # one byte at a time
        frames += r.feed(data[i:i + 1])
    assert [m.decode(f).type for f in frames] == [m.PING, m.ADD_PROVIDER, m.PING]
    assert m.decode(frames[1]).provider_peers[0].id == b"\x00\x01a"
    assert r.buffered == 0
    with pytest.raises(LimitExceeded):
        m.FrameReader(max_message_bytes=10).feed(b"\x0b")
    with pytest.raises(LimitExceeded):  # longer than the limit's own prefix: refused unfinished
        m.FrameReader().feed(b"\xff" * 8)
    with pytest.raises(RemoteProtocolError):
        m.FrameReader(max_message_bytes=2**70).feed(b"\xff" * 9)


def test_fuzz_never_crashes():
    import random

    rng = random.Random(7)
    good = m.encode(m.Message(m.GET_PROVIDERS, key=b"\x12\x20" + bytes(32),
                              closer_peers=[m.Peer(b"\x00\x01a", [b"\x04\x7f\x00\x00\x01"])]))
    for _ in range(3000):
        b = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            m.decode(bytes(b[: rng.randint(0, len(b))]))
        except (RemoteProtocolError, LimitExceeded):
            pass
