"""Reprovider.Strategy by measurement: records and seconds per strategy on a real DHT network.

    interop/run.sh -- python bench/bench_provide_strategy.py [--nodes 10] [--files 2000]
        [--file-kib 64] [--big-mib 256] [--batch N]

A network of `--nodes` jzfs DHT servers (hosts in this process, real libp2p connections on
127.0.0.1); our node holds one pinned dataset (`--files` small files + one `--big-mib` file,
the default import profile) plus a versioned commit of it, and runs a full reprovide pass under
each strategy (routing/provider.py, the code the daemon runs). Printed per strategy: records,
seconds, records/s, and what that rate means for a 100 GiB dataset (1 MiB and 256 KiB chunks).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "interop"))

MiB = 1024 * 1024
GiB = 1024 * MiB


def make_dataset(args: argparse.Namespace, tmp: Path) -> Path:
    data = tmp / "dataset"
    data.mkdir()
    for i in range(args.files):
        (data / f"f{i:05d}.bin").write_bytes(os.urandom(args.file_kib * 1024))
    with open(data / "big.bin", "wb") as f:
        for _ in range(args.big_mib):
            f.write(os.urandom(MiB))
    return data


async def run(args: argparse.Namespace, tmp: Path) -> list[tuple[str, int, float]]:
    import trio

    from jiaozi_node.config import DHT_LIMITS, ROUTING_LIMITS
    from jiaozi_node.identity import Identity
    from jiaozi_node.net.libp2p_host import Libp2pHost
    from jiaozi_node.node import Node
    from jiaozi_node.routing.dht.service import DhtRouter
    from jiaozi_node.routing.parallel import ParallelRouter
    from jiaozi_node.routing.provider import ProvideQueue, Provider

    data = make_dataset(args, tmp)
    node = Node.open(tmp / "repo")
    node.repo.set_config("Routing.Type", "none")  # no queue rows from the add: we time passes
    node.add_path(str(data))
    node.versioning.create_repo("ds", now=1)
    node.versioning.commit("ds", str(data), branch="main", message="import", now=1)
    blocks = sum(1 for _ in node.blocks.cids())
    print(f"dataset: {args.files} x {args.file_kib} KiB + {args.big_mib} MiB, {blocks} blocks "
          f"in the store", flush=True)

    out = []
    async with trio.open_nursery() as nursery:
        net = []
        for _ in range(args.nodes):
            host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
            await nursery.start(host.run)
            d = DhtRouter(host, mode="server", limits=DHT_LIMITS)
            await nursery.start(d.run)
            net.append(d)
        for i, d in enumerate(net[1:], 1):
            await d.bootstrap([net[i - 1].host.addrs()[0]])
        host = Libp2pHost(node.repo.identity, listen=["/ip4/127.0.0.1/tcp/0"])
        await nursery.start(host.run)
        ours = DhtRouter(host, mode="server", limits=DHT_LIMITS)
        await nursery.start(ours.run)
        await ours.bootstrap([net[-1].host.addrs()[0]])
        router = ParallelRouter([ours])
        lim = replace(ROUTING_LIMITS, reprovide_initial_delay_s=1e9,
                      **({"provide_batch": args.batch} if args.batch else {}))
        for strategy in ("roots", "pinned", "all"):
            p = Provider(node, router, ProvideQueue.open(node.repo.path, limits=lim), strategy=strategy,
                         limits=lim)
            t0 = time.perf_counter()
            n = await p.reprovide()
            took = time.perf_counter() - t0
            p.queue.close()
            out.append((strategy, n, took))
            print(f"  {strategy:6s} {n:7d} records  {took:7.2f} s  {n / took:8.0f} records/s", flush=True)
        nursery.cancel_scope.cancel()
    node.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--file-kib", type=int, default=64)
    ap.add_argument("--big-mib", type=int, default=256)
    ap.add_argument("--batch", type=int, default=0, help="RoutingLimits.provide_batch (0: default)")
    args = ap.parse_args()

    import trio
    from jzfs_interop import netns

    netns.ensure_confined()
    with tempfile.TemporaryDirectory(prefix="bench-provide-") as td:
        rows = trio.run(run, args, Path(td))
    rate = {s: n / t for s, n, t in rows if t > 0}
    print("\nwhat it means for a 100 GiB dataset (one file; records = blocks under all/pinned):")
    for chunk, label in ((MiB, "1 MiB chunks (unixfs-v1-2025)"), (256 * 1024, "256 KiB chunks (Kubo v0)")):
        n = 100 * GiB // chunk
        secs = n / rate["all"]
        print(f"  {label:32s} all/pinned: {n:7d} records, {secs / 60:6.1f} min per reprovide at the "
              f"measured rate; roots: 1 record")


if __name__ == "__main__":
    main()
