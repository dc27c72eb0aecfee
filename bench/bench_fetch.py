"""Bitswap fetch throughput of jzfs against Kubo, with Kubo -> Kubo measured in the same run.

    interop/run.sh -- python bench/bench_fetch.py [--mib 100] [--reps 3] [--rss-mib 1024]
        [--engine pack --engine lmdb]

Every jzfs side is a separate process with an on-disk repo (blockstore: `--engine`, repeatable,
the repos' `Datastore.Engine`, `default` unless given; with several, each engine gets its own
server and fetchers, and the rows below are printed per engine), as a user would run it: the server imports the file with Kubo's default profile (CIDv0, 256 KiB, 174
links, same CID as `kubo.add_file`) and serves it; the fetcher runs `fetch_path_from_peers`
(exactly what `jzfs get --peer` does, minus writing the file) and reports time and peak RSS.

Rows (MB = 10^6 B, medians of --reps):
  Kubo -> Kubo   PinCID (parallel DAG fetch)            the reference
  Kubo -> jzfs   jzfs fetcher from a Kubo that added the file       ratio vs reference
  jzfs -> jzfs   jzfs fetcher from a jzfs server                   ratio vs reference
                 (timed from "connected", as PinCID is timed after connect; the rows
                 "incl. host start+connect" add starting our libp2p host and dialing)
  jzfs -> Kubo   a fresh Kubo PinCIDs from a jzfs server          ratio vs reference
  peak RSS of the jzfs fetcher while fetching a --rss-mib DAG from a jzfs server.
Needs a loopback-only namespace (interop/run.sh does it; the script also calls ensure_confined()).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "interop"))

MiB = 1024 * 1024
MB = 1e6


# ------------------------------------------------------------------ subprocess roles


def serve(repo: str, path: str) -> None:
    """Import `path` into a jzfs repo, serve it over bitswap, print {"cid","addr"}; run until killed."""
    import trio

    from jiaozi_node.bitswap.service import BitswapService
    from jiaozi_node.config import UNIXFS_V0_2015
    from jiaozi_node.identity import Identity
    from jiaozi_node.net.libp2p_host import Libp2pHost
    from jiaozi_node.node import Node
    from jiaozi_node.node.files import add_file

    node = Node.open(repo)
    ev = add_file(node, path, profile=UNIXFS_V0_2015)

    async def main() -> None:
        host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
        async with trio.open_nursery() as nursery:
            await nursery.start(host.run)
            await nursery.start(BitswapService(host, node.blocks).run)
            print(json.dumps({"cid": str(ev.cid), "addr": host.addrs()[0]}), flush=True)
            await trio.sleep_forever()

    trio.run(main)


def fetch(repo: str, cid: str, addr: str) -> None:
    """Fetch the DAG into a fresh repo; print {"seconds","blocks","maxrss_kib"}."""
    import threading

    import trio

    import jiaozi_node.bitswap.service  # noqa: F401 - imports (libp2p: ~2 s) are not the fetch
    import jiaozi_node.net.libp2p_host  # noqa: F401
    import jiaozi_node.unixfs.resolve  # noqa: F401
    from jiaozi_node.node import Node
    from jiaozi_node.node.retrieval import fetch_path_from_peers

    node = Node.open(repo)
    node.blocks  # noqa: B018 - open the store before the clock starts
    peak = {"anon": 0}
    done = threading.Event()

    def sample() -> None:  # peak anonymous memory (ru_maxrss also counts file pages the store maps)
        while not done.wait(0.05):
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak["anon"] = max(peak["anon"], int(line.split()[1]))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    marks: dict[str, float] = {}
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    _, blocks = trio.run(lambda: fetch_path_from_peers(
        node.blocks, cid, [addr], timeout_s=60, defaults=node.defaults,
        on_connected=lambda: marks.setdefault("connected", time.perf_counter())))
    dt = time.perf_counter() - t0
    transfer = dt - (marks["connected"] - t0)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    done.set()
    sampler.join()
    node.close()
    print(json.dumps({"seconds": dt, "transfer_seconds": transfer, "blocks": blocks,
                      "cpu_user": ru1.ru_utime - ru0.ru_utime, "cpu_sys": ru1.ru_stime - ru0.ru_stime,
                      "peak_anon_kib": peak["anon"],
                      "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)


# ------------------------------------------------------------------ driver


def _spawn_server(repo: Path, path: Path) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(repo), str(path)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        raise RuntimeError("jzfs server did not start")
    return proc, json.loads(line)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _init_repo(path: Path, engine: str) -> Path:
    """A fresh repo at `path` whose blockstore is `engine` (`Datastore.Engine`)."""
    from jiaozi_node.repo import Repo

    Repo.init(path).set_config("Datastore.Engine", engine)
    return path


def _run_fetch(tmp: Path, cid: str, addr: str, tag: str, engine: str) -> dict:
    repo = str(_init_repo(Path(tempfile.mkdtemp(prefix=f"fetch-{tag}-", dir=tmp)), engine))
    out = subprocess.run([sys.executable, __file__, "--fetch", repo, cid, addr],
                         capture_output=True, text=True, timeout=1800, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"fetch failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rss-mib", type=int, default=1024, help="DAG size for the peak-RSS run (0: skip)")
    ap.add_argument("--serve", nargs=2, metavar=("REPO", "PATH"))
    ap.add_argument("--fetch", nargs=3, metavar=("REPO", "CID", "ADDR"))
    ap.add_argument("--engine", action="append", choices=("default", "pack", "lmdb", "sqlite", "flatfs"),
                    help="blockstore engine of the jzfs repos (repeatable; default: the default engine)")
    args = ap.parse_args()
    engines: list[str] = args.engine or ["default"]
    if args.serve:
        return serve(*args.serve)
    if args.fetch:
        return fetch(*args.fetch)

    from jzfs_interop import netns
    from jzfs_interop.kubo import KuboPeer

    conf = netns.ensure_confined()
    size = args.mib * MiB
    sfx = {e: (f" [{e}]" if len(engines) > 1 or e != "default" else "") for e in engines}
    rows: dict[str, list[float]] = {"Kubo -> Kubo (PinCID)": []}
    cpu: dict[str, list[tuple[float, float]]] = {}
    for e in engines:
        for name in ("Kubo -> jzfs", "Kubo -> jzfs, incl. host start+connect", "jzfs -> jzfs",
                     "jzfs -> jzfs, incl. host start+connect", "jzfs -> Kubo (PinCID)"):
            rows[name + sfx[e]] = []
        cpu["Kubo -> jzfs" + sfx[e]] = []
        cpu["jzfs -> jzfs" + sfx[e]] = []
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as td:
        tmp = Path(td)
        data_path = tmp / "data.bin"
        with open(data_path, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(MiB))
        kw = {"allow_no_netns": not conf.netns}
        src = KuboPeer(tmp / "kubo-src", **kw).start()
        servers: dict[str, tuple[subprocess.Popen, dict]] = {}
        try:
            for e in engines:
                servers[e] = _spawn_server(_init_repo(tmp / f"jzfs-src-{e}", e), data_path)
            cid = src.add_file(data_path)
            for e, (_, info) in servers.items():
                assert cid == info["cid"], (cid, info["cid"], e)
            for rep in range(args.reps):
                k = KuboPeer(tmp / f"kubo-dst{rep}", **kw).start()
                try:
                    k.connect(src.multiaddr)
                    t0 = time.perf_counter()
                    k.pin_cid(cid, timeout=600)
                    rows["Kubo -> Kubo (PinCID)"].append(size / (time.perf_counter() - t0) / MB)
                finally:
                    k.stop()
                for e, (_, info) in servers.items():
                    x = sfx[e]
                    r = _run_fetch(tmp, cid, src.multiaddr, f"k{rep}", e)
                    cpu["Kubo -> jzfs" + x].append((r["cpu_user"], r["cpu_sys"]))
                    rows["Kubo -> jzfs" + x].append(size / r["transfer_seconds"] / MB)
                    rows["Kubo -> jzfs, incl. host start+connect" + x].append(size / r["seconds"] / MB)
                    r = _run_fetch(tmp, cid, info["addr"], f"j{rep}", e)
                    cpu["jzfs -> jzfs" + x].append((r["cpu_user"], r["cpu_sys"]))
                    rows["jzfs -> jzfs" + x].append(size / r["transfer_seconds"] / MB)
                    rows["jzfs -> jzfs, incl. host start+connect" + x].append(size / r["seconds"] / MB)
                    k = KuboPeer(tmp / f"kubo-dstj{rep}{e}", **kw).start()
                    try:
                        k.connect(info["addr"])
                        t0 = time.perf_counter()
                        k.pin_cid(cid, timeout=600)
                        rows["jzfs -> Kubo (PinCID)" + x].append(size / (time.perf_counter() - t0) / MB)
                    finally:
                        k.stop()
        finally:
            for server, _ in servers.values():
                _stop(server)
            src.stop()
        refs = rows["Kubo -> Kubo (PinCID)"]
        print(f"\nBitswap fetch, {args.mib} MiB, medians of {args.reps} (MB/s; ratio = median of "
              f"per-round ratios vs Kubo -> Kubo measured in the same round)")
        for name, vals in rows.items():
            med = statistics.median(vals)
            ratios = [v / r for v, r in zip(vals, refs, strict=True)]
            ratio = statistics.median(ratios)
            runs = ", ".join(f"{v:.0f}" for v in vals)
            print(f"  {name:47s} {med:7.1f} MB/s   x{ratio:4.2f} (x{min(ratios):.2f}-{max(ratios):.2f})"
                  f"   [{runs}]")
        for name, vals in cpu.items():  # the whole fetcher process, host start to exit
            u = statistics.median(v[0] for v in vals) / (size / MB) * 1e3
            s_ = statistics.median(v[1] for v in vals) / (size / MB) * 1e3
            print(f"  CPU of the jzfs fetcher, {name:21s} {u:.1f} ms/MB user + {s_:.1f} ms/MB system")

        if args.rss_mib:
            big = tmp / "big.bin"
            with open(big, "wb") as f:
                for _ in range(args.rss_mib):
                    f.write(os.urandom(MiB))
            data_path.unlink()
            for e in engines:
                server, info = _spawn_server(_init_repo(tmp / f"jzfs-big-{e}", e), big)
                try:
                    r = _run_fetch(tmp, info["cid"], info["addr"], "rss", e)
                finally:
                    _stop(server)
                    # the server's repo holds a copy of the DAG: free the disk before the next one
                    shutil.rmtree(tmp / f"jzfs-big-{e}", ignore_errors=True)
                print(f"\nPeak RSS of the jzfs fetcher, {args.rss_mib} MiB DAG jzfs -> jzfs{sfx[e]}: "
                      f"{r['maxrss_kib'] / 1024:.0f} MiB (ru_maxrss, includes file pages the store maps "
                      f"into the process); peak anonymous {r['peak_anon_kib'] / 1024:.0f} MiB "
                      f"({args.rss_mib * MiB / r['seconds'] / MB:.0f} MB/s)")


if __name__ == "__main__":
    main()
