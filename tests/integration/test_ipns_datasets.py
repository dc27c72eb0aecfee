"""Datasets under a name, with real processes on 127.0.0.1: A publishes a dataset (`jzfs publish`,
`commit --publish`); B clones, pulls, logs and checks out `/ipns/NAME` finding everything through
routing (A's /routing/v1 as B's delegated router: no multiaddr typed); every commit signature and
the manifest are checked against B's trust settings; a name moved back to an older head is
reported and not applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jiaozi_node.repo import Repo

pytestmark = pytest.mark.timeout(240)


def jz(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"jzfs {' '.join(args)} failed: {r.stderr.decode()}")
    return r


def out(env: dict, *args: str) -> str:
    return jz(env, *args).stdout.decode().strip()


def test_publish_clone_pull_log_checkout(jzfs_daemon_factory, tmp_path: Path):
    a = jzfs_daemon_factory("a")
    ea = {**a["env"]}
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.csv").write_text("day,temp\n1,20\n")
    out(ea, "repo", "create", "weather")
    c1 = out(ea, "commit", "weather", str(data), "-b", "main", "-m", "first", "-Q")
    pub = json.loads(out(ea, "publish", "weather", "--json"))
    name = pub["Name"]
    assert pub["Refs"] == {"heads/main": c1}
    keys = json.loads(out(ea, "key", "list", "--json"))["Keys"]
    assert {"Name": "dataset-weather", "Id": name} in keys

    b_path = tmp_path / "b"
    rb = Repo.init(b_path)
    rb.set_config("Routing.Type", "delegated")
    rb.set_config("Routing.DelegatedRouters", [a["gateway"]])
    eb = {**os.environ, "JZFS_PATH": str(b_path)}
    res = json.loads(out(eb, "clone", f"/ipns/{name}", "w2", "--json"))
    assert res["Applied"]["heads/main"] == c1 and res["NewCommits"] == 1
    assert out(eb, "log", "w2@main", "--json").count(c1) == 1
    out(eb, "checkout", "w2@main", "-o", str(tmp_path / "co1"))
    assert (tmp_path / "co1" / "t.csv").read_text() == "day,temp\n1,20\n"

    # A commits again and republishes with --publish; B pulls, logs and checks out by name
    (data / "t.csv").write_text("day,temp\n1,20\n2,21\n")
    c2 = jz(ea, "commit", "weather", str(data), "-b", "main", "-m", "second", "-Q", "--publish")
    c2 = c2.stdout.decode().strip()
    direct = out(ea, "pin", "ls", "--type", "direct").splitlines()
    assert len(direct) == 1, direct  # only the current manifest stays pinned
    pulled = json.loads(out(eb, "pull", f"/ipns/{name}", "w2", "--json"))
    assert pulled["Branches"]["main"] == {"Result": "fast-forward", "Cid": c2}
    assert out(eb, "pull", "origin", "w2").endswith(f"main: up-to-date ({c2})")  # saved by clone
    log = json.loads(out(eb, "log", f"/ipns/{name}@main", "--json"))
    assert [e["cid"] for e in log] == [c2, c1]
    out(eb, "checkout", f"/ipns/{name}@main", "-o", str(tmp_path / "co2"))
    assert (tmp_path / "co2" / "t.csv").read_text().endswith("2,21\n")

    # The name is moved back to the older head (A resets its branch and republishes): reported
    from jiaozi_node.ipld.cid import CID
    from jiaozi_node.node import Node

    with Node(Repo.open(Path(ea["JZFS_PATH"]))) as node:
        node.versioning.refs.update_ref("weather", "heads/main", CID.decode(c1), expected=CID.decode(c2))
    out(ea, "publish", "weather")
    r = jz(eb, "fetch", f"/ipns/{name}", "w2", check=False)
    assert r.returncode == 1 and "older commit" in r.stderr.decode()
    assert out(eb, "log", "w2@main", "-n", "1", "--json").count(c2) == 1  # not moved back


def test_untrusted_publisher_refused_for_fetch(jzfs_daemon_factory, tmp_path: Path):
    a = jzfs_daemon_factory("a")
    ea = a["env"]
    data = tmp_path / "data"
    data.mkdir()
    (data / "x").write_text("x")
    out(ea, "repo", "create", "ds")
    out(ea, "commit", "ds", str(data), "-b", "main", "-m", "m")
    name = json.loads(out(ea, "publish", "ds", "--json"))["Name"]
    b_path = tmp_path / "b"
    rb = Repo.init(b_path)
    rb.set_config("Routing.Type", "delegated")
    rb.set_config("Routing.DelegatedRouters", [a["gateway"]])
    eb = {**os.environ, "JZFS_PATH": str(b_path)}
    out(eb, "repo", "create", "mine")
    r = jz(eb, "fetch", f"/ipns/{name}", "mine", check=False)
    assert r.returncode == 1 and "untrusted" in r.stderr.decode()
    r = jz(eb, "log", f"/ipns/{name}@main", check=False)
    assert r.returncode == 1 and "untrusted" in r.stderr.decode()
    # a clone that fails (the repo exists here) leaves no new trusted key behind
    trusted = json.loads(out(eb, "trust", "list", "--json"))
    r = jz(eb, "clone", f"/ipns/{name}", "mine", check=False)
    assert r.returncode == 1 and "already exists" in r.stderr.decode()
    assert json.loads(out(eb, "trust", "list", "--json")) == trusted
