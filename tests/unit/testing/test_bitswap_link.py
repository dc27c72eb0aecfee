"""The fake link itself: every protocol version end to end, tampering, idleness."""

import os

import pytest

from jiaozi_node.bitswap import message as m
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import DAG_PB, RAW
from jiaozi_node.testing.bitswap_link import BitswapLink, CoreNode


@pytest.mark.parametrize("protocol,codec,version", [
    (m.PROTOCOL_120, RAW, 1), (m.PROTOCOL_110, RAW, 1),
    (m.PROTOCOL_100, DAG_PB, 0), (m.PROTOCOL_LEGACY, DAG_PB, 0),
])
def test_fetch_over_each_protocol(protocol, codec, version):
    a, b = CoreNode("A"), CoreNode("B")
    blocks = [Block.create(b"\x0a\x05" + os.urandom(5), codec=codec, version=version) for _ in range(20)]
    b.store.put_many(blocks)
    link = BitswapLink([a, b], protocol=protocol)
    link.connect("A", "B")
    a.client.want([x.cid.buffer for x in blocks], link.now)
    link.run_until_idle()
    assert set(a.received) == {x.cid for x in blocks}
    assert a.client.stats["unwanted"] == 0 and a.errors == []


def test_tampered_bytes_are_refused_and_penalised():
    a, b = CoreNode("A"), CoreNode("B")
    blk = Block.create(os.urandom(3000), codec=RAW)
    b.store.put(blk.cid, blk.data)
    link = BitswapLink([a, b])
    link.tamper = lambda src, dst, wire: wire[:-1] + bytes([wire[-1] ^ 1]) if src == "B" else wire
    link.connect("A", "B")
    a.client.want([blk.cid.buffer], link.now)
    link.run_until_idle()
    assert a.received == [] and not a.store.has(blk.cid)
    assert a.client.penalty("B") > 0


def test_garbage_frame_recorded_as_error():
    a, b = CoreNode("A"), CoreNode("B")
    link = BitswapLink([a, b])
    link.connect("A", "B")
    link.send_raw("B", "A", b"\x03\xff\xff\xff")
    assert a.errors and a.client.penalty("B") >= a.limits.penalty_bad_message
