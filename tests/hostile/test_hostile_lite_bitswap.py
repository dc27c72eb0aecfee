"""A hostile Bitswap peer answering the lean client (`LiteHost` + BitswapService, as the no-daemon
one-shot commands `get/cat --peer`, `clone`, `pull` run them): every want is answered at once with
a wrong block under the wanted CID's prefix, plus blocks nobody asked for. None of it is stored;
alone, the attacker makes the fetch fail with one clear error (BitswapLimits.fetch_timeout_s);
next to an honest peer, the fetch completes byte-exact from that peer."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from typing import Any

import pytest
import trio

from jiaozi_node.bitswap import message as bsmsg
from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import NET_LIMITS, UNIXFS_V1_2025
from jiaozi_node.errors import JzfsError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.framing import encode_frame
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.net.lite.host import LiteHost
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.importer import import_bytes

LOOP = "/ip4/127.0.0.1/tcp/0"
DATA = os.urandom(600 * 1024 + 5)  # 3 blocks + the root
ROOT, BLOCKS, _ = import_bytes(DATA, UNIXFS_V1_2025)
FAST = replace(NET_LIMITS, connect_timeout_s=2.0, negotiate_timeout_s=2.0)


class Victim:
    def __init__(self, timeout_s: float) -> None:
        self.host = LiteHost(Identity.generate(), limits=FAST)
        self.store = MemoryBlockstore()
        self.bs = BitswapService(self.host, self.store)
        self.retrieval = Retrieval(self.store, [self.bs], on_stored=self.bs.notify_new_blocks,
                                   timeout_s=timeout_s)

    async def start(self, nursery: trio.Nursery) -> Victim:
        await nursery.start(self.host.run)
        await nursery.start(self.bs.run)
        return self


async def _attacker(nursery: trio.Nursery) -> Libp2pHost:
    """Answers any Bitswap message with a wrong block for every block of the DAG (its CID's
    prefix, other bytes), a block nobody wanted, and HAVE for everything."""
    host = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(host.run)
    lies = bsmsg.Message(
        blocks=[(bytes(b.cid), b"lie:" + bytes(b.cid)) for b in BLOCKS] + [(bytes(BLOCKS[0].cid), b"stray")],
        presences=[(bytes(b.cid), bsmsg.HAVE) for b in BLOCKS])
    wire = encode_frame(bsmsg.encode(lies))

    async def answer(stream: Any) -> None:
        try:
            while await stream.read():
                out = await host.new_stream(stream.remote_peer, [bsmsg.PROTOCOL_120])
                await out.write(wire)
                await out.close()
        except Exception:  # noqa: BLE001 - the victim may reset or drop us: that is its right
            pass

    host.set_stream_handler([bsmsg.PROTOCOL_120, bsmsg.PROTOCOL_110, bsmsg.PROTOCOL_100], answer)
    return host


async def _honest(nursery: trio.Nursery) -> Libp2pHost:
    host = Libp2pHost(Identity.generate(), listen=[LOOP])
    store = MemoryBlockstore()
    store.put_many(BLOCKS)
    bs = BitswapService(host, store)
    await nursery.start(host.run)
    await nursery.start(bs.run)
    return host


def _only_the_dag(store: MemoryBlockstore) -> None:
    """Every stored block is one of the DAG's, with its own bytes (nothing the attacker sent)."""
    good = {b.cid: b.data for b in BLOCKS}
    for cid in store.cids():
        assert store.get(cid) == good.get(cid), cid


async def test_wrong_blocks_alone_fail_the_fetch_clearly_and_store_nothing(nursery) -> None:
    victim = await Victim(timeout_s=1.5).start(nursery)
    attacker = await _attacker(nursery)
    await victim.host.connect(attacker.addrs()[0])
    with trio.fail_after(10), pytest.raises(JzfsError):
        await victim.retrieval.fetch_dag(ROOT)
    for b in BLOCKS:
        assert not victim.store.has(b.cid)
    _only_the_dag(victim.store)


async def test_wrong_blocks_next_to_an_honest_peer_the_fetch_completes(nursery) -> None:
    # the attacker says HAVE for everything: the wants go to it first; the session asks the others
    # at BitswapLimits.rebroadcast_interval_s, well within the fetch timeout
    victim = await Victim(timeout_s=8).start(nursery)
    attacker, honest = await _attacker(nursery), await _honest(nursery)
    await victim.host.connect(attacker.addrs()[0])
    await victim.host.connect(honest.addrs()[0])
    with trio.fail_after(10):
        await victim.retrieval.fetch_dag(ROOT)
    got = b"".join(read_file(victim.store, ROOT))
    assert hashlib.sha256(got).digest() == hashlib.sha256(DATA).digest()
    _only_the_dag(victim.store)
