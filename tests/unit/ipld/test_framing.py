import pytest

from jiaozi_node.errors import LimitExceeded, RemoteProtocolError
from jiaozi_node.ipld.framing import FrameDecoder, encode_frame, split_frame

MAX = 4 * 1024 * 1024


def test_frames_split_anywhere():
    frames = [b"", b"a", b"x" * 300, b"y" * 70000]
    wire = b"".join(encode_frame(f) for f in frames)
    for step in (1, 2, 7, 1000, len(wire)):
        dec = FrameDecoder(max_message_bytes=MAX, what="t")
        out = []
        for i in range(0, len(wire), step):
            out += dec.feed(wire[i:i + step])
        assert out == frames and dec.at_boundary()


def test_partial_frame_is_not_at_boundary():
    dec = FrameDecoder(max_message_bytes=MAX, what="t")
    assert dec.feed(encode_frame(b"abc")[:2]) == []
    assert not dec.at_boundary() and dec.buffered == 1


def test_huge_length_prefix_refused_before_buffering():
    dec = FrameDecoder(max_message_bytes=4 * 1024 * 1024, what="t")
    with pytest.raises(LimitExceeded):
        dec.feed(b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f")  # 2**63 - 1
    dec = FrameDecoder(max_message_bytes=4 * 1024 * 1024, what="t")
    with pytest.raises(LimitExceeded):
        dec.feed(b"\xff\xff\xff\x7f")  # no terminating byte needed to know it is too big
    with pytest.raises(LimitExceeded):
        FrameDecoder(max_message_bytes=MAX, what="t").feed(encode_frame(b"x" * (4 * 1024 * 1024 + 1))[:4])


def test_overlong_prefix_refused():
    with pytest.raises((RemoteProtocolError, LimitExceeded)):
        FrameDecoder(max_message_bytes=2**70, what="t").feed(b"\x80" * 12)


def test_exact_limit_accepted():
    dec = FrameDecoder(max_message_bytes=10, what="t")
    assert dec.feed(encode_frame(b"0123456789")) == [b"0123456789"]
    with pytest.raises(LimitExceeded):
        dec.feed(encode_frame(b"01234567890"))


def test_random_splits_match():
    import random

    rng = random.Random(7)
    frames = [rng.randbytes(rng.choice([0, 1, 5, 127, 128, 300, 70000, 300000])) for _ in range(60)]
    wire = b"".join(encode_frame(f) for f in frames)
    for _ in range(20):
        dec = FrameDecoder(max_message_bytes=MAX, what="t")
        out, pos = [], 0
        while pos < len(wire):
            n = rng.choice([1, 2, 3, 9, 100, 4096, 65536, 1 << 20])
            out += dec.feed(wire[pos:pos + n])
            pos += n
        assert out == frames and dec.at_boundary() and dec.buffered == 0


def test_kept_views_give_the_same_frames_as_bytes():
    """feed(view, keep=True): the decoder holds the views it is given (no copy on feed); the
    frames it cuts are bytes all the same, wherever the views split the stream."""
    import random

    rng = random.Random(11)
    frames = [rng.randbytes(rng.choice([0, 1, 5, 128, 70000, 300000])) for _ in range(40)]
    wire = memoryview(b"".join(encode_frame(f) for f in frames))
    for _ in range(10):
        dec = FrameDecoder(max_message_bytes=MAX, what="t")
        out, pos = [], 0
        while pos < len(wire):
            n = rng.choice([1, 2, 3, 100, 65519, 1 << 18])
            out += dec.feed(wire[pos:pos + n], keep=True)
            pos += n
        assert out == frames and all(type(f) is bytes for f in out) and dec.at_boundary()


def test_split_frame_takes_one_frame_and_checks_the_limit():
    wire = encode_frame(b"abc") + encode_frame(b"de")
    assert split_frame(wire, max_bytes=10, what="t") == (b"abc", 4)
    assert split_frame(wire[:3], max_bytes=10, what="t") == (None, 0)
    assert split_frame(b"\x80", max_bytes=1000, what="t") == (None, 0)
    with pytest.raises(LimitExceeded):  # a 2-byte prefix is >= 128: over 10 before it ends
        split_frame(b"\x80", max_bytes=10, what="t")
    with pytest.raises(LimitExceeded, match="t: message of 11 bytes"):
        split_frame(encode_frame(b"x" * 11), max_bytes=10, what="t")
    with pytest.raises(RemoteProtocolError, match="t: bad length prefix"):
        split_frame(b"\x80" * 9, max_bytes=2**70, what="t")
    with pytest.raises(RemoteProtocolError, match="non-minimal"):
        split_frame(b"\x81\x00", max_bytes=10, what="t")


def test_every_protocol_frames_through_this_module():
    """bitswap, kad-dht, refs sync, multistream-select and identify share encode_frame/split."""
    from jiaozi_node.ipld import dagcbor
    from jiaozi_node.net import wire
    from jiaozi_node.routing.dht import message as dht
    from jiaozi_node.versioning import sync_core

    assert wire.mss_message(b"/x\n") == encode_frame(b"/x\n")
    assert dht.frame(b"abc") == encode_frame(b"abc")
    assert sync_core.frame({"a": 1}) == encode_frame(dagcbor.encode({"a": 1}))
    assert isinstance(dht.FrameReader(), FrameDecoder)
    assert isinstance(sync_core.FrameReader()._decoder, FrameDecoder)
