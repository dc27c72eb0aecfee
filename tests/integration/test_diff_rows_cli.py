"""`jzfs diff NAME@A NAME@B --rows PATH [--key COL]` as a user runs it (subprocess, real repo,
content-defined chunks): the same row diff the web UI shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

JZFS = [sys.executable, "-m", "jiaozi_node.cli.main"]


def _run(repo, *args):
    env = dict(os.environ, JZFS_PATH=str(repo))
    return subprocess.run([*JZFS, *args], env=env, capture_output=True, text=True, timeout=120)


def test_diff_rows_by_position_and_key(tmp_path):
    repo = tmp_path / "repo"
    assert _run(repo, "init").returncode == 0
    assert _run(repo, "config", "Versioning.Chunker", "rabin-2048-8192-32768").returncode == 0
    assert _run(repo, "repo", "create", "ds").returncode == 0
    data = tmp_path / "d"
    data.mkdir()
    rows = [["id", "name", "price"]] + [[str(i), f"item {i}", f"{i * 1.5:.1f}"] for i in range(50_000)]
    write = lambda rs: (data / "t.csv").write_text("".join(",".join(r) + "\n" for r in rs))  # noqa: E731
    write(rows)
    assert _run(repo, "commit", "ds", str(data), "-b", "main", "-m", "v1").returncode == 0
    assert _run(repo, "tag", "create", "ds", "v1", "--from", "main").returncode == 0
    rows[20_001][2] = "0.0"          # id 20000 changes price
    del rows[30_001]                 # id 30000 removed
    rows.insert(40_000, ["x1", '"new, with comma"', "9"])  # a quoted field
    write(rows)
    assert _run(repo, "commit", "ds", str(data), "-b", "main", "-m", "v2").returncode == 0

    r = _run(repo, "diff", "ds@v1", "ds@main", "--rows", "t.csv", "--key", "id", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    got = {(c["op"], c["key"]) for c in out["changes"]}
    assert got == {("changed", "20000"), ("removed", "30000"), ("added", "x1")}
    changed = next(c for c in out["changes"] if c["op"] == "changed")
    assert changed["cells"] == {"price": ["30000.0", "0.0"]}
    assert out["counts"] == {"added": 1, "removed": 1, "changed": 1}
    assert out["stats"]["leaves_equal"] > 0.8 * out["stats"]["leaves_a"]  # cost follows the change

    r = _run(repo, "diff", "ds@v1", "ds@main", "--rows", "t.csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(ln.startswith("~ @") and "price: '30000.0' -> '0.0'" in ln for ln in lines)
    assert any(ln.startswith("- @") and ln.endswith("30000,item 30000,45000.0") for ln in lines)
    assert any(ln.startswith("+ @") and ln.endswith('x1,"new, with comma",9') for ln in lines)
    assert "3 rows: 1 added, 1 removed, 1 changed" in r.stderr

    r = _run(repo, "diff", "ds@v1", "ds@main", "--rows", "t.csv", "--key", "nope")
    assert r.returncode == 1 and r.stderr.startswith("Error: no column named 'nope'")

    # with a daemon running, the same command runs in it (RPC jzfs/diff/rows) and prints the same
    for key, value in (("Addresses.API", "/ip4/127.0.0.1/tcp/0"), ("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")):
        assert _run(repo, "config", key, value).returncode == 0
    assert _run(repo, "config", "--json", "Addresses.Swarm", '["/ip4/127.0.0.1/tcp/0"]').returncode == 0
    env = dict(os.environ, JZFS_PATH=str(repo))
    daemon = subprocess.Popen([*JZFS, "daemon"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in daemon.stdout:
            if "Daemon is ready" in line:
                break
        offline = _run(repo, "--offline", "diff", "ds@v1", "ds@main", "--rows", "t.csv", "--key", "id", "--json")
        online = _run(repo, "diff", "ds@v1", "ds@main", "--rows", "t.csv", "--key", "id", "--json")
        assert online.returncode == 0, online.stderr
        assert json.loads(online.stdout) == json.loads(offline.stdout)
        text = _run(repo, "diff", "ds@v1", "ds@main", "--rows", "t.csv")
        assert "price: '30000.0' -> '0.0'" in text.stdout and "3 rows:" in text.stderr
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
