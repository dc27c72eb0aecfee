"""HTTP gateway throughput and gateway-client fetch, with jzfs's own `cat` measured in the same run.

    python bench/bench_gateway.py            # 100 MiB
    python bench/bench_gateway.py --mib 32   # smaller
    python bench/bench_gateway.py --repeat 5
    python bench/bench_gateway.py --engine lmdb   # the repos' Datastore.Engine

Figures (MB = 10^6 bytes, medians of --repeat runs; the machine is shared and noisy, so only the
ratios against the reference measured in the same run mean anything):

* reference: `jzfs --offline cat CID > /dev/null` (subprocess: the same exporter reading the same
  repo, no HTTP), and the exporter in-process.
* a `jzfs daemon` gateway serving the file to curl (`-o /dev/null`): deserialized (the file's bytes),
  `?format=raw` of one block, and `?format=car` (the whole DAG). Goal: deserialized >= 0.8x cat.
  And the daemon's RPC `/api/v0/cat` (what `jzfs cat` uses while a daemon runs).
* `GatewayFetcher.fetch_dag` (our verified CAR client) fetching the whole DAG from that gateway
  into a fresh repo, in a subprocess: MB/s and its peak RSS (VmHWM); and the same CAR stream
  parsed and verified with the blocks discarded (the client's own cost and memory).

Everything runs on 127.0.0.1 (the daemon's swarm too: /ip4/127.0.0.1/tcp/0, no bootstrap).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _daemon import LOOPBACK_ADDRESSES, PY, run_daemon, stop_daemons

MB = 1e6


def init_repo(path: Path, engine: str):  # type: ignore[no-untyped-def]
    """A fresh repo at `path` whose blockstore is `engine` (`Datastore.Engine`)."""
    from jiaozi_node.repo import Repo

    repo = Repo.init(path)
    repo.set_config("Datastore.Engine", engine)
    return repo


def make_repo(base: Path, size: int, engine: str) -> tuple[Path, str]:
    from jiaozi_node.node import Node
    from jiaozi_node.node.files import add_path

    repo = init_repo(base / "repo", engine)
    for key, value in LOOPBACK_ADDRESSES.items():
        repo.set_config(key, value)
    src = base / "data.bin"
    with open(src, "wb") as f:
        chunk = hashlib.shake_256(b"bench-gateway").digest(1 << 20)
        for i in range(size // len(chunk)):
            f.write(chunk[:-8] + i.to_bytes(8, "big"))
        f.write(chunk[: size % len(chunk)])
    with Node.open(base / "repo") as node:
        cid = add_path(node, [src], pin=True)[-1].cid
    return base / "repo", str(cid)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def curl_seconds(url: str, accept: str | None = None, *, post: bool = False) -> tuple[float, int]:
    argv = ["curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w", "%{size_download} %{time_total}"]
    if post:
        argv += ["-X", "POST"]
    if accept:
        argv += ["-H", f"Accept: {accept}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout.split()
    return float(out[1]), int(out[0])


FETCH_CHILD = r"""
import sys, time
from jiaozi_node.gateway.client import FetchStats, GatewayFetcher
from jiaozi_node.ipld import CID
from jiaozi_node.node import Node

class Discard:  # verified blocks are dropped: the client's own cost and memory
    def put_many(self, blocks):
        pass

cid = CID.decode(sys.argv[3])
with GatewayFetcher([sys.argv[2]]) as f:
    if sys.argv[4] == "repo":
        with Node.open(sys.argv[1]) as node:
            t = time.perf_counter()
            stats = f.fetch_dag(cid, node.blocks)
            dt = time.perf_counter() - t
    else:
        stats = FetchStats()
        t = time.perf_counter()
        f._fetch_car(sys.argv[2], cid, Discard(), stats, None)
        dt = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over execve from the (bigger) parent.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(dt, stats.bytes, stats.blocks, hwm)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engine", default="default", choices=("default", "pack", "lmdb", "sqlite", "flatfs"),
                    help="Datastore.Engine of the served repo and of the gateway client's repo")
    args = ap.parse_args()
    size = args.mib * 1024 * 1024
    base = Path(tempfile.mkdtemp(prefix="jzfs-bench-gw-"))
    daemon = None
    try:
        repo, cid = make_repo(base, size, args.engine)
        env = {**os.environ, "JZFS_PATH": str(repo), "PYTHONUNBUFFERED": "1"}

        def cli_cat() -> None:
            with open(os.devnull, "wb") as null:
                subprocess.run([PY, "-m", "jiaozi_node.cli.main", "--offline", "cat", cid], env=env,
                               stdout=null, check=True)

        def inproc_cat() -> None:
            from jiaozi_node.node import Node
            from jiaozi_node.node.files_read import FilesReader

            with Node.open(repo) as node:
                for _ in FilesReader.for_node(node).cat(cid):
                    pass

        daemon = run_daemon(repo)
        gw, api = daemon.gateway, daemon.api
        first_block = None
        from jiaozi_node.ipld import CID, codecs
        from jiaozi_node.node import Node

        with Node.open(repo) as node:
            root = CID.decode(cid)
            links = codecs.links(root, node.blocks.get(root))
            first_block = links[0] if links else root
            block_size = len(node.blocks.get(first_block))

        rows: dict[str, list[float]] = {k: [] for k in (
            "cat (CLI, offline)", "cat (exporter in-process)", "gateway deserialized",
            "gateway CAR (dag-scope=all)", "gateway raw block", "RPC /api/v0/cat",
            "gateway-client CAR fetch",
            "gateway-client CAR, discard")}
        rss: dict[str, list[int]] = {"gateway-client CAR fetch": [], "gateway-client CAR, discard": []}
        car_bytes = 0
        for _ in range(args.repeat):
            rows["cat (CLI, offline)"].append(size / timed(cli_cat) / MB)
            rows["cat (exporter in-process)"].append(size / timed(inproc_cat) / MB)
            dt, n = curl_seconds(f"{gw}/ipfs/{cid}")
            assert n == size, (n, size)
            rows["gateway deserialized"].append(n / dt / MB)
            dt, car_bytes = curl_seconds(f"{gw}/ipfs/{cid}?format=car")
            rows["gateway CAR (dag-scope=all)"].append(car_bytes / dt / MB)
            dt, n = curl_seconds(f"{api}/api/v0/cat?arg={cid}", post=True)
            assert n == size, (n, size)
            rows["RPC /api/v0/cat"].append(n / dt / MB)
            times = [curl_seconds(f"{gw}/ipfs/{first_block}?format=raw")[0] for _ in range(20)]
            rows["gateway raw block"].append(block_size / statistics.median(times) / MB)
            for mode, name in (("repo", "gateway-client CAR fetch"), ("discard", "gateway-client CAR, discard")):
                dest = base / "fetch"
                init_repo(dest, args.engine)
                out = subprocess.run([PY, "-c", FETCH_CHILD, str(dest), gw, cid, mode], capture_output=True,
                                     text=True, env={**os.environ, "JZFS_PATH": str(dest)})
                if out.returncode != 0:
                    raise SystemExit(f"fetch ({mode}) failed:\n{out.stderr[-3000:]}")
                dt_s, nbytes, _nblocks, maxrss = out.stdout.split()
                rows[name].append(int(nbytes) / float(dt_s) / MB)
                rss[name].append(int(maxrss))
                shutil.rmtree(dest, ignore_errors=True)

        ref = statistics.median(rows["cat (CLI, offline)"])
        print(f"\n{args.mib} MiB file (unixfs-v1-2025: 1 MiB raw leaves), engine {args.engine}, "
              f"{args.repeat} runs, medians")
        print(f"{'measurement':32} {'MB/s':>8} {'x cat (CLI)':>12}")
        for name, vals in rows.items():
            med = statistics.median(vals)
            print(f"{name:32} {med:8.1f} {med / ref:12.2f}")
        print(f"gateway raw block = one {block_size}-byte block per request (curl, 20 requests)")
        print(f"CAR body {car_bytes / MB:.1f} MB")
        for name, vals in rss.items():
            print(f"peak RSS, {name}: {statistics.median(vals) / 1024:.0f} MiB (VmHWM of the "
                  "fetching process; into a repo it includes any store file pages mapped into it)")
        print(f"jzfs-self RSS now: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        if daemon is not None:
            stop_daemons([daemon], timeout=30)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
