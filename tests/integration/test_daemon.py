"""`jzfs daemon` as a subprocess: ready line, its files, live `jzfs id`, a peer can dial it,
a second daemon is refused, SIGTERM / SIGINT shut it down cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from jiaozi_node.identity import Identity
from jiaozi_node.net.libp2p_host import Libp2pHost

JZFS = [sys.executable, "-m", "jiaozi_node.cli.main"]


def _run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, JZFS_PATH=str(repo))
    return subprocess.run([*JZFS, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=check)


@pytest.fixture
def repo(tmp_path) -> Path:
    path = tmp_path / "repo"
    _run(path, "init")
    # free ports everywhere: tests run in parallel with other daemons
    _run(path, "config", "Addresses.API", "/ip4/127.0.0.1/tcp/0")
    _run(path, "config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    _run(path, "config", "--json", "Addresses.Swarm", '["/ip4/127.0.0.1/tcp/0"]')
    return path


class Daemon:
    def __init__(self, repo: Path, *args: str) -> None:
        env = dict(os.environ, JZFS_PATH=str(repo), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([*JZFS, "daemon", *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Daemon is ready"):
                return
        self.proc.kill()
        raise AssertionError(f"daemon never got ready: {self.lines} {self.proc.stderr.read()}")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return rc, self.proc.stderr.read()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_daemon_ready_files_and_clean_shutdown(repo, sig):
    d = Daemon(repo)
    try:
        peer_id = json.loads((repo / "config").read_text())["Identity"]["PeerID"]
        assert f"Peer ID: {peer_id}" in d.lines
        swarm = [ln.split()[-1] for ln in d.lines if ln.startswith("Swarm listening on ")]
        assert swarm and all(a.startswith("/ip4/127.0.0.1/tcp/") for a in swarm)
        info = json.loads((repo / "daemon.json").read_text())
        assert info["ID"] == peer_id and info["PID"] == d.proc.pid
        assert info["Addresses"] == [f"{a}/p2p/{peer_id}" for a in swarm]
        if info["API"]:  # the RPC API service is registered: Kubo's $IPFS_PATH/api file
            assert (repo / "api").read_text() == info["API"]
        out = json.loads(_run(repo, "id", "--json").stdout)
        assert out["ID"] == peer_id and out["Addresses"] == info["Addresses"]
        assert out["AgentVersion"].startswith("jzfs/") and "/ipfs/ping/1.0.0" in out["Protocols"]
        second = _run(repo, "daemon", check=False)
        assert second.returncode == 1 and "already running" in second.stderr
    finally:
        rc, err = d.stop(sig)
    assert rc == 0, err
    assert "shutting down" in err and "Traceback" not in err
    assert not (repo / "daemon.json").exists() and not (repo / "api").exists()
    # offline `jzfs id` again: no addresses
    assert json.loads(_run(repo, "id", "--json").stdout)["Addresses"] == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_daemon_listen_flag_and_a_peer_dials_it(repo):
    ports = [_free_port(), _free_port()]
    d = Daemon(repo, *(x for p in ports for x in ("--listen", f"/ip4/127.0.0.1/tcp/{p}")))
    try:
        info = json.loads((repo / "daemon.json").read_text())
        assert sorted(int(a.split("/")[4]) for a in info["Addresses"]) == sorted(ports)

        async def dial() -> dict:
            host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
            async with trio.open_nursery() as nursery:
                await nursery.start(host.run)
                with trio.fail_after(20):
                    peer = await host.connect(info["Addresses"][1])
                    ident = await host.identify(peer)
                    rtt = await host.ping(peer)
                nursery.cancel_scope.cancel()
            return {"peer": peer, "ident": ident, "rtt": rtt}

        res = trio.run(dial)
        assert res["peer"] == info["ID"] and res["ident"]["AgentVersion"].startswith("jzfs/")
        assert res["rtt"][0] > 0
    finally:
        rc, err = d.stop()
    assert rc == 0, err


def test_stale_daemon_file_is_ignored(repo):
    # a daemon that was killed -9 leaves daemon.json behind; its PID is gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (repo / "daemon.json").write_text(json.dumps({"ID": "x", "PID": dead.pid, "Addresses": ["/x"]}))
    (repo / "api").write_text("/ip4/127.0.0.1/tcp/1")
    out = json.loads(_run(repo, "id", "--json").stdout)
    assert out["Addresses"] == []
    assert not (repo / "daemon.json").exists() and not (repo / "api").exists()
    swarm = _run(repo, "swarm", "peers", check=False)
    assert swarm.returncode == 1 and "needs a running daemon" in swarm.stderr


def test_swarm_commands_through_the_rpc_api(tmp_path):
    repos = []
    for name in ("a", "b"):
        path = tmp_path / name
        _run(path, "init")
        _run(path, "config", "Addresses.API", "/ip4/127.0.0.1/tcp/0")
        _run(path, "config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
        _run(path, "config", "--json", "Addresses.Swarm", '["/ip4/127.0.0.1/tcp/0"]')
        repos.append(path)
    a, b = (Daemon(p) for p in repos)
    try:
        if not (repos[0] / "api").exists():
            pytest.fail("the daemon wrote no api file: RPC API service missing")
        b_info = json.loads((repos[1] / "daemon.json").read_text())
        out = _run(repos[0], "swarm", "connect", b_info["Addresses"][0])
        assert out.stdout.strip() == f"connect {b_info['ID']} success"
        peers = json.loads(_run(repos[0], "swarm", "peers", "--json").stdout)
        assert [p["Peer"] for p in peers["Peers"]] == [b_info["ID"]]
        local = _run(repos[1], "swarm", "addrs", "local", "--id").stdout.split()
        assert local == b_info["Addresses"]
        remote = json.loads(_run(repos[0], "id", b_info["ID"], "--json").stdout)
        assert remote["ID"] == b_info["ID"] and remote["AgentVersion"].startswith("jzfs/")
        out = _run(repos[0], "swarm", "disconnect", b_info["ID"])
        assert out.stdout.strip() == f"disconnect {b_info['ID']} success"
        assert json.loads(_run(repos[0], "swarm", "peers", "--json").stdout)["Peers"] in ([], None)
        out = _run(repos[0], "swarm", "connect", "--json", b_info["Addresses"][0])
        assert json.loads(out.stdout) == {"Strings": [f"connect {b_info['ID']} success"]}
    finally:
        for d in (a, b):
            rc, err = d.stop()
            assert rc == 0, err


def _start_fails(repo: Path, *args: str) -> str:
    """`jzfs daemon ARGS` must exit 1 with one `Error:` line, never get ready, leave no files."""
    res = _run(repo, "daemon", *args, check=False)
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "Daemon is ready" not in res.stdout
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert not (repo / "daemon.json").exists() and not (repo / "api").exists()
    return lines[0]


def test_bad_or_unbindable_addresses_are_one_line_errors(repo):
    err = _start_fails(repo, "--listen", "garbage")
    assert "--listen" in err and "garbage" in err
    err = _start_fails(repo, "--listen", "/ip4/127.0.0.1/udp/4001/quic-v1")
    assert "unsupported listen address" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = _start_fails(repo, "--listen", f"/ip4/127.0.0.1/tcp/{port}")
        assert f"could not listen on /ip4/127.0.0.1/tcp/{port}" in err
        _run(repo, "config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{port}")
        err = _start_fails(repo)
        assert f"cannot listen on /ip4/127.0.0.1/tcp/{port}" in err
    _run(repo, "config", "Addresses.API", "/ip4/127.0.0.1/tcp/0")
    _run(repo, "config", "Addresses.Gateway", "garbage")
    err = _start_fails(repo)
    assert "config Addresses.Gateway" in err and "garbage" in err
    _run(repo, "config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    _run(repo, "config", "Addresses.API", "/ip4/127.0.0.1/udp/1")
    assert "config Addresses.API" in _start_fails(repo)
    _run(repo, "config", "Addresses.API", "/ip4/127.0.0.1/tcp/0")
    d = Daemon(repo)  # and with good addresses it starts
    rc, err = d.stop()
    assert rc == 0, err
