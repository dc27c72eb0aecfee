"""Our Kademlia DHT with real Helia 7 (@libp2p/kad-dht 16.4.5, /ipfs/kad/1.0.0), loopback only.

1. Helia A adds and provides a file; Helia C is a DHT server; jzfs B knows only C. B's DHT finds A
   through C, B dials A and fetches the file by Bitswap: bytes equal.
2. jzfs B adds and provides; Helia D knows only C. D finds B through C (its own DHT lookup) and
   fetches the file from jzfs.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import aclosing

import pytest
import trio

from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import UNIXFS_V1_2025
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.routing.dht.service import DhtRouter
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.importer import import_bytes

pytestmark = pytest.mark.trio
MiB = 1024 * 1024
KAD = {"protocol": "/ipfs/kad/1.0.0", "clientMode": False}


class Jzfs:
    def __init__(self) -> None:
        self.host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
        self.store = MemoryBlockstore()
        self.bs = BitswapService(self.host, self.store)
        self.dht = DhtRouter(self.host, mode="server", protocol=KAD["protocol"])
        self.retrieval = Retrieval(self.store, [self.bs], on_stored=self.bs.notify_new_blocks,
                                   timeout_s=30)

    async def start(self, nursery: trio.Nursery) -> Jzfs:
        await nursery.start(self.host.run)
        await nursery.start(self.bs.run)
        await nursery.start(self.dht.run)
        return self


async def _wait_table(helia, n=1):
    """Until Helia's kad-dht has `n` peers in its table (it adds them after identify)."""
    for _ in range(200):
        if (await helia.aio.dht_info())["routing_table_size"] >= n:
            return
        await trio.sleep(0.05)
    raise AssertionError("Helia's routing table stayed empty")


async def test_jzfs_finds_helia_provider_through_helia_server(helia_factory, nursery, tmp_path):
    c = helia_factory(dht=KAD)
    a = helia_factory(dht=KAD)
    data = os.urandom(3 * MiB + 17)
    p = tmp_path / "a.bin"
    p.write_bytes(data)
    cid = await a.aio.add_file(p)
    await a.aio.dial(c.multiaddr)
    await _wait_table(a)
    await a.aio.provide(cid, timeout=20)

    b = await Jzfs().start(nursery)
    with trio.fail_after(30):
        # B is told only of C; it learns of A (a DHT server too) from C's answers
        assert await b.dht.bootstrap([c.multiaddr]) >= 1
        t0 = trio.current_time()
        async with aclosing(b.dht.find_providers(CID.decode(cid), limit=1)) as found:
            provs = [r async for r in found]
        took = trio.current_time() - t0
        assert [r.peer_id for r in provs] == [a.peer_id]
        assert any(addr.startswith("/ip4/127.0.0.1/tcp/") for addr in provs[0].addrs)
        await b.host.connect(f"{provs[0].addrs[0]}/p2p/{a.peer_id}")
        await b.retrieval.fetch_dag(CID.decode(cid))
    got = b"".join(read_file(b.store, CID.decode(cid)))
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    print(f"jzfs found the Helia provider through Helia in {took * 1000:.0f} ms "
          f"({b.dht.lookups[-1].queries} queries, {b.dht.lookups[-1].hops} hops)")


async def test_helia_finds_jzfs_provider_through_helia_server(helia_factory, nursery, tmp_path):
    c = helia_factory(dht=KAD)
    b = await Jzfs().start(nursery)
    data = os.urandom(2 * MiB + 5)
    root, blocks, _ = import_bytes(data, UNIXFS_V1_2025)
    b.store.put_many(blocks)
    with trio.fail_after(30):
        assert await b.dht.bootstrap([c.multiaddr]) >= 1
        await b.dht.provide([root])  # ADD_PROVIDER to C (our nearest DHT server)
    assert b.dht.counters["provider_records_sent"] >= 1

    d = helia_factory(dht=KAD)
    await d.aio.dial(c.multiaddr)
    await _wait_table(d)
    provs = await d.aio.find_providers(str(root), limit=1, timeout=20)
    assert provs[0]["peer_id"] == b.host.peer_id
    assert any(a.startswith("/ip4/127.0.0.1/tcp/") for a in provs[0]["multiaddrs"])
    dest = tmp_path / "out.bin"
    with trio.fail_after(60):
        await d.aio.cat(str(root), dest, timeout=45)  # Helia dials jzfs and fetches by Bitswap
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert b.dht.counters["bad_messages"] == 0
