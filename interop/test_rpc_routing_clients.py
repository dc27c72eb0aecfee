"""The routing part of the RPC API with independent clients: kubo-rpc-client (npm) and
ipfshttpclient (PyPI, which uses Kubo's older `/dht/*` names). Two `jzfs daemon`s on loopback:
A is a DHT server holding content, B knows only A (Bootstrap)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jzfs_interop.helia import HELIA_DIR, node_available

from jiaozi_node.repo import Repo

DATA = os.urandom(700_000)


def _daemon(base: Path, name: str, config: dict) -> tuple[subprocess.Popen, dict]:
    repo = Repo.init(base / name)
    repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Swarm", ["/ip4/127.0.0.1/tcp/0"])
    for k, v in config.items():
        repo.set_config(k, v)
    env = {**os.environ, "JZFS_PATH": str(base / name), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "jiaozi_node.cli.main", "daemon"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        text += line
        if "Daemon is ready" in line:
            break
    api = re.search(r"RPC API server listening on (/ip4/[\d.]+/tcp/(\d+))", text)
    swarm = re.search(r"Swarm listening on (/ip4/127\.0\.0\.1/tcp/\d+)", text)
    assert api, text
    info = {"maddr": api.group(1), "url": f"http://127.0.0.1:{api.group(2)}", "env": env,
            "peer_id": repo.peer_id, "pubkey": repo.identity.public_key_protobuf,
            "swarm": swarm.group(1) if swarm else None}
    return proc, info


def _cli(env: dict, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("rpc-routing")
    procs = []
    try:
        pa, a = _daemon(base, "a", {"Routing.Type": "dhtserver"})
        procs.append(pa)
        a_addr = json.loads(_cli(a["env"], "id", "--json"))["Addresses"][0]
        pb, b = _daemon(base, "b", {"Bootstrap": [a_addr]})
        procs.append(pb)
        src = base / "data.bin"
        src.write_bytes(DATA)
        cid = _cli(a["env"], "add", "-Q", str(src)).strip()
        for _ in range(200):  # until A's provider announced it (to its own DHT store at least)
            st = json.loads(_cli(a["env"], "stats", "provide", "--json"))
            if st["QueueLength"] == 0 and st["TotalProvides"] >= 1:
                break
            time.sleep(0.1)
        yield {"a": a, "b": b, "cid": cid, "base": base}
    finally:
        for p in procs:
            os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=20)


JS = r"""
import { create } from 'kubo-rpc-client'
import { CID } from 'multiformats/cid'
import { readFileSync } from 'node:fs'
const [urlA, urlB, cid, peerA, peerB, pubkeyFile] = process.argv.slice(1)
const a = create({ url: urlA }), b = create({ url: urlB })
const out = { provs: [], peerAddrs: [], value: null }
for await (const ev of b.routing.findProvs(CID.parse(cid), { numProviders: 1 })) {
  if (ev.name === 'PROVIDER') out.provs.push(...ev.providers.map(p => p.id.toString()))
}
for await (const ev of b.routing.findPeer(peerA)) {
  if (ev.name === 'FINAL_PEER') out.peerAddrs = ev.peer.multiaddrs.map(String)
}
for await (const _ of a.routing.provide(CID.parse(cid))) { /* no events without verbose */ }
for await (const _ of b.routing.put(`/pk/${peerB}`, readFileSync(pubkeyFile))) { /* stored */ }
for await (const ev of a.routing.get(`/pk/${peerB}`)) {
  if (ev.name === 'VALUE') out.value = Buffer.from(ev.value).toString('base64')
}
console.log(JSON.stringify(out))
"""


def test_kubo_rpc_client_routing(net: dict, tmp_path: Path) -> None:
    ok, why = node_available()
    if not ok:
        pytest.skip(why)
    a, b = net["a"], net["b"]
    pk = tmp_path / "pk.bin"
    pk.write_bytes(b["pubkey"])
    r = subprocess.run(["node", "--input-type=module", "-e", JS, a["url"], b["url"], net["cid"],
                        a["peer_id"], b["peer_id"], str(pk)], cwd=HELIA_DIR, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["provs"] == [a["peer_id"]]
    assert any(x.startswith("/ip4/127.0.0.1/tcp/") for x in out["peerAddrs"])
    assert out["value"] == base64.b64encode(b["pubkey"]).decode()


def test_ipfshttpclient_dht(net: dict) -> None:
    import ipfshttpclient

    a, b = net["a"], net["b"]
    client = ipfshttpclient.Client(b["maddr"] + "/http")
    try:
        events = client.dht.findprovs(net["cid"])
        events = events if isinstance(events, list) else [events]
        provs = [r["ID"] for ev in events if ev["Type"] == 4 for r in ev["Responses"]]
        assert provs == [a["peer_id"]]
        found = client.dht.findpeer(a["peer_id"])  # one event: the client hands back that dict
        ev = found[-1] if isinstance(found, list) else found
        assert ev["Type"] == 2 and ev["Responses"][0]["ID"] == a["peer_id"]
    finally:
        client.close()
