"""Bitswap services on real libp2p hosts over 127.0.0.1: jzfs -> jzfs fetches, peers leaving
mid-fetch, timeouts, and hostile input through a real socket."""

from __future__ import annotations

import hashlib
import os

import pytest
import trio

from jiaozi_node.bitswap import message as bsmsg
from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.errors import NetworkError, Timeout
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.ipld.framing import encode_frame
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.importer import import_bytes

LOOP = "/ip4/127.0.0.1/tcp/0"


class Peer:
    def __init__(self) -> None:
        self.host = Libp2pHost(Identity.generate(), listen=[LOOP])
        self.store = MemoryBlockstore()
        self.bs = BitswapService(self.host, self.store)
        self.retrieval = Retrieval(self.store, [self.bs], on_stored=self.bs.notify_new_blocks,
                                   timeout_s=10)

    async def start(self, nursery: trio.Nursery) -> Peer:
        await nursery.start(self.host.run)
        await nursery.start(self.bs.run)
        return self


def _add(store: MemoryBlockstore, data: bytes, profile=UNIXFS_V0_2015):
    root, blocks, _ = import_bytes(data, profile)
    store.put_many(blocks)
    return root


async def test_fetch_file_dag_between_two_jzfs_nodes(nursery):
    a, b = await Peer().start(nursery), await Peer().start(nursery)
    data = os.urandom(3 * 1024 * 1024 + 12345)
    root = _add(b.store, data)
    await a.host.connect(b.host.addrs()[0])
    n = await a.retrieval.fetch_dag(root)
    assert n == len(b.store)
    got = b"".join(read_file(a.store, root))
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert a.bs.stats["bad_messages"] == 0 and b.bs.stats["bad_messages"] == 0


async def test_cidv1_raw_leaves_and_served_onward(nursery):
    """A fetches from B; C then fetches from A what A just got (A's engine serves stored blocks)."""
    a, b, c = [await Peer().start(nursery) for _ in range(3)]
    data = os.urandom(2 * 1024 * 1024 + 7)
    root = _add(b.store, data, UNIXFS_V1_2025)
    await a.host.connect(b.host.addrs()[0])
    await a.retrieval.fetch_dag(root)
    await c.host.connect(a.host.addrs()[0])
    await c.retrieval.fetch_dag(root)
    assert b"".join(read_file(c.store, root)) == data


async def test_wants_queued_until_block_arrives(nursery):
    a, b = await Peer().start(nursery), await Peer().start(nursery)
    blk = Block.create(os.urandom(5000), codec=RAW)
    await a.host.connect(b.host.addrs()[0])
    async with trio.open_nursery() as inner:
        got: list[bytes] = []

        async def fetch() -> None:
            got.append(await a.retrieval.get(blk.cid))

        inner.start_soon(fetch)
        await trio.sleep(0.3)
        b.store.put(blk.cid, blk.data)
        b.bs.notify_new_blocks([blk.cid])
    assert got == [blk.data] and a.store.has(blk.cid)


async def test_peer_leaving_mid_fetch_second_peer_completes(nursery):
    a, b, c = [await Peer().start(nursery) for _ in range(3)]
    data = os.urandom(8 * 1024 * 1024)
    root = _add(b.store, data)
    c.store.put_many([Block(cid, b.store.get(cid)) for cid in b.store.cids()])
    await a.host.connect(b.host.addrs()[0])
    await a.host.connect(c.host.addrs()[0])
    blocks_seen = []

    def on_block(cid, size):
        blocks_seen.append(cid)
        if len(blocks_seen) == 5:
            nursery.start_soon(b.host.disconnect, a.host.peer_id)

    await a.retrieval.fetch_dag(root, on_block=on_block)
    assert b"".join(read_file(a.store, root)) == data


async def test_nobody_has_it_times_out(nursery):
    a, b = await Peer().start(nursery), await Peer().start(nursery)
    await a.host.connect(b.host.addrs()[0])
    missing = Block.create(b"nobody has this", codec=RAW)
    with pytest.raises(Timeout, match="within 0.5s"):
        await a.retrieval.get(missing.cid, timeout_s=0.5)
    assert not a.store.has(missing.cid)


async def test_hostile_peer_over_real_socket(nursery):
    """A raw stream sends garbage, an oversized frame and unrequested blocks: refused, logged,
    penalised, disconnected; the victim keeps serving an honest peer; nothing stored."""
    victim, honest = await Peer().start(nursery), await Peer().start(nursery)
    attacker = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(attacker.run)
    blk = Block.create(os.urandom(1000), codec=RAW)
    victim.store.put(blk.cid, blk.data)
    await attacker.connect(victim.host.addrs()[0])
    s = await attacker.new_stream(victim.host.peer_id, [bsmsg.PROTOCOL_120])
    stray = Block.create(b"unrequested", codec=RAW)
    for _ in range(5):  # 5 x 10 points
        await s.write(encode_frame(bsmsg.encode(bsmsg.Message(blocks=[(stray.cid.buffer, stray.data)]))))
    await trio.sleep(0.2)
    gone = trio.Event()
    victim.host.on_disconnected(lambda p: gone.set() if p == attacker.peer_id else None)
    await s.write(b"\xff\xff\xff\xff\x0f")  # frame announcing ~4 GiB: 50 points -> 100
    with trio.fail_after(10):
        await gone.wait()
    assert victim.bs.stats["bad_messages"] >= 1
    assert not victim.store.has(stray.cid)
    await honest.host.connect(victim.host.addrs()[0])
    assert await honest.retrieval.get(blk.cid) == blk.data


async def test_many_streams_from_one_peer_are_bounded(nursery):
    victim, honest = await Peer().start(nursery), await Peer().start(nursery)
    blk = Block.create(os.urandom(1000), codec=RAW)
    victim.store.put(blk.cid, blk.data)
    attacker = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(attacker.run)
    await attacker.connect(victim.host.addrs()[0])
    limit = victim.bs.limits.max_inbound_streams_per_peer
    opened, failed = [], 0
    for _ in range(2000):  # thousands of streams from one peer: at most `limit` are served
        try:
            opened.append(await attacker.new_stream(victim.host.peer_id, [bsmsg.PROTOCOL_120]))
        except NetworkError:
            failed += 1
    with trio.fail_after(10):
        while victim.bs.stats["refused_streams"] < 100:  # noqa: ASYNC110 - a counter, no event
            await trio.sleep(0.05)
    assert victim.bs.stats["streams_in"] <= limit
    await honest.host.connect(victim.host.addrs()[0])
    assert await honest.retrieval.get(blk.cid) == blk.data


async def test_stream_file_from_peers_in_order_with_range(nursery):
    from jiaozi_node.node.retrieval import stream_file_from_peers

    b = await Peer().start(nursery)
    data = os.urandom(6 * 1024 * 1024 + 3)
    root = _add(b.store, data)
    store = MemoryBlockstore()
    chunks: list[bytes] = []
    cid = await stream_file_from_peers(store, f"/ipfs/{root}", b.host.addrs(), chunks.append)
    assert cid == root and b"".join(chunks) == data
    assert all(store.has(c) for c in b.store.cids())  # prefetched, verified, stored
    part: list[bytes] = []
    await stream_file_from_peers(MemoryBlockstore(), str(root), b.host.addrs(), part.append,
                                 offset=1_000_000, length=300_000)
    assert b"".join(part) == data[1_000_000:1_300_000]


async def test_peer_without_bitswap_is_dropped_and_wants_move(nursery):
    """A connected peer that does not speak bitswap: our wants go to the peer that has the block
    at once (no stall), and the non-bitswap peer leaves the bitswap peer set."""
    a, b = await Peer().start(nursery), await Peer().start(nursery)
    plain = Libp2pHost(Identity.generate(), listen=[LOOP])  # no bitswap handler
    await nursery.start(plain.run)
    blk = Block.create(os.urandom(2000), codec=RAW)
    b.store.put(blk.cid, blk.data)
    a.bs.add_peer(await a.host.connect(plain.addrs()[0]))
    a.bs.add_peer(await a.host.connect(b.host.addrs()[0]))
    with trio.fail_after(5):
        assert await a.retrieval.get(blk.cid) == blk.data
    with trio.fail_after(5):
        while plain.peer_id in a.bs.peers():  # noqa: ASYNC110 - state, no event
            await trio.sleep(0.02)
    assert a.host.is_connected(plain.peer_id)  # the connection itself is not ours to close
