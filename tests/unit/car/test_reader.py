import sys

import pytest

from jiaozi_node.car.reader import CARV2_PRAGMA, CarDecoder, CarHeader, iter_car, read_car
from jiaozi_node.car.writer import encode_header, encode_section, write_car
from jiaozi_node.config import CarLimits
from jiaozi_node.errors import CodecError, HashMismatch, LimitExceeded
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, RAW
from jiaozi_node.ipld.varint import encode as varint

BLOCKS = [Block.create(f"block {i}".encode() * (i + 1), codec=RAW) for i in range(20)]
CAR = b"".join(write_car([BLOCKS[0].cid], BLOCKS))


def test_byte_at_a_time_streaming_matches_whole():
    dec = CarDecoder()
    events = []
    for i in range(len(CAR)):
        events += dec.feed(CAR[i:i + 1])
    dec.close()
    assert events[0] == CarHeader(1, (BLOCKS[0].cid,))
    assert events[1:] == BLOCKS
    assert dec.sections == 20


def test_truncated_anywhere_raises():
    for cut in [1, 5, len(encode_header([BLOCKS[0].cid])) + 3, len(CAR) - 1]:
        with pytest.raises(CodecError, match="truncated"):
            list(iter_car([CAR[:cut]]))
    with pytest.raises(CodecError, match="truncated"):
        list(iter_car([b""]))


def test_lying_block_names_the_cid():
    bad = BLOCKS[3].cid
    data = encode_header([bad]) + encode_section(BLOCKS[0].cid, BLOCKS[0].data) + encode_section(bad, b"not it")
    with pytest.raises(HashMismatch, match=f"section 2: block {bad}"):
        list(iter_car([data]))
    # verification can be turned off (e.g. for inspecting a broken file)
    header, blocks = read_car(data, verify=False)
    assert blocks[1].data == b"not it"


def test_varint_bomb_and_oversized_lengths_refused_before_buffering():
    dec = CarDecoder()
    with pytest.raises(CodecError, match="varint too long"):
        dec.feed(b"\xff" * 10)
    with pytest.raises(LimitExceeded, match="header"):
        CarDecoder().feed(varint(2 ** 40))
    head = encode_header([BLOCKS[0].cid])
    with pytest.raises(LimitExceeded, match="section 1"):
        CarDecoder().feed(head + varint(3 * 1024 * 1024))
    with pytest.raises(LimitExceeded, match="section"):
        CarDecoder(limits=CarLimits(max_section_bytes=50)).feed(CAR)
    with pytest.raises(CodecError, match="length zero"):
        CarDecoder().feed(head + b"\x00")


def test_header_checks():
    def car_with(header_obj):
        body = dagcbor.encode(header_obj)
        return varint(len(body)) + body

    with pytest.raises(CodecError, match="version"):
        list(iter_car([car_with({"roots": [], "version": 3})]))
    with pytest.raises(CodecError, match="roots"):
        list(iter_car([car_with({"roots": "x", "version": 1})]))
    with pytest.raises(CodecError, match="CIDs"):
        list(iter_car([car_with({"roots": [1], "version": 1})]))
    with pytest.raises(CodecError, match="map"):
        list(iter_car([car_with([1])]))
    with pytest.raises(CodecError, match="dag-cbor"):
        list(iter_car([varint(3) + b"\xff\xff\xff"]))
    with pytest.raises(LimitExceeded, match="roots"):
        CarDecoder(limits=CarLimits(max_roots=2)).feed(encode_header([BLOCKS[0].cid] * 3))
    header, blocks = read_car(encode_header([]))  # no roots, no blocks: valid and empty
    assert header.roots == () and blocks == []


def test_bad_cid_in_section():
    head = encode_header([BLOCKS[0].cid])
    with pytest.raises(CodecError, match="section 1.*bad CID"):
        list(iter_car([head + varint(4) + b"\x02\x55\x12\x00"]))


def carv2(v1: bytes, *, pad: int = 7, index: bytes = b"\x01\x02index") -> bytes:
    data_offset = len(CARV2_PRAGMA) + 40 + pad
    hdr = bytes(16) + data_offset.to_bytes(8, "little") + len(v1).to_bytes(8, "little")
    hdr += (data_offset + len(v1)).to_bytes(8, "little")
    return CARV2_PRAGMA + hdr + b"\0" * pad + v1 + index


def test_carv2_reads_payload_and_ignores_index():
    data = carv2(CAR)
    header, blocks = read_car(data)
    assert header.version == 2 and header.roots == (BLOCKS[0].cid,) and blocks == BLOCKS
    assert header.data_size == len(CAR)
    dec = CarDecoder()
    events = []
    for i in range(0, len(data), 3):
        events += dec.feed(data[i:i + 3])
    dec.close()
    assert events[1:] == BLOCKS
    with pytest.raises(CodecError, match="truncated"):
        read_car(carv2(CAR)[: len(CARV2_PRAGMA) + 40 + 7 + len(CAR) - 5])


def test_carv2_bad_offsets():
    bad = CARV2_PRAGMA + bytes(16) + (10).to_bytes(8, "little") + bytes(16)
    with pytest.raises(CodecError, match="inside its header"):
        read_car(bad)
    # declared payload size cuts a section in half
    v1 = CAR
    data_offset = len(CARV2_PRAGMA) + 40
    hdr = bytes(16) + data_offset.to_bytes(8, "little") + (len(v1) - 3).to_bytes(8, "little") + bytes(8)
    with pytest.raises(CodecError, match="past the end"):
        read_car(CARV2_PRAGMA + hdr + v1)


def test_identity_and_sha512_blocks_verify():
    ident = CID(1, RAW, b"\x00\x03abc")
    sha512 = Block.create(b"x", codec=RAW, hash_code=0x13)
    data = b"".join(write_car([ident], [Block(ident, b"abc"), sha512]))
    assert read_car(data)[1] == [Block(ident, b"abc"), sha512]
    with pytest.raises(HashMismatch):
        read_car(b"".join(write_car([ident], [Block(ident, b"abd")])))


def test_feed_after_close_rejected():
    dec = CarDecoder()
    dec.feed(CAR)
    dec.close()
    with pytest.raises(Exception, match="after close"):
        dec.feed(b"")
    assert CID.decode(str(BLOCKS[0].cid)) == dec.header.roots[0]


def test_overlong_cid_refused():
    head = encode_header([BLOCKS[0].cid])
    digest = b"\x01" * 200  # identity multihash with a 200-byte digest: a CID over 168 bytes
    cid_bytes = b"\x01\x55\x00" + varint(len(digest)) + digest
    with pytest.raises(CodecError, match="section 1.*bad CID"):
        list(iter_car([head + varint(len(cid_bytes)) + cid_bytes]))
    # a CIDv0-looking prefix in a section too short to hold it
    with pytest.raises(CodecError, match="bad CID"):
        list(iter_car([head + varint(5) + b"\x12\x20abc" + bytes(40)]))


def test_read_side_cores_stay_pure():
    """CAR, traversal and the UnixFS exporter import no trio, libp2p or HTTP stack."""
    import subprocess

    code = ("import sys\n"
            "import jiaozi_node.car.reader, jiaozi_node.car.writer, jiaozi_node.car.traverse\n"
            "import jiaozi_node.unixfs.exporter, jiaozi_node.unixfs.resolve, jiaozi_node.unixfs.walk\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('trio', 'libp2p', 'httpx', 'h11')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mutated_cars_only_raise_our_errors():
    """Random byte flips, cuts and chunkings: the decoder either succeeds or raises a JzfsError
    (never IndexError, KeyError, UnicodeError...), and never returns an unverified block."""
    import random

    from jiaozi_node.errors import JzfsError

    rng = random.Random(1234)
    v2 = carv2(CAR)
    for i in range(1500):
        data = bytearray(v2 if i % 3 == 0 else CAR)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        dec = CarDecoder()
        try:
            pos = 0
            while pos < len(data):
                n = rng.randrange(1, 300)
                for ev in dec.feed(bytes(data[pos:pos + n])):
                    if isinstance(ev, Block):
                        ev.verify()
                pos += n
            dec.close()
        except JzfsError:
            pass
