from jiaozi_node.car.reader import read_car
from jiaozi_node.car.writer import encode_header, encode_section, write_car
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, DAG_CBOR, RAW
from jiaozi_node.ipld.varint import decode as varint_decode


def test_header_layout_is_canonical_dag_cbor():
    root = CID.of(b"x")
    raw = encode_header([root])
    length, pos = varint_decode(raw)
    assert length == len(raw) - pos
    body = raw[pos:]
    assert dagcbor.decode(body) == {"roots": [root], "version": 1}
    assert body[:1] == b"\xa2" and body[1:7] == b"\x65roots"  # map(2), "roots" before "version"


def test_section_layout():
    b = Block.create(b"hello", codec=RAW)
    sec = encode_section(b.cid, b.data)
    length, pos = varint_decode(sec)
    assert sec[pos:] == b.cid.buffer + b"hello" and length == len(sec) - pos


def test_round_trip_many_blocks_with_v0_and_cbor():
    blocks = [Block.create(bytes([i]) * i, codec=RAW) for i in range(1, 200)]
    blocks.append(Block.create(dagcbor.encode({"a": blocks[0].cid}), codec=DAG_CBOR))
    blocks.append(Block(CID(0, 0x70, CID.of(b"\x0a\x00", codec=0x70).multihash), b"\x0a\x00"))
    data = b"".join(write_car([blocks[-2].cid], blocks))
    header, got = read_car(data)
    assert header.roots == (blocks[-2].cid,) and header.version == 1
    assert got == blocks
