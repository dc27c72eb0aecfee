import pytest

from jiaozi_node.bitswap.framing import FrameDecoder, encode_frame
from jiaozi_node.errors import LimitExceeded, RemoteProtocolError


def test_frames_split_anywhere():
    frames = [b"", b"a", b"x" * 300, b"y" * 70000]
    wire = b"".join(encode_frame(f) for f in frames)
    for step in (1, 2, 7, 1000, len(wire)):
        dec = FrameDecoder()
        out = []
        for i in range(0, len(wire), step):
            out += dec.feed(wire[i:i + step])
        assert out == frames and dec.at_boundary()


def test_partial_frame_is_not_at_boundary():
    dec = FrameDecoder()
    assert dec.feed(encode_frame(b"abc")[:2]) == []
    assert not dec.at_boundary() and dec.buffered == 1


def test_huge_length_prefix_refused_before_buffering():
    dec = FrameDecoder(max_message_bytes=4 * 1024 * 1024)
    with pytest.raises(LimitExceeded):
        dec.feed(b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f")  # 2**63 - 1
    dec = FrameDecoder(max_message_bytes=4 * 1024 * 1024)
    with pytest.raises(LimitExceeded):
        dec.feed(b"\xff\xff\xff\x7f")  # no terminating byte needed to know it is too big
    with pytest.raises(LimitExceeded):
        FrameDecoder().feed(encode_frame(b"x" * (4 * 1024 * 1024 + 1))[:4])


def test_overlong_prefix_refused():
    with pytest.raises((RemoteProtocolError, LimitExceeded)):
        FrameDecoder(max_message_bytes=2**70).feed(b"\x80" * 12)


def test_exact_limit_accepted():
    dec = FrameDecoder(max_message_bytes=10)
    assert dec.feed(encode_frame(b"0123456789")) == [b"0123456789"]
    with pytest.raises(LimitExceeded):
        dec.feed(encode_frame(b"01234567890"))


def test_random_splits_match():
    import random

    rng = random.Random(7)
    frames = [rng.randbytes(rng.choice([0, 1, 5, 127, 128, 300, 70000, 300000])) for _ in range(60)]
    wire = b"".join(encode_frame(f) for f in frames)
    for _ in range(20):
        dec = FrameDecoder()
        out, pos = [], 0
        while pos < len(wire):
            n = rng.choice([1, 2, 3, 9, 100, 4096, 65536, 1 << 20])
            out += dec.feed(wire[pos:pos + n])
            pos += n
        assert out == frames and dec.at_boundary() and dec.buffered == 0
