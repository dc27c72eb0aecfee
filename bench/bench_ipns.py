"""IPNS: jzfs against Helia, measured in the same run (loopback only).

    python bench/bench_ipns.py                 # defaults
    python bench/bench_ipns.py --repeat 7 --publishes 20

What is measured (medians of --repeat; the machine is noisy: only same-run ratios mean anything):

* Resolve, two hops away, the command a user types timed whole. Topology: C is a jzfs DHT
  server; A (a jzfs daemon) publishes a name to the DHT knowing only C; B (a jzfs daemon) knows
  only C. jzfs: `jzfs name resolve --nocache /ipns/NAME` on B (process start, RPC to B's daemon,
  DHT GET through C, every record validated, output). Helia: `node ipns_tool.mjs resolve-dht C
  NAME` — @helia/ipns + @libp2p/kad-dht resolving the same name knowing only C, in a fresh Node
  process (Helia has no daemon + CLI; this is what a Helia user runs). Ratio = Helia / jzfs
  (>= 1: jzfs is faster). Diagnostics: Helia's own resolve time after its start-up, and B's
  daemon answering `/api/v0/name/resolve` over keep-alive HTTP (no process start).
* Publish latency to a 20-node local DHT (hosts in one process, real libp2p connections, k=20):
  a record signed and validated (`make_record`) then PUT to the k closest (`DhtRouter.put_value`),
  median and worst of --publishes, and the time for the farthest-in-the-chain node to GET it.

Everything runs inside a loopback-only network namespace (jzfs_interop.netns).
"""

from __future__ import annotations

import argparse
import json
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


def start_daemon(base: Path, name: str, config: dict) -> tuple[subprocess.Popen, dict, str, str]:
    d = _start(base, name, config)
    info = json.loads(subprocess.run([PY, "-m", "jiaozi_node.cli.main", "id"], env=d.env,
                                     capture_output=True, timeout=60).stdout)
    swarm = next(a for a in info["Addresses"] if "/tcp/" in a)
    return d.proc, d.env, d.api, swarm


def publish_when_ready(env: dict, value: str) -> str:
    end = time.time() + 60
    while True:
        r = subprocess.run([PY, "-m", "jiaozi_node.cli.main", "name", "publish", "-Q", value],
                           env=env, capture_output=True, timeout=120)
        if r.returncode == 0:
            return r.stdout.decode().strip()
        if time.time() > end:
            raise RuntimeError(r.stderr.decode())
        time.sleep(0.5)


def resolve_two_hops(repeat: int) -> None:
    from jzfs_interop.helia import HELIA_DIR

    tool = str(HELIA_DIR / "ipns_tool.mjs")
    with tempfile.TemporaryDirectory(prefix="jzfs-bench-ipns-") as tmp:
        base = Path(tmp)
        procs: list[subprocess.Popen] = []
        try:
            dht = {"Routing.Type": "dhtserver"}
            pc, _, _, c_addr = start_daemon(base, "c", dht)
            procs.append(pc)
            pa, env_a, _, _ = start_daemon(base, "a", {**dht, "Bootstrap": [c_addr]})
            procs.append(pa)
            pb, env_b, api_b, _ = start_daemon(base, "b", {**dht, "Bootstrap": [c_addr]})
            procs.append(pb)
            value = "/ipfs/bafkqaaa"
            name = publish_when_ready(env_a, value)
            jz = [PY, "-m", "jiaozi_node.cli.main", "name", "resolve", "--nocache", f"/ipns/{name}"]
            hl = ["node", tool, "resolve-dht", c_addr, name]
            timed(jz, env_b)  # warm-up (imports, caches of the OS)
            timed(hl, cwd=str(HELIA_DIR))
            jt, ht, hin = [], [], []
            for _ in range(repeat):
                dt, out = timed(jz, env_b)
                assert out.strip() == value, out
                jt.append(dt)
                dt, out = timed(hl, cwd=str(HELIA_DIR))
                res = json.loads(out.strip().splitlines()[-1])
                assert res["value"] == value, res
                ht.append(dt)
                hin.append(res["ms"] / 1000)
            import httpx

            with httpx.Client() as c:
                api = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    r = c.post(f"{api_b}/api/v0/name/resolve", params={"arg": name, "nocache": "true"})
                    api.append(time.perf_counter() - t0)
                    assert r.json()["Path"] == value
            jm, hm = statistics.median(jt), statistics.median(ht)
            print(f"resolve (2 hops, whole command)  jzfs {jm * 1000:7.1f} ms   Helia {hm * 1000:7.1f} ms   "
                  f"ratio Helia/jzfs {hm / jm:.2f}x   (goal >= 1.0)")
            print(f"  diagnostics: Helia in-process (dial + DHT + resolve) {statistics.median(hin) * 1000:.1f} ms; "
                  f"jzfs daemon RPC name/resolve {statistics.median(api) * 1000:.1f} ms")
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()


def publish_20_nodes(publishes: int) -> None:
    from dataclasses import replace

    import trio

    from jiaozi_node.config import DHT_LIMITS
    from jiaozi_node.identity import Identity
    from jiaozi_node.ipns.crypto import PrivateKey
    from jiaozi_node.ipns.name import IpnsName
    from jiaozi_node.ipns.record import NS, create_record, validate_record
    from jiaozi_node.net.libp2p_host import Libp2pHost
    from jiaozi_node.routing.dht.service import DhtRouter
    from jiaozi_node.routing.validators import default_validators

    n = 20
    limits = replace(DHT_LIMITS, request_timeout_s=5.0)

    async def main() -> tuple[list[float], list[float]]:
        async with trio.open_nursery() as nursery:
            nodes = []
            for _ in range(n):
                host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
                await nursery.start(host.run)
                dht = DhtRouter(host, mode="server", protocol="/ipfs/kad/1.0.0", limits=limits,
                                validators=default_validators())
                await nursery.start(dht.run)
                nodes.append(dht)
            for i, d in enumerate(nodes[1:], 1):
                await d.bootstrap([nodes[i - 1].host.addrs()[0]])
            for d in nodes:
                await d.refresh(force=True)
            key = PrivateKey.generate()
            name = IpnsName.from_public_key(key.public_key)
            pub, get = [], []
            for seq in range(publishes):
                t0 = time.perf_counter()
                now = time.time()
                raw = create_record(key, b"/ipfs/bafkqaaa", seq=seq,
                                    eol_ns=int((now + 3600) * NS), ttl_ns=60 * NS)
                validate_record(name, raw, now=now)
                await nodes[0].put_value(name.routing_key, raw)
                pub.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                got = await nodes[-1].get_value(name.routing_key)
                get.append(time.perf_counter() - t0)
                assert validate_record(name, got, now=time.time()).sequence == seq
            nursery.cancel_scope.cancel()
        return pub, get

    pub, get = trio.run(main)
    print(f"publish to the {n}-node DHT (sign + validate + PUT to the k closest)  median "
          f"{statistics.median(pub) * 1000:.1f} ms   worst {max(pub) * 1000:.1f} ms   ({len(pub)} publishes)")
    print(f"  then resolved by the node farthest down the bootstrap chain: median "
          f"{statistics.median(get) * 1000:.1f} ms   worst {max(get) * 1000:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5, help="timed resolves per side")
    ap.add_argument("--publishes", type=int, default=10, help="publishes on the 20-node network")
    args = ap.parse_args()
    conf = netns.ensure_confined()
    print(f"# loopback-only namespace: {conf.netns} ({conf.how})")
    resolve_two_hops(args.repeat)
    publish_20_nodes(args.publishes)


if __name__ == "__main__":
    main()
