from __future__ import annotations

import pytest
from libp2p.identity.identify.pb.identify_pb2 import Identify

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.errors import LimitExceeded, RemoteProtocolError
from jiaozi_node.ipld import varint
from jiaozi_node.net import wire


def test_mss_messages():
    two = wire.mss_message(wire.MSS_LINE) + wire.mss_message(b"/ipfs/bitswap/1.2.0\n") + b"DATA"
    line, rest = wire.split_mss_message(two)
    assert line == wire.MSS_LINE
    line, rest = wire.split_mss_message(rest)
    assert line == b"/ipfs/bitswap/1.2.0\n" and rest == b"DATA"
    for cut in range(len(two[:20])):  # any prefix of a message is "incomplete", not an error
        assert wire.split_mss_message(two[:cut])[0] in (None, wire.MSS_LINE)
    with pytest.raises(RemoteProtocolError):
        wire.split_mss_message(varint.encode(NET_LIMITS.max_mss_message_bytes + 1) + b"x")
    with pytest.raises(RemoteProtocolError):
        wire.split_mss_message(b"\xff" * 12)


def _identify_frame(**fields) -> bytes:
    body = Identify(**fields).SerializeToString()
    return varint.encode(len(body)) + body


def test_decode_identify_matches_libp2p_protobuf():
    frame = _identify_frame(public_key=b"\x08\x01\x12\x20" + b"k" * 32,
                            listen_addrs=[b"\x04\x7f\x00\x00\x01\x06\x0f\xa1"],
                            protocols=["/ipfs/id/1.0.0", "/ipfs/bitswap/1.2.0"],
                            observed_addr=b"\x04\x7f\x00\x00\x01", protocol_version="ipfs/0.1.0",
                            agent_version="kubo/0.22.0/", signedPeerRecord=b"sig")
    msg = wire.decode_identify(frame, max_bytes=65536)
    assert msg.public_key.endswith(b"k" * 32)
    assert msg.listen_addrs == [b"\x04\x7f\x00\x00\x01\x06\x0f\xa1"]
    assert msg.protocols == ["/ipfs/id/1.0.0", "/ipfs/bitswap/1.2.0"]
    assert msg.agent_version == "kubo/0.22.0/" and msg.protocol_version == "ipfs/0.1.0"


def test_decode_identify_bounds():
    frame = _identify_frame(agent_version="x" * 100)
    with pytest.raises(LimitExceeded):
        wire.decode_identify(frame, max_bytes=50)
    with pytest.raises(RemoteProtocolError):
        wire.decode_identify(frame[:-5], max_bytes=65536)  # truncated
    with pytest.raises(RemoteProtocolError):
        wire.decode_identify(b"\x05\x32\x09abc", max_bytes=65536)  # field runs past the end
    bad_utf8 = b"\x32\x02\xff\xfe"
    with pytest.raises(RemoteProtocolError):
        wire.decode_identify(varint.encode(len(bad_utf8)) + bad_utf8, max_bytes=65536)
    many = b"".join(b"\x1a\x01a" for _ in range(NET_LIMITS.max_identify_entries + 1))
    with pytest.raises(LimitExceeded):
        wire.decode_identify(varint.encode(len(many)) + many, max_bytes=1 << 20)


def test_bounds_are_passed_in():
    msg = wire.mss_message(b"/ipfs/bitswap/1.2.0\n")
    assert wire.split_mss_message(msg, max_bytes=20)[0] == b"/ipfs/bitswap/1.2.0\n"
    with pytest.raises(RemoteProtocolError):
        wire.split_mss_message(msg, max_bytes=19)
    three = b"\x1a\x01a" * 3
    frame = varint.encode(len(three)) + three
    assert wire.decode_identify(frame, max_bytes=100, max_entries=3).protocols == ["a"] * 3
    with pytest.raises(LimitExceeded, match="more than 2 fields"):
        wire.decode_identify(frame, max_bytes=100, max_entries=2)
