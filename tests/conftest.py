"""Shared pytest fixtures. Each section names its owner; add yours as a separate section."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# ------------------------------------------------------------------ PostgreSQL (versioning / refs store)


def _load_postgres_helper():  # tests/ is not a package (importlib import mode): load by path
    spec = importlib.util.spec_from_file_location("jzfs_tests_postgres", Path(__file__).with_name("postgres.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """One real PostgreSQL server for the whole session (started from Debian's package)."""
    with _load_postgres_helper().postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """A fresh, empty database on the session's server, as a postgres:// URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server_url.replace("/jzfs?", f"/{name}?")


# ------------------------------------------------------------------ jzfs daemon subprocess (HTTP: gateway / RPC API)


@pytest.fixture
def jzfs_daemon_factory(tmp_path: Path) -> Iterator[object]:
    """make(name="d", config={...}) -> a started `jzfs daemon` subprocess on a fresh repo, every
    address on 127.0.0.1 port 0; extra `config` keys are set before it starts.

    Each is {"repo": Path, "env": dict, "api": "http://…", "gateway": "http://…", "proc": Popen},
    stopped with SIGTERM (by its own PID) at the end of the test.
    """
    import os
    import re
    import signal
    import subprocess
    import sys
    import threading

    from jiaozi_node.repo import Repo

    procs: list[subprocess.Popen[str]] = []

    def make(name: str = "daemon-repo", config: dict[str, object] | None = None) -> dict[str, object]:
        repo_path = tmp_path / name
        repo = Repo.init(repo_path)
        repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
        repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
        repo.set_config("Addresses.Swarm", ["/ip4/127.0.0.1/tcp/0"])
        for key, value in (config or {}).items():
            repo.set_config(key, value)
        env = {**os.environ, "JZFS_PATH": str(repo_path), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "jiaozi_node.cli.main", "daemon"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Daemon is ready" in line:
                break
        else:
            raise RuntimeError("daemon exited early:\n" + "".join(lines))
        text = "".join(lines)
        # Keep draining its output so a chatty daemon never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

        def url(kind: str) -> str:
            m = re.search(kind + r" server listening on /ip4/([\d.]+)/tcp/(\d+)", text)
            assert m, text
            return f"http://{m.group(1)}:{m.group(2)}"

        return {"repo": repo_path, "env": env, "api": url("RPC API"), "gateway": url("Gateway"),
                "proc": proc}

    try:
        yield make
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture
def jzfs_daemon(jzfs_daemon_factory: object) -> dict[str, object]:
    """One started `jzfs daemon` (see jzfs_daemon_factory)."""
    return jzfs_daemon_factory()  # type: ignore[operator]
