"""Find + fetch of a file from a provider two hops away: `jzfs get CID` (the whole command, a
separate process, through the daemon) against Helia doing the same, in the same run.

    interop/run.sh -- python bench/bench_find_fetch.py [--mib 100] [--rounds 3]

Topology, the same on both sides (every peer on 127.0.0.1 in the loopback-only namespace):
  A adds the file and provides it; C is a DHT server; B (the fetcher) knows only C.
  jzfs:  three `jzfs daemon`s; A and B have `Bootstrap = [C]`, C has `Routing.Type dhtserver`.
         Timed: `jzfs get CID -o OUT` run against B's daemon (process start, routing lookup
         through C, dial A, Bitswap fetch, writing the file) — no address given.
  Helia: three Helia 7 nodes with @libp2p/kad-dht (/ipfs/kad/1.0.0, server mode, loopback
         addresses kept), A and D dialled to C. Timed: D's `cat` of the CID to a file (its
         session asks the DHT for providers, dials A, fetches by Bitswap), from the request
         to the answer; D is a running process (no start-up counted for Helia).
Every round uses fresh random bytes (nobody holds them yet); the order alternates. Printed:
per-round seconds, medians, MB/s (MB = 10^6 B) and the ratio Helia / jzfs (goal >= 1.0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _daemon import Daemon, start_daemon, stop_daemons

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "interop"))

MiB = 1024 * 1024
MB = 1e6
KAD = {"protocol": "/ipfs/kad/1.0.0", "clientMode": False}


def jzfs(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"jzfs {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def wait_provided(env: dict[str, str], before: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = json.loads(jzfs(env, "stats", "provide", "--json"))
        if st["TotalProvides"] > before and st["QueueLength"] == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the provider record did not go out within {timeout}s: {st}")


def sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def wait_table(peer: object, n: int = 1) -> None:
    for _ in range(400):
        if peer.dht_info()["routing_table_size"] >= n:  # type: ignore[attr-defined]
            return
        time.sleep(0.05)
    raise RuntimeError("Helia's DHT routing table stayed empty")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from jzfs_interop import netns
    from jzfs_interop.helia import HeliaPeer

    conf = netns.ensure_confined()
    kw = {"allow_no_netns": not conf.netns}
    size = args.mib * MiB
    times: dict[str, list[float]] = {"jzfs": [], "helia": []}
    with tempfile.TemporaryDirectory(prefix="bench-find-fetch-") as td:
        tmp = Path(td)
        daemons: list[Daemon] = []
        helias: list[HeliaPeer] = []
        try:
            def start(name: str, config: dict[str, object]) -> dict[str, str]:
                daemons.append(start_daemon(tmp, name, config))
                return daemons[-1].env

            c = start("c", {"Routing.Type": "dhtserver"})
            c_addr = json.loads(jzfs(c, "id", "--json"))["Addresses"][0]
            a = start("a", {"Bootstrap": [c_addr]})
            b = start("b", {"Bootstrap": [c_addr]})
            hc = HeliaPeer(dht=KAD, **kw).start()
            ha = HeliaPeer(dht=KAD, **kw).start()
            hd = HeliaPeer(dht=KAD, **kw).start()
            helias += [hc, ha, hd]
            ha.dial(hc.multiaddr)
            hd.dial(hc.multiaddr)
            wait_table(ha)
            wait_table(hd)
            for rnd in range(args.rounds):
                src = tmp / f"data-{rnd}.bin"
                with open(src, "wb") as f:
                    for _ in range(args.mib):
                        f.write(os.urandom(MiB))
                digest = sha(src)
                for side in (("jzfs", "helia") if rnd % 2 == 0 else ("helia", "jzfs")):
                    out = tmp / f"out-{side}-{rnd}.bin"
                    if side == "jzfs":
                        before = json.loads(jzfs(a, "stats", "provide", "--json"))["TotalProvides"]
                        cid = jzfs(a, "add", "-Q", str(src)).strip()
                        wait_provided(a, before)
                        t0 = time.perf_counter()
                        jzfs(b, "get", cid, "-o", str(out))
                        took = time.perf_counter() - t0
                    else:
                        cid = ha.add_file(src)
                        ha.provide(cid, timeout=60)
                        t0 = time.perf_counter()
                        hd.cat(cid, out, timeout=600)
                        took = time.perf_counter() - t0
                    if sha(out) != digest:
                        raise RuntimeError(f"{side}: fetched bytes differ")
                    out.unlink()
                    times[side].append(took)
                    print(f"round {rnd + 1} {side:5s} {took:7.2f} s  {size / MB / took:6.1f} MB/s", flush=True)
                src.unlink()
        finally:
            for h in helias:
                h.stop()
            stop_daemons(daemons)
    mj, mh = statistics.median(times["jzfs"]), statistics.median(times["helia"])
    print(f"\nfind + fetch of {args.mib} MiB from a provider two hops away "
          f"(medians of {args.rounds}, {'loopback namespace' if conf.netns else conf.how}):")
    print(f"  jzfs  `jzfs get CID` (whole command)  {mj:7.2f} s  {size / MB / mj:6.1f} MB/s")
    print(f"  Helia D cat (running process)        {mh:7.2f} s  {size / MB / mh:6.1f} MB/s")
    print(f"  ratio Helia / jzfs = {mh / mj:.2f}x   (goal >= 1.0x)")


if __name__ == "__main__":
    main()
