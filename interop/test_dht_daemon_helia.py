"""The issue's two DHT topologies as a user runs them: `jzfs daemon`s and the `jzfs` CLI with
real Helia 7 + @libp2p/kad-dht peers (loopback only), no address given to any command.

1. Helia A adds and provides a file; Helia C is a DHT server; the jzfs daemon B has only
   `Bootstrap = [C]`. `jzfs get CID` on B finds A through C and fetches it: bytes equal.
2. `jzfs add` on the daemon B (Bootstrap = [C]) announces the file through its DHT; Helia D
   knows only C, finds B and fetches the file from jzfs.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

KAD = {"protocol": "/ipfs/kad/1.0.0", "clientMode": False}
MiB = 1024 * 1024


class Daemons:
    """`jzfs daemon` processes on fresh repos, every address on 127.0.0.1; stopped by PID."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, name: str, config: dict[str, object]) -> dict[str, str]:
        from jiaozi_node.repo import Repo

        path = self.tmp / name
        repo = Repo.init(path)
        for k, v in {"Addresses.API": "/ip4/127.0.0.1/tcp/0",
                     "Addresses.Gateway": "/ip4/127.0.0.1/tcp/0",
                     "Addresses.Swarm": ["/ip4/127.0.0.1/tcp/0"], **config}.items():
            repo.set_config(k, v)
        env = {**os.environ, "JZFS_PATH": str(path), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "jiaozi_node.cli.main", "daemon"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(proc)
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Daemon is ready" in line:
                break
        else:
            raise RuntimeError(f"daemon {name} exited early")
        out = proc.stdout
        threading.Thread(target=lambda: [None for _ in out], daemon=True).start()
        return env

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def daemons(tmp_path):
    d = Daemons(tmp_path)
    yield d
    d.stop()


def jzfs(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"jzfs {' '.join(args)}: {r.stderr.strip()}"
    return r.stdout


def _wait_table(peer, n: int = 1) -> None:
    for _ in range(200):
        if peer.dht_info()["routing_table_size"] >= n:
            return
        time.sleep(0.05)
    raise AssertionError("Helia's DHT routing table stayed empty")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_jzfs_get_finds_helia_provider_through_helia_dht(helia_factory, daemons, tmp_path):
    c = helia_factory(dht=KAD)
    a = helia_factory(dht=KAD)
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(4 * MiB + 3))
    cid = a.add_file(src)
    a.dial(c.multiaddr)
    _wait_table(a)
    a.provide(cid, timeout=20)
    env = daemons.start("b", {"Bootstrap": [c.multiaddr]})
    out = tmp_path / "out.bin"
    t0 = time.monotonic()
    jzfs(env, "get", cid, "-o", str(out), timeout=60)  # no --peer: routing finds A through C
    took = time.monotonic() - t0
    assert _sha(out) == _sha(src)
    assert a.peer_id in jzfs(env, "swarm", "peers")  # B dialled A, found through C
    print(f"jzfs get found A through C and fetched 4 MiB in {took:.2f} s (whole command)")


def test_helia_finds_jzfs_daemon_provider_through_helia_dht(helia_factory, daemons, tmp_path):
    c = helia_factory(dht=KAD)
    env = daemons.start("b", {"Bootstrap": [c.multiaddr]})
    src = tmp_path / "b.bin"
    src.write_bytes(os.urandom(3 * MiB + 1))
    cid = jzfs(env, "add", "-Q", str(src)).strip()
    before = time.monotonic()
    while True:  # the daemon's provider announces from its queue, in the background
        st = json.loads(jzfs(env, "stats", "provide", "--json"))
        if st["TotalProvides"] >= 1 and st["QueueLength"] == 0:
            break
        assert time.monotonic() - before < 30, st
        time.sleep(0.1)
    d = helia_factory(dht=KAD)
    d.dial(c.multiaddr)
    _wait_table(d)
    provs = d.find_providers(cid, limit=1, timeout=20)
    b_id = json.loads(jzfs(env, "id"))["ID"]
    assert provs[0]["peer_id"] == b_id
    dest = tmp_path / "out.bin"
    d.cat(cid, dest, timeout=30)
    assert _sha(dest) == _sha(src)
