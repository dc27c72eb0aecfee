"""A hostile Bitswap peer over real libp2p connections on 127.0.0.1, while an honest peer fetches a
multi-block file from the same victim: 1 GiB length prefixes, 100 000 wants, streams opened and
left idle. The honest fetch completes byte-exact, the victim's per-peer state stays within the
config.BitswapLimits bounds, and nothing the attacker sent is stored."""

from __future__ import annotations

import hashlib
import os

import trio

from jiaozi_node.bitswap import message as bsmsg
from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import UNIXFS_V1_2025
from jiaozi_node.errors import NetworkError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld import varint
from jiaozi_node.ipld.cid import CID
from jiaozi_node.ipld.framing import encode_frame
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.importer import import_bytes

LOOP = "/ip4/127.0.0.1/tcp/0"
DATA = os.urandom(2 * 1024 * 1024 + 777)  # ~9 blocks of 256 KiB + the root


class Peer:
    def __init__(self) -> None:
        self.host = Libp2pHost(Identity.generate(), listen=[LOOP])
        self.store = MemoryBlockstore()
        self.bs = BitswapService(self.host, self.store)
        self.retrieval = Retrieval(self.store, [self.bs], on_stored=self.bs.notify_new_blocks,
                                   timeout_s=20)

    async def start(self, nursery: trio.Nursery) -> Peer:
        await nursery.start(self.host.run)
        await nursery.start(self.bs.run)
        return self


async def attacker_host(nursery: trio.Nursery, victim: Peer) -> Libp2pHost:
    host = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(host.run)
    await host.connect(victim.host.addrs()[0])
    return host


async def honest_fetch(victim: Peer, honest: Peer, root: CID) -> None:
    await honest.host.connect(victim.host.addrs()[0])
    with trio.fail_after(60):  # a hang detector, not a speed check
        await honest.retrieval.fetch_dag(root)
    got = b"".join(read_file(honest.store, root))
    assert hashlib.sha256(got).digest() == hashlib.sha256(DATA).digest()


async def setup(nursery: trio.Nursery) -> tuple[Peer, Peer, CID]:
    victim, honest = await Peer().start(nursery), await Peer().start(nursery)
    root, blocks, _ = import_bytes(DATA, UNIXFS_V1_2025)
    victim.store.put_many(blocks)
    return victim, honest, root


async def test_huge_length_prefixes(nursery):
    """Frames announcing 1 GiB, then a slow drip: refused by the frame decoder before any buffer
    is sized from them, the stream is reset, a repeat offender is disconnected, and the honest
    fetch runs meanwhile."""
    victim, honest, root = await setup(nursery)
    attackers = [await attacker_host(nursery, victim) for _ in range(3)]
    gone: set[str] = set()
    victim.host.on_disconnected(gone.add)

    async def attack(host: Libp2pHost) -> None:
        for _ in range(2):  # each costs penalty_bad_message (50): the second crosses the threshold
            try:
                s = await host.new_stream(victim.host.peer_id, [bsmsg.PROTOCOL_120])
                await s.write(varint.encode(1 << 30))
                for _ in range(20):
                    await s.write(b"\x00" * 1000)
                    await trio.sleep(0.01)
            except Exception:  # noqa: BLE001 - the victim resetting us is the expected outcome
                pass

    async with trio.open_nursery() as n:
        for h in attackers:
            n.start_soon(attack, h)
        n.start_soon(honest_fetch, victim, honest, root)
    with trio.fail_after(10):
        while not all(h.peer_id in gone for h in attackers):  # noqa: ASYNC110 - a set, no event
            await trio.sleep(0.05)
    assert victim.bs.stats["bad_messages"] >= 6
    assert honest.host.peer_id not in gone


async def test_hundred_thousand_wants(nursery):
    """100 000 want-blocks for CIDs the victim does not have (in messages at the per-message
    limit, plus one message far over it): the victim keeps at most max_wants_per_peer of them,
    stores nothing, and the honest fetch completes."""
    victim, honest, root = await setup(nursery)
    attacker = await attacker_host(nursery, victim)
    per_msg = victim.bs.limits.max_wantlist_entries_per_message
    cids = [CID.of(i.to_bytes(4, "big")).buffer for i in range(100_000)]
    before = set(victim.store.cids())

    async def attack() -> None:
        s = await attacker.new_stream(victim.host.peer_id, [bsmsg.PROTOCOL_120])
        try:
            for i in range(0, len(cids) - 5000, per_msg):
                wants = [bsmsg.Entry(c, send_dont_have=False) for c in cids[i:i + per_msg]]
                await s.write(encode_frame(bsmsg.encode(bsmsg.Message(wants=wants))))
            big = bsmsg.Message(wants=[bsmsg.Entry(c) for c in cids[-5000:]])  # over the per-message limit
            await s.write(encode_frame(bsmsg.encode(big)))
        except Exception:  # noqa: BLE001 - being disconnected for it is fine
            pass

    async with trio.open_nursery() as n:
        n.start_soon(attack)
        n.start_soon(honest_fetch, victim, honest, root)
    await trio.sleep(0.2)
    try:
        kept = len(victim.bs.engine.wants_of(attacker.peer_id))
    except KeyError:  # the attacker was disconnected: its ledger is gone
        kept = 0
    assert kept <= victim.bs.limits.max_wants_per_peer
    assert set(victim.store.cids()) == before


async def test_idle_streams_next_to_an_honest_fetch(nursery):
    """Peers that open streams and never write (up to and past the per-peer stream bound) do
    not starve the honest fetch; streams over the bound are refused."""
    victim, honest, root = await setup(nursery)
    attackers = [await attacker_host(nursery, victim) for _ in range(3)]
    limit = victim.bs.limits.max_inbound_streams_per_peer
    held = []
    for host in attackers:
        for _ in range(limit + 50):
            try:
                held.append(await host.new_stream(victim.host.peer_id, [bsmsg.PROTOCOL_120]))
            except NetworkError:
                pass
    await honest_fetch(victim, honest, root)
    assert victim.bs.stats["refused_streams"] >= 1
    for s in held[:10]:
        try:
            await s.close()
        except Exception:  # noqa: BLE001 - some were reset by the victim
            pass
