"""IPNS end to end with real processes on 127.0.0.1: a daemon publishes, its gateway serves
`/ipns/` (deserialized, trustless, `?format=ipns-record`), another repo with no daemon resolves
through that gateway (IPIP-351) and reads `/ipns/NAME/…` with cat/ls/get/dag get/pin add;
kubo-rpc-client-shaped RPC calls (`/api/v0/name/*`, `/api/v0/key/*`, `cat?arg=/ipns/…`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import validate_record
from jiaozi_node.repo import Repo

pytestmark = pytest.mark.timeout(120)


def jz(env: dict, *args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, input=stdin, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"jzfs {' '.join(args)} failed: {r.stderr.decode()}")
    return r


def out(env: dict, *args: str) -> str:
    return jz(env, *args).stdout.decode().strip()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    d = tmp_path / "site"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "a.txt").write_text("hello ipns\n")
    (d / "index.txt").write_text("v1\n")
    return d


def test_publish_gateway_and_remote_resolve(jzfs_daemon_factory, tree, tmp_path):
    a = jzfs_daemon_factory("a")
    env_a = a["env"]
    root = out(env_a, "--offline", "add", "-r", "-Q", str(tree))
    res = json.loads(out(env_a, "name", "publish", "--allow-offline", "--json", root))
    name = res["Name"]
    assert res["Value"] == f"/ipfs/{root}" and name.startswith("k51")
    assert out(env_a, "name", "resolve", f"/ipns/{name}") == f"/ipfs/{root}"
    assert out(env_a, "cat", f"/ipns/{name}/sub/a.txt") == "hello ipns"  # through the daemon

    gw = a["gateway"]
    r = httpx.get(f"{gw}/ipns/{name}/sub/a.txt")
    assert r.status_code == 200 and r.text == "hello ipns\n"
    assert "immutable" not in r.headers["cache-control"]
    assert r.headers["x-ipfs-path"] == f"/ipns/{name}/sub/a.txt"
    r = httpx.get(f"{gw}/ipns/{name}", params={"format": "ipns-record"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.ipfs.ipns-record"
    rec = validate_record(IpnsName.parse(name), r.content, now=time.time())
    assert rec.value == f"/ipfs/{root}".encode() and rec.sequence == 0
    (tmp_path / "r.ipns-record").write_bytes(r.content)
    shown = out(env_a, "name", "inspect", "--verify", name, str(tmp_path / "r.ipns-record"))
    assert f"Value:         /ipfs/{root}" in shown and "Valid:     true" in shown
    bad = jz(env_a, "name", "inspect", "--verify", "k51qzi5uqu5dlzz0lj92rvrl6e53mg1bkjjafhko5ri3kimptfluai3xhtmrt9",
             str(tmp_path / "r.ipns-record"), check=False)
    assert bad.returncode == 1 and b"Valid:     false" in bad.stdout
    r = httpx.get(f"{gw}/ipns/{name}/sub", params={"format": "car"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.ipld.car")
    assert httpx.get(f"{gw}/ipns/k51qzi5uqu5dlzz0lj92rvrl6e53mg1bkjjafhko5ri3kimptfluai3xhtmrt9").status_code in (404, 504)

    # RPC, as kubo-rpc-client calls it
    api = a["api"] + "/api/v0"
    assert httpx.post(f"{api}/name/resolve", params={"arg": name}).json() == {"Path": f"/ipfs/{root}"}
    assert httpx.post(f"{api}/cat", params={"arg": f"/ipns/{name}/index.txt"}).text == "v1\n"
    keys = httpx.post(f"{api}/key/list").json()["Keys"]
    assert keys[0] == {"Name": "self", "Id": name}
    gen = httpx.post(f"{api}/key/gen", params={"arg": "site", "type": "ed25519"}).json()
    assert gen["Name"] == "site" and gen["Id"].startswith("k51")

    # B: no daemon; resolves through A's trustless gateway (IPIP-351) and fetches the blocks there
    b_path = tmp_path / "b"
    Repo.init(b_path).set_config("Gateway.Fetch", [gw])
    env_b = {**os.environ, "JZFS_PATH": str(b_path)}
    assert out(env_b, "name", "resolve", f"/ipns/{name}") == f"/ipfs/{root}"
    assert out(env_b, "cat", f"/ipns/{name}/sub/a.txt") == "hello ipns"
    assert "a.txt" in out(env_b, "ls", f"/ipns/{name}/sub")
    out(env_b, "get", f"/ipns/{name}", "-o", str(tmp_path / "got"))
    assert (tmp_path / "got" / "sub" / "a.txt").read_text() == "hello ipns\n"
    subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", "get", f"/ipns/{name}/sub"],
                   env=env_b, cwd=tmp_path, check=True, capture_output=True, timeout=60)
    assert (tmp_path / "sub" / "a.txt").read_text() == "hello ipns\n"  # named as Kubo names it
    assert "Links" in out(env_b, "dag", "get", f"/ipns/{name}")
    assert "pinned" in out(env_b, "pin", "add", f"/ipns/{name}/sub")

    # a new version: sequence 1, seen by B once its cache is bypassed
    (tree / "index.txt").write_text("v2\n")
    root2 = out(env_a, "--offline", "add", "-r", "-Q", str(tree))
    out(env_a, "name", "publish", "--allow-offline", root2)
    assert out(env_b, "name", "resolve", f"/ipns/{name}") == f"/ipfs/{root}"  # cached (TTL 1h)
    assert out(env_b, "name", "resolve", "--nocache", f"/ipns/{name}") == f"/ipfs/{root2}"
    assert out(env_b, "name", "resolve", f"/ipns/{name}") == f"/ipfs/{root2}"  # cache updated


def test_offline_publish_needs_allow_offline_and_sequence_persists(tmp_path):
    repo = tmp_path / "r"
    Repo.init(repo)
    env = {**os.environ, "JZFS_PATH": str(repo)}
    cid = out(env, "add", "-Q", "--cid-version", "1", str(Path(__file__)))
    r = jz(env, "name", "publish", cid, check=False)
    assert r.returncode == 1 and "--allow-offline" in r.stderr.decode()
    line = out(env, "name", "publish", "--allow-offline", "--lifetime", "2h", "--ttl", "1m", cid)
    name = line.split()[2].rstrip(":")
    assert line == f"Published to {name}: /ipfs/{cid}"
    from jiaozi_node.ipns.name import IpnsName as N
    from jiaozi_node.ipns.store import IpnsStore

    def seq() -> int:
        st = IpnsStore.for_repo(Repo.open(repo))
        try:
            return validate_record(N.parse(name), st.published(N.parse(name)).record,
                                   now=time.time()).sequence
        finally:
            st.close()

    assert seq() == 0
    out(env, "name", "publish", "--allow-offline", cid)  # same value: same sequence, later EOL
    assert seq() == 0
    out(env, "name", "publish", "--allow-offline", "--v2-only", "bafkqaaa")
    assert seq() == 1
    out(env, "name", "publish", "--allow-offline", cid)
    assert seq() == 2


def test_key_commands(tmp_path):
    repo = tmp_path / "r"
    Repo.init(repo)
    env = {**os.environ, "JZFS_PATH": str(repo)}
    kid = out(env, "key", "gen", "blog")
    assert kid.startswith("k51")
    f = next((repo / "keystore").iterdir())
    assert f.stat().st_mode & 0o777 == 0o600 and (repo / "keystore").stat().st_mode & 0o777 == 0o700
    listing = json.loads(out(env, "key", "list", "--json"))
    assert [k["Name"] for k in listing["Keys"]] == ["self", "blog"]
    assert out(env, "key", "list") == "self\nblog"
    assert f"{kid} blog" in out(env, "key", "list", "-l")
    assert jz(env, "key", "gen", "blog", check=False).returncode == 1
    assert jz(env, "key", "rm", "self", check=False).returncode == 1
    for fmt, ext in (("libp2p-protobuf-cleartext", "key"), ("pem-pkcs8-cleartext", "pem")):
        dest = tmp_path / f"blog.{ext}"
        out(env, "key", "export", "blog", "-f", fmt, "-o", str(dest))
        assert dest.stat().st_mode & 0o777 == 0o600
        assert out(env, "key", "import", f"copy-{ext}", str(dest)) == kid
    assert "renamed" in out(env, "key", "rename", "copy-key", "other")
    assert out(env, "key", "rm", "other", "copy-pem") == "other\ncopy-pem"
    assert out(env, "key", "list") == "self\nblog"
    rsa = out(env, "key", "gen", "--type", "rsa", "old")
    assert rsa.startswith("k2k4r8")  # a hashed (sha2-256) name: the RSA key is not inlined


def test_dnslink_through_configured_resolver(tmp_path, tree):
    from jiaozi_node.testing.dns_server import LocalDns

    repo = tmp_path / "r"
    Repo.init(repo)
    env = {**os.environ, "JZFS_PATH": str(repo)}
    root = out(env, "add", "-r", "-Q", str(tree))
    name = out(env, "name", "publish", "--allow-offline", "-Q", root)
    records = {"_dnslink.example.org": [f"dnslink=/ipfs/{root}"],
               "_dnslink.named.test": [f"dnslink=/ipns/{name}/sub"],
               "_dnslink.loop-a.test": ["dnslink=/ipns/loop-b.test"],
               "_dnslink.loop-b.test": ["dnslink=/ipns/loop-a.test"]}
    r = jz(env, "name", "resolve", "/ipns/example.org", check=False)
    assert r.returncode == 1 and "DNS.Resolvers" in r.stderr.decode()  # nothing looked up by default
    with LocalDns(records) as dns:
        Repo.open(repo).set_config("DNS.Resolvers", {".": dns.url})
        assert out(env, "name", "resolve", "/ipns/example.org") == f"/ipfs/{root}"
        assert out(env, "cat", "/ipns/example.org/sub/a.txt") == "hello ipns"
        assert out(env, "cat", "/ipns/named.test/a.txt") == "hello ipns"  # DNSLink -> IPNS -> IPFS
        r = jz(env, "name", "resolve", "/ipns/loop-a.test", check=False)
        assert r.returncode == 1 and "loop" in r.stderr.decode()
        assert "_dnslink.example.org" in dns.queries


def test_resolve_through_delegated_routing(jzfs_daemon_factory, tree, tmp_path):
    """A publishes; B (daemon, Routing.Type delegated) and C (no daemon) resolve through A's
    /routing/v1/ipns endpoint, which answers from A's own records (ipns/router.py)."""
    a = jzfs_daemon_factory("a")
    root = out(a["env"], "--offline", "add", "-r", "-Q", str(tree))
    name = out(a["env"], "name", "publish", "--allow-offline", "-Q", root)
    r = httpx.get(f"{a['gateway']}/routing/v1/ipns/{name}",
                  headers={"Accept": "application/vnd.ipfs.ipns-record"})
    assert r.status_code == 200
    assert validate_record(IpnsName.parse(name), r.content, now=time.time()).value == f"/ipfs/{root}".encode()
    b = jzfs_daemon_factory("b", {"Routing.Type": "delegated", "Routing.DelegatedRouters": [a["gateway"]]})
    assert out(b["env"], "name", "resolve", f"/ipns/{name}") == f"/ipfs/{root}"
    c_path = tmp_path / "c"
    repo = Repo.init(c_path)
    repo.set_config("Routing.DelegatedRouters", [a["gateway"]])
    env_c = {**os.environ, "JZFS_PATH": str(c_path)}
    assert out(env_c, "name", "resolve", f"/ipns/{name}") == f"/ipfs/{root}"


def _swarm_addr(d: dict) -> str:
    info = json.loads(jz(d["env"], "id").stdout)
    addrs = [a for a in info["Addresses"] if "/tcp/" in a]
    assert addrs, info
    return addrs[0]


def test_publish_and_resolve_over_the_dht(jzfs_daemon_factory, tree):
    """A publishes with no --allow-offline: the record goes to the DHT (C is the DHT server
    both know); B, knowing only C, resolves it with a DHT GET — two hops, no address of A."""
    dht = {"Routing.Type": "dhtserver"}
    c = jzfs_daemon_factory("c", dht)
    boot = [_swarm_addr(c)]
    a = jzfs_daemon_factory("a", {**dht, "Bootstrap": boot})
    b = jzfs_daemon_factory("b", {**dht, "Bootstrap": boot})
    root = out(a["env"], "--offline", "add", "-r", "-Q", str(tree))
    deadline = time.time() + 30
    while True:  # the DHT tables fill in the first seconds after start
        r = jz(a["env"], "name", "publish", "--json", root, check=False)
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r.returncode == 0, r.stderr.decode()
    name = json.loads(r.stdout)["Name"]
    assert out(b["env"], "name", "resolve", f"/ipns/{name}") == f"/ipfs/{root}"
    assert out(c["env"], "name", "resolve", "--nocache", f"/ipns/{name}") == f"/ipfs/{root}"


def test_daemon_republishes_with_a_fresh_eol(jzfs_daemon_factory, tree):
    """Ipns.RepublishPeriod: the daemon re-signs its records (same value and sequence, later EOL)."""
    a = jzfs_daemon_factory("a", {"Ipns.RepublishPeriod": "1s", "Ipns.RecordLifetime": "1h"})
    root = out(a["env"], "--offline", "add", "-r", "-Q", str(tree))
    name = out(a["env"], "name", "publish", "--allow-offline", "-Q", root)

    def current():
        r = httpx.get(f"{a['gateway']}/ipns/{name}", params={"format": "ipns-record"})
        return validate_record(IpnsName.parse(name), r.content, now=time.time())

    first = current()
    deadline = time.time() + 20
    while True:
        time.sleep(0.5)
        again = current()
        if again.validity_ns > first.validity_ns or time.time() > deadline:
            break
    assert again.validity_ns > first.validity_ns and again.sequence == first.sequence
    assert again.value == first.value
