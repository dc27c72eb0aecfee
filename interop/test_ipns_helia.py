"""IPNS between jzfs and real JS (npm `ipns` 10.1.6, `@helia/ipns` 10.1.0, `@helia/verified-fetch`),
loopback only (interop/helia/ipns_tool.mjs):

- records made by jzfs (V1+V2, V2-only, RSA) pass npm `ipns`'s validator; broken ones fail it as
  they fail ours, and records made by npm `ipns` pass ours;
- a name published by a jzfs daemon resolves in @helia/ipns through the daemon's /routing/v1;
- a name published by @helia/ipns (through Helia's own delegated-routing server) resolves in
  `jzfs name resolve` (Routing.DelegatedRouters);
- a Helia verified-fetch of ipns://NAME/path resolves the name through our /routing/v1 and
  fetches every block, verified, from our trustless gateway.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jzfs_interop.helia import HELIA_DIR, node_available

from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, IpnsEntry, create_record, validate_record
from jiaozi_node.repo import Repo

ok, why = node_available()
pytestmark = [pytest.mark.skipif(not ok, reason=why), pytest.mark.timeout(300)]
TOOL = HELIA_DIR / "ipns_tool.mjs"


def tool(*args: str, timeout: float = 90) -> dict:
    r = subprocess.run(["node", str(TOOL), *args], cwd=str(HELIA_DIR), capture_output=True,
                       timeout=timeout)
    lines = r.stdout.decode().strip().splitlines()
    assert lines, r.stderr.decode()[-2000:]
    res = json.loads(lines[-1])
    assert "error" not in res, res["error"] + "\n" + r.stderr.decode()[-2000:]
    return res


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def jz(env: dict, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode().strip()


def _cases() -> list[tuple[str, IpnsName, bytes, bool]]:
    now = time.time()
    ed, rsa = PrivateKey.generate("ed25519"), PrivateKey.generate("rsa")
    n_ed, n_rsa = IpnsName.from_public_key(ed.public_key), IpnsName.from_public_key(rsa.public_key)
    mk = lambda k, **kw: create_record(k, b"/ipfs/bafkqaaa", **{"seq": 5, "eol_ns": int((now + 86400) * NS),  # noqa: E731
                                                                   "ttl_ns": 60 * NS, **kw})
    good = mk(ed)
    e = IpnsEntry.decode(good)
    bad_sig = IpnsEntry(**{**e.__dict__, "signature_v2": bytes([e.signature_v2[0] ^ 1]) + e.signature_v2[1:]}).encode()
    mismatch = IpnsEntry(**{**e.__dict__, "value": b"/ipfs/bafkqaab"}).encode()
    return [("v1+v2", n_ed, good, True), ("v2-only", n_ed, mk(ed, v1_compatible=False), True),
            ("rsa", n_rsa, mk(rsa), True), ("expired", n_ed, mk(ed, eol_ns=int((now - 5) * NS)), False),
            ("bad-signature", n_ed, bad_sig, False), ("v1-v2-mismatch", n_ed, mismatch, False),
            ("wrong-name", n_rsa, good, False),
            ("oversize", n_ed, good + b"\x5a\x80\x50" + b"x" * 10240, False)]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_js_ipns_agrees_with_ours(case):
    label, name, raw, valid = case
    ours = True
    try:
        validate_record(name, raw, now=time.time())
    except ValueError:
        ours = False
    theirs = tool("validate", b64(name.routing_key), b64(raw))["ok"]
    assert ours == theirs == valid, label


@pytest.mark.parametrize("v", ["v1", "v2"])
def test_js_made_records_validate_here(v):
    res = tool("create", "/ipfs/bafkqaaa", "7", "600000", v)
    name = IpnsName.parse(res["name"])
    assert name.routing_key == base64.b64decode(res["routing_key_b64"])
    rec = validate_record(name, base64.b64decode(res["record_b64"]), now=time.time())
    assert rec.value == b"/ipfs/bafkqaaa" and rec.sequence == 7


@pytest.fixture
def site(tmp_path: Path) -> Path:
    d = tmp_path / "site"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "a.txt").write_bytes(b"hello from jzfs over ipns\n")
    (d / "big.bin").write_bytes(hashlib.shake_128(b"ipns-interop").digest(3 * 1024 * 1024))
    return d


def test_helia_resolves_and_fetches_a_jzfs_name(jzfs_daemon_factory, site):
    a = jzfs_daemon_factory("a")
    root = jz(a["env"], "--offline", "add", "-r", "-Q", str(site))
    name = jz(a["env"], "name", "publish", "--allow-offline", "-Q", root)
    assert tool("resolve", a["gateway"], name)["value"] == f"/ipfs/{root}"
    res = tool("fetch", a["gateway"], a["gateway"], f"{name}/sub/a.txt")
    assert res["status"] == 200 and base64.b64decode(res["body_b64"]) == b"hello from jzfs over ipns\n"
    big = tool("fetch", a["gateway"], a["gateway"], f"{name}/big.bin")
    assert big["sha256"] == hashlib.sha256((site / "big.bin").read_bytes()).hexdigest()
    # a new version is seen by Helia too
    (site / "sub" / "a.txt").write_bytes(b"v2\n")
    root2 = jz(a["env"], "--offline", "add", "-r", "-Q", str(site))
    jz(a["env"], "name", "publish", "--allow-offline", root2)
    assert tool("resolve", a["gateway"], name)["value"] == f"/ipfs/{root2}"


def test_jzfs_resolves_a_helia_published_name(tmp_path):
    from jzfs_interop.helia_routing import HeliaRouting

    with HeliaRouting() as hr:
        url = hr.serve()
        pub = tool("publish", url, "/ipfs/bafkqaaa")
        repo = tmp_path / "r"
        Repo.init(repo).set_config("Routing.DelegatedRouters", [url])
        env = {**os.environ, "JZFS_PATH": str(repo)}
        assert jz(env, "name", "resolve", f"/ipns/{pub['name']}") == "/ipfs/bafkqaaa"


def _publish_when_dht_ready(env: dict, value: str, *, deadline_s: float = 30) -> str:
    end = time.time() + deadline_s
    while True:  # the DHT tables fill in the first seconds after start
        r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", "name", "publish", "-Q", value],
                           env=env, capture_output=True, timeout=120)
        if r.returncode == 0:
            return r.stdout.decode().strip()
        assert time.time() < end, r.stderr.decode()
        time.sleep(0.5)


def _swarm_addr(d: dict) -> str:
    info = json.loads(jz(d["env"], "id"))
    return next(a for a in info["Addresses"] if "/tcp/" in a)


def test_helia_resolves_a_jzfs_name_over_the_dht(jzfs_daemon_factory):
    """A (jzfs) publishes to the DHT; C (jzfs) is the DHT server both know; @helia/ipns with
    @libp2p/kad-dht, knowing only C, resolves the name."""
    c = jzfs_daemon_factory("c", {"Routing.Type": "dhtserver"})
    a = jzfs_daemon_factory("a", {"Routing.Type": "dhtserver", "Bootstrap": [_swarm_addr(c)]})
    name = _publish_when_dht_ready(a["env"], "/ipfs/bafkqaaa")
    res = tool("resolve-dht", _swarm_addr(c), name)
    assert res["value"] == "/ipfs/bafkqaaa"


KUBO_RPC_JS = r"""
import { create } from 'kubo-rpc-client'
const ipfs = create({ url: process.argv[1] })
const out = {}
const added = await ipfs.add('hello ipns via kubo-rpc-client')
out.cid = added.cid.toString()
out.gen = await ipfs.key.gen('site', { type: 'ed25519' })
out.list = await ipfs.key.list()
out.pub = await ipfs.name.publish(added.cid, { key: 'site', allowOffline: true, lifetime: '2h', ttl: '1m' })
out.resolved = []
for await (const p of ipfs.name.resolve(`/ipns/${out.pub.name}`)) out.resolved.push(p)
const parts = []
for await (const c of ipfs.cat(`/ipns/${out.pub.name}`)) parts.push(c)
out.cat = Buffer.concat(parts).toString()
out.renamed = await ipfs.key.rename('site', 'site2')
out.rm = await ipfs.key.rm('site2')
console.log(JSON.stringify(out, (k, v) => typeof v === 'object' && v?.toString && v.constructor?.name === 'CID' ? v.toString() : v))
"""


def test_kubo_rpc_client_name_and_key(jzfs_daemon_factory):
    d = jzfs_daemon_factory("rpc")
    api = d["api"]
    r = subprocess.run(["node", "--input-type=module", "-e", KUBO_RPC_JS, api], cwd=HELIA_DIR,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    name = out["gen"]["id"]
    assert out["gen"]["name"] == "site" and name.startswith("k51")
    assert [k["name"] for k in out["list"]] == ["self", "site"]
    assert out["pub"] == {"name": name, "value": f"/ipfs/{out['cid']}"}
    assert out["resolved"] == [f"/ipfs/{out['cid']}"]
    assert out["cat"] == "hello ipns via kubo-rpc-client"
    assert out["renamed"]["was"] == "site" and out["renamed"]["now"] == "site2"
    assert out["rm"]["name"] == "site2" and out["rm"]["id"] == name


def test_jzfs_resolves_a_helia_name_from_the_dht(jzfs_daemon_factory):
    """@helia/ipns + kad-dht publishes to the DHT knowing only C (jzfs DHT server); B (jzfs),
    knowing only C too, resolves it."""
    c = jzfs_daemon_factory("c", {"Routing.Type": "dhtserver"})
    b = jzfs_daemon_factory("b", {"Routing.Type": "dhtserver", "Bootstrap": [_swarm_addr(c)]})
    name = tool("publish-dht", _swarm_addr(c), "/ipfs/bafkqaaa")["name"]
    assert jz(b["env"], "name", "resolve", f"/ipns/{name}") == "/ipfs/bafkqaaa"
