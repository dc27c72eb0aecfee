"""Find and be found through the real DHT, as commands (daemons are separate processes on
127.0.0.1): A provides, C is a DHT server, B knows only C. `jzfs get CID` through B's daemon
finds A with no address typed; findprovs, stats dht, clone, pull and fetch of a commit CID."""

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


def test_find_and_fetch_two_hops_away_with_no_address(abc, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One network for every command (three daemons take ~10 s to start)."""
    a, b, c = abc
    ida = json.loads(run(a["env"], "id", "--json"))["ID"]
    # get: the file's provider A is found through C
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    cid = run(a["env"], "add", "-Q", str(src)).strip()  # pinned -> queued -> announced to C
    wait_provided(a["env"])
    assert run(b["env"], "routing", "findprovs", "-n", "1", cid).split() == [ida]
    out = tmp_path / "out.bin"
    run(b["env"], "get", cid, "-o", str(out))  # no --peer, no swarm connect: routing
    assert out.read_bytes() == data
    # C's routing table holds A
    tables = [json.loads(x) for x in run(c["env"], "stats", "dht", "--json").splitlines()]
    assert ida in {p["ID"] for t in tables for bk in t["Buckets"] for p in bk["Peers"]}
    assert "DHT wan" in run(c["env"], "stats", "dht")

    # cat and pin add of other content
    data2 = os.urandom(600_000)
    src2 = tmp_path / "g.bin"
    src2.write_bytes(data2)
    cid2 = run(a["env"], "add", "-Q", str(src2)).strip()
    # a dataset commit (made in the CLI process: the daemon's provider picks it up from the queue)
    d = tmp_path / "ds"
    d.mkdir()
    (d / "x.csv").write_bytes(b"k,v\n" * 5000)
    run(a["env"], "repo", "create", "ds")
    commit = run(a["env"], "commit", "ds", str(d), "-b", "main", "-m", "one", "-Q").strip()
    wait_provided(a["env"], 4)  # + the file, the commit and its tree's root
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", "cat", cid2], env=b["env"],
                       capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout == data2, r.stderr
    assert run(b["env"], "pin", "add", cid2) == f"pinned {cid2} recursively\n"

    # clone of a commit CID, then pull of a newer commit CID
    run(b["env"], "clone", commit, "copy")  # providers through B's daemon
    # the same with no daemon: a short-lived node (the lean LiteHost: Bootstrap is plain TCP)
    # whose DHT bootstraps from C; py-libp2p is never imported
    from jiaozi_node.repo import Repo

    Repo.init(tmp_path / "e").set_config("Bootstrap", [addr_of(c["env"])])
    e_env = {**os.environ, "JZFS_PATH": str(tmp_path / "e")}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "jiaozi_node.cli.main", "clone",
                        commit, "copy"], env=e_env, capture_output=True, timeout=120, text=True)
    assert r.returncode == 0 and "cloned copy" in r.stdout, r.stderr[-3000:]
    assert not [ln for ln in r.stderr.splitlines() if ln.rsplit("|", 1)[-1].strip().startswith("libp2p")]
    assert "import time:" in r.stderr
    co = tmp_path / "co"
    run(b["env"], "checkout", "copy@main", "-o", str(co))
    assert (co / "x.csv").read_bytes() == b"k,v\n" * 5000
    (d / "y.csv").write_bytes(b"z\n")
    before = json.loads(run(a["env"], "stats", "provide", "--json"))["TotalProvides"]
    commit2 = run(a["env"], "commit", "ds", str(d), "-b", "main", "-m", "two", "-Q").strip()
    wait_provided(a["env"], before + 1)
    pulled = json.loads(run(b["env"], "pull", commit2, "copy", "--json"))
    assert pulled["Branches"]["main"] == {"Result": "fast-forward", "Cid": commit2}

    # fetch of a newer commit CID: its history arrives, the branch stays, a routing ref moves
    (d / "z.csv").write_bytes(b"w\n")
    before = json.loads(run(a["env"], "stats", "provide", "--json"))["TotalProvides"]
    commit3 = run(a["env"], "commit", "ds", str(d), "-b", "main", "-m", "three", "-Q").strip()
    wait_provided(a["env"], before + 1)
    fetched = json.loads(run(b["env"], "fetch", commit3, "copy", "--json"))
    assert fetched["Peer"] == "routing" and fetched["NewCommits"] == 1, fetched
    assert fetched["Refs"] == {"commit": commit3} and fetched["FetchedBlocks"] > 0
    assert json.loads(run(b["env"], "branch", "list", "copy", "--json"))["main"] == commit2
    assert "Branches" not in fetched
    co3 = tmp_path / "co3"
    run(b["env"], "checkout", f"copy@remotes/routing/{commit3[-12:]}", "-o", str(co3))
    assert (co3 / "z.csv").read_bytes() == b"w\n" and (co3 / "y.csv").read_bytes() == b"z\n"
