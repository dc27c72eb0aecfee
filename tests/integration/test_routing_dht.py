"""Find and be found through the real DHT, as commands (daemons are separate processes on
127.0.0.1): A provides, C is a DHT server, B knows only C. `jzfs get CID` through B's daemon
finds A with no address typed; findprovs, stats dht, clone of a commit CID."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest


def run(env: dict, *args: str, rc: int = 0, timeout: float = 120) -> str:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, timeout=timeout, text=True)
    print(f"{time.monotonic() - t0:6.2f}s", *args[:3], file=sys.stderr)
    assert r.returncode == rc, (args, r.stderr)
    assert "Traceback" not in r.stderr
    return r.stdout


def addr_of(env: dict) -> str:
    return json.loads(run(env, "id", "--json"))["Addresses"][0]


@pytest.fixture
def abc(jzfs_daemon_factory):  # type: ignore[no-untyped-def]
    c = jzfs_daemon_factory("c", config={"Routing.Type": "dhtserver"})
    ca = addr_of(c["env"])
    a = jzfs_daemon_factory("a", config={"Bootstrap": [ca]})
    b = jzfs_daemon_factory("b", config={"Bootstrap": [ca]})
    return a, b, c


def wait_provided(env: dict, n: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = json.loads(run(env, "stats", "provide", "--json"))
        if st["TotalProvides"] >= n and st["QueueLength"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"not provided in {timeout}s: {st}")


def test_get_finds_provider_two_hops_away(abc, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b, c = abc
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    cid = run(a["env"], "add", "-Q", str(src)).strip()  # pinned -> queued -> announced to C
    wait_provided(a["env"])
    ida = json.loads(run(a["env"], "id", "--json"))["ID"]
    assert run(b["env"], "routing", "findprovs", "-n", "1", cid).split() == [ida]
    out = tmp_path / "out.bin"
    run(b["env"], "get", cid, "-o", str(out))  # no --peer, no swarm connect: routing
    assert out.read_bytes() == data
    # C's routing table holds A and B
    tables = [json.loads(x) for x in run(c["env"], "stats", "dht", "--json").splitlines()]
    ids = {p["ID"] for t in tables for bk in t["Buckets"] for p in bk["Peers"]}
    assert ida in ids
    assert "DHT wan" in run(c["env"], "stats", "dht")


def test_cat_and_pin_add_and_clone_of_a_commit(abc, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = abc
    data = os.urandom(600_000)
    src = tmp_path / "g.bin"
    src.write_bytes(data)
    cid = run(a["env"], "add", "-Q", str(src)).strip()
    d = tmp_path / "ds"
    d.mkdir()
    (d / "x.csv").write_bytes(b"k,v\n" * 5000)
    run(a["env"], "repo", "create", "ds")
    commit = run(a["env"], "commit", "ds", str(d), "-b", "main", "-m", "one", "-Q").strip()
    wait_provided(a["env"], 3)  # the file's root, the commit and its tree's root
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", "cat", cid], env=b["env"],
                       capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout == data, r.stderr
    assert run(b["env"], "pin", "add", cid) == f"pinned {cid} recursively\n"
    run(b["env"], "clone", commit, "copy")  # a commit CID: providers through B's daemon
    out = tmp_path / "co"
    run(b["env"], "checkout", "copy@main", "-o", str(out))
    assert (out / "x.csv").read_bytes() == b"k,v\n" * 5000
