"""A network of jzfs DHT nodes on loopback (hosts in one process, real libp2p connections).

Every node provides one CID; every node finds every provider; lookups finish in O(log N) hops
(counted by the lookup state machine).
"""

from __future__ import annotations

import math
from contextlib import aclosing
from dataclasses import replace

import pytest
import trio

from jiaozi_node.config import DHT_LIMITS
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.routing.dht.service import DhtRouter

pytestmark = pytest.mark.trio


async def _network(nursery, n, limits, protocol="/ipfs/kad/1.0.0"):
    nodes = []
    for _ in range(n):
        host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
        await nursery.start(host.run)
        dht = DhtRouter(host, mode="server", protocol=protocol, limits=limits)
        await nursery.start(dht.run)
        nodes.append(dht)
    # each node knows only the previous one (a chain), then bootstraps from it
    for i, d in enumerate(nodes[1:], 1):
        await d.bootstrap([nodes[i - 1].host.addrs()[0]])
    for d in nodes:  # a second round once everyone is in, as the periodic refresh would
        await d.refresh(force=True)
    return nodes


async def _all_find_all(nodes):
    cids = [CID.of(f"block of node {i}".encode()) for i in range(len(nodes))]
    for d, c in zip(nodes, cids, strict=True):
        await d.provide([c])
    hops = []
    for i, d in enumerate(nodes):
        for j, c in enumerate(cids):
            if i == j:
                continue
            before = len(d.lookups)
            async with aclosing(d.find_providers(c, limit=1)) as found:
                got = [r async for r in found]
            assert [r.peer_id for r in got] == [nodes[j].peer_id], (i, j)
            assert got[0].addrs, "a provider comes with its addresses"
            if len(d.lookups) > before:
                hops.append(d.lookups[-1].hops)
    return hops


async def test_twenty_nodes_find_every_provider_in_log_hops(nursery):
    # k = 4: partial routing tables, so lookups have to hop (with the default k = 20 >= n every
    # node would hold every record after one provide; bench/bench_dht.py runs that case)
    n, k = 20, 4
    limits = replace(DHT_LIMITS, k=k, request_timeout_s=5.0)
    with trio.fail_after(150):
        nodes = await _network(nursery, n, limits)
        assert all(len(d.state.table) >= min(k, n - 1) for d in nodes)
        hops = await _all_find_all(nodes)
        await _bulk_provide_is_found(nodes)
    bound = math.ceil(math.log2(n)) + 2
    # records sit on the 4 nodes nearest each key (and the provider): most finds are lookups
    assert len(hops) >= n, hops
    assert max(hops) <= bound, (max(hops), bound)
    assert max(hops) >= 2, "with k=4 some lookups must hop"
    print(f"{len(hops)} lookups, hops: max {max(hops)}, bound {bound}")


async def test_readers_that_stop_early_do_not_hurt_the_dht(nursery):
    """Many finds closed after their first record while answers are still arriving."""
    limits = replace(DHT_LIMITS, k=4, request_timeout_s=5.0)
    with trio.fail_after(60):
        nodes = await _network(nursery, 6, limits)
        cid = CID.of(b"many providers")
        for d in nodes[1:4]:
            await d.provide([cid])
        finder = nodes[5]

        async def one() -> None:
            async with aclosing(finder.find_providers(cid, limit=3)) as found:
                async for _ in found:
                    break

        async with trio.open_nursery() as n:
            for _ in range(30):
                n.start_soon(one)
        async with aclosing(finder.find_providers(cid, limit=3)) as found:
            assert len([r async for r in found]) == 3
        assert (await finder.find_peer(nodes[0].peer_id)).addrs


async def _bulk_provide_is_found(nodes):
    """A dataset announced through the keyspace sweep: few lookups, every key found."""
    cids = [CID.of(f"dataset block {i}".encode()) for i in range(150)]
    before = sum(len(d.state.providers) for d in nodes[1:])
    await nodes[0].provide(cids)  # >= provide_batch_threshold: the sweep
    assert nodes[0].counters["provide_lookups"] < len(cids) / 3
    print(f"{len(cids)} keys announced with {nodes[0].counters['provide_lookups']} lookups")
    for _ in range(50):  # ADD_PROVIDERs have no answer: wait until all are stored
        if sum(len(d.state.providers) for d in nodes[1:]) - before >= len(cids) * 4:
            break
        await trio.sleep(0.05)
    for i, c in enumerate(cids[:40]):
        finder = nodes[1 + i % (len(nodes) - 1)]
        async with aclosing(finder.find_providers(c, limit=1)) as found:
            assert [r.peer_id async for r in found] == [nodes[0].peer_id], i
