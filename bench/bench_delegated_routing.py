"""Delegated Routing V1: jzfs against Helia, measured in the same run (loopback only).

    python bench/bench_delegated_routing.py            # defaults
    python bench/bench_delegated_routing.py --n 300 --repeat 5

What is measured (medians of --repeat; the machine is noisy: only the same-run ratios mean
anything):

* the command a user types, timed whole (process start to exit): `jzfs routing findprovs CID`
  (CLI -> daemon with `Routing.Type delegated` -> our DelegatedRouter -> Helia's /routing/v1
  server) against `node delegated_routing.mjs findprovs URL CID` (Helia's client in a fresh
  Node process -> the same server). Ratio = Helia time / jzfs time (>= 1: jzfs is faster).
* server: the same keep-alive HTTP client asking `GET /routing/v1/providers/{cid}` N times from
  our server (a `jzfs daemon` gateway answering from its store) and from Helia's server (its
  in-memory router), JSON and NDJSON: requests/s and the ratio ours/Helia.
* client, in-process diagnostics: N sequential lookups against Helia's server through our
  DelegatedRouter (trio + httpx) and through Helia's client inside its Node process.

Everything runs inside a loopback-only network namespace (jzfs_interop.netns).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "interop"))
sys.path.insert(0, str(ROOT))

from _daemon import PY, timed  # noqa: E402
from _daemon import start_daemon as _start  # noqa: E402
from jzfs_interop import netns  # noqa: E402


def start_daemon(base: Path, name: str, config: dict) -> tuple[subprocess.Popen, dict, str]:
    d = _start(base, name, config)
    return d.proc, d.env, d.gateway


def server_rate(url: str, path: str, n: int, accept: str) -> float:
    import httpx

    with httpx.Client(base_url=url, timeout=30, headers={"Accept": accept}) as http:
        http.get(path).raise_for_status()  # warm up (connection, caches)
        t0 = time.perf_counter()
        for _ in range(n):
            r = http.get(path)
            assert r.status_code == 200 and r.content, r
        return n / (time.perf_counter() - t0)


def our_client_ms(url: str, cid_text: str, n: int) -> float:
    import trio

    from jiaozi_node.ipld.cid import CID
    from jiaozi_node.routing.http.client import DelegatedRouter

    async def main() -> float:
        cid = CID.decode(cid_text)
        async with DelegatedRouter(url) as r:
            assert [p async for p in r.find_providers(cid)]
            t0 = time.perf_counter()
            for _ in range(n):
                assert [p async for p in r.find_providers(cid)]
            return (time.perf_counter() - t0) / n * 1000

    return trio.run(main)


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200, help="requests per server/client measurement")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    conf = netns.ensure_confined()
    print(f"# loopback-only namespace: {conf.netns} ({conf.how})")

    from jzfs_interop.helia import HELIA_DIR
    from jzfs_interop.helia_routing import HeliaRouting

    from jiaozi_node.identity import Identity

    with tempfile.TemporaryDirectory(prefix="jzfs-bench-dr-") as tmp, HeliaRouting() as helia:
        base = Path(tmp)
        helia_url = helia.serve()
        procs: list[subprocess.Popen] = []
        try:
            # our server: a daemon holding the block (it lists itself as the provider)
            p1, env1, our_url = start_daemon(base, "server", {"Routing.Type": "none"})
            procs.append(p1)
            cid = subprocess.run([PY, "-m", "jiaozi_node.cli.main", "block", "put"], env=env1,
                                 input=b"bench block", capture_output=True, timeout=60
                                 ).stdout.decode().strip()
            peer = Identity.generate().peer_id
            helia.call("add_provider", cid=cid, peer=peer,
                       addrs=["/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"],
                       protocols=["transport-bitswap"])
            # the user's command: a daemon whose only router is Helia's server
            p2, env2, _ = start_daemon(base, "client", {"Routing.Type": "delegated",
                                                        "Routing.DelegatedRouters": [helia_url]})
            procs.append(p2)

            cmd_jzfs, cmd_helia = [], []
            srv = {k: [] for k in ("ours_json", "helia_json", "ours_ndjson", "helia_ndjson")}
            cli_ours, cli_helia = [], []
            path = f"/routing/v1/providers/{cid}"
            for _ in range(args.repeat):
                dt, out = timed([PY, "-m", "jiaozi_node.cli.main", "routing", "findprovs", cid], env=env2)
                assert out.split() == [peer], out
                cmd_jzfs.append(dt)
                dt, out = timed(["node", str(HELIA_DIR / "delegated_routing.mjs"), "findprovs",
                                 helia_url + "/", cid], cwd=str(HELIA_DIR))
                assert out.split() == [peer], out
                cmd_helia.append(dt)
                for kind, accept in (("json", "application/json"), ("ndjson", "application/x-ndjson")):
                    srv[f"ours_{kind}"].append(server_rate(our_url, path, args.n, accept))
                    srv[f"helia_{kind}"].append(server_rate(helia_url, path, args.n, accept))
                cli_ours.append(our_client_ms(helia_url, cid, args.n))
                r = helia.call("bench_client", 120, url=helia_url + "/", cid=cid, n=args.n)
                assert r["found"] == args.n
                cli_helia.append(r["elapsed_ms"] / args.n)
        finally:
            for p in procs:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=20)

    res = {
        "command_findprovs_s": {"jzfs": med(cmd_jzfs), "helia": med(cmd_helia),
                                "ratio_helia_over_jzfs": med(cmd_helia) / med(cmd_jzfs)},
        "server_req_per_s": {k: med(v) for k, v in srv.items()},
        "server_ratio_ours_over_helia": {
            "json": med(srv["ours_json"]) / med(srv["helia_json"]),
            "ndjson": med(srv["ours_ndjson"]) / med(srv["helia_ndjson"])},
        "client_ms_per_lookup": {"jzfs": med(cli_ours), "helia": med(cli_helia),
                                 "ratio_helia_over_jzfs": med(cli_helia) / med(cli_ours)},
        "n": args.n, "repeat": args.repeat,
    }
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
