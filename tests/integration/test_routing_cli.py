"""`jzfs routing …` and `jzfs stats provide|dht` as commands against real daemons (separate
processes, loopback only): output shapes, --json, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(env: dict, *args: str, rc: int = 0) -> str:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, timeout=120, text=True)
    assert r.returncode == rc, (args, r.stderr)
    assert "Traceback" not in r.stderr
    return r.stdout if rc == 0 else r.stderr


@pytest.fixture
def two(jzfs_daemon_factory):  # type: ignore[no-untyped-def]
    a = jzfs_daemon_factory("a")
    ida = json.loads(run(a["env"], "id", "--json"))
    b = jzfs_daemon_factory("b", config={"Peering.Peers": [
        {"ID": ida["ID"], "Addrs": [x.rsplit("/p2p/", 1)[0] for x in ida["Addresses"]]}]})
    return a, b, ida


def test_findpeer_stats_and_errors(two, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b, ida = two
    addrs = run(b["env"], "routing", "findpeer", ida["ID"]).split()
    assert addrs and all(x.startswith("/ip4/127.0.0.1/tcp/") for x in addrs)
    ev = json.loads(run(b["env"], "routing", "findpeer", "--json", ida["ID"]))
    assert ev["Type"] == 2 and ev["Responses"][0]["ID"] == ida["ID"]
    st = json.loads(run(a["env"], "stats", "provide", "--json"))
    assert st["Strategy"] == "roots" and "TotalProvides" in st and "QueueLength" in st
    assert "TotalProvides:" in run(a["env"], "stats", "provide")
    err = run(b["env"], "routing", "findpeer", "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", rc=1)
    assert err.startswith("Error:") and "not found" in err
    no_daemon = {**a["env"], "JZFS_PATH": str(tmp_path / "none")}
    assert "needs a running daemon" in run(no_daemon, "routing", "findprovs", "bafkqaaa", rc=1)
