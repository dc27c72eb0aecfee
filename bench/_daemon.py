"""Shared by the benchmarks: a `jzfs daemon` on a fresh repo (loopback, ephemeral ports), or on
a repo the benchmark prepared (`run_daemon`), stopping daemons by PID, and a whole-command
timer. Imported as `_daemon` (benchmarks run as `python bench/NAME.py`, so `bench/` is on
sys.path)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass
class Daemon:
    proc: subprocess.Popen
    env: dict
    gateway: str  # http://127.0.0.1:PORT
    api: str  # http://127.0.0.1:PORT


def _listening(text: str, what: str) -> str:
    m = re.search(rf"{what} server listening on /ip4/([\d.]+)/tcp/(\d+)", text)
    assert m, text
    return f"http://{m.group(1)}:{m.group(2)}"


LOOPBACK_ADDRESSES = {"Addresses.API": "/ip4/127.0.0.1/tcp/0", "Addresses.Gateway": "/ip4/127.0.0.1/tcp/0",
                      "Addresses.Swarm": ["/ip4/127.0.0.1/tcp/0"]}


def start_daemon(base: Path, name: str, config: dict) -> Daemon:
    """A started daemon on a new repo `base/name`, every address on 127.0.0.1 port 0, then
    `config` (KEY -> value) applied. See `run_daemon`."""
    from jiaozi_node.repo import Repo

    repo = Repo.init(base / name)
    for key, value in {**LOOPBACK_ADDRESSES, **config}.items():
        repo.set_config(key, value)
    return run_daemon(base / name)


def run_daemon(repo: Path) -> Daemon:
    """`jzfs daemon` on the existing repo at `repo` (its addresses set by the caller, e.g. to
    LOOPBACK_ADDRESSES), once it says it is ready, with the gateway and RPC URLs it printed. Its
    output is drained in a thread; stop it with `stop_daemons`."""
    env = {**os.environ, "JZFS_PATH": str(repo), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([PY, "-m", "jiaozi_node.cli.main", "daemon"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        text += line
        if "Daemon is ready" in line:
            break
    else:
        proc.wait()
        raise RuntimeError(f"the daemon on {repo} exited early:\n{text[-3000:]}")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    return Daemon(proc, env, _listening(text, "Gateway"), _listening(text, "RPC API"))


def stop_daemons(daemons: Iterable[Daemon], timeout: float = 15) -> None:
    """SIGTERM to each daemon still running (by its PID), then wait; kill what does not stop."""
    daemons = list(daemons)
    for d in daemons:
        if d.proc.poll() is None:
            os.kill(d.proc.pid, signal.SIGTERM)
    for d in daemons:
        try:
            d.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()


def timed(argv: list[str], env: dict | None = None, cwd: str | None = None) -> tuple[float, str]:
    """Wall time of a whole command (process start to exit) and its stdout; raises on failure."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=120)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv} failed: {r.stderr.decode()[-2000:]}")
    return dt, r.stdout.decode()
