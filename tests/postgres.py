"""A throw-away PostgreSQL server for tests (Debian's postgresql-15), on 127.0.0.1 only.

Started as the `postgres` user with `initdb -A trust` in a temp dir owned by postgres, listening on
a free loopback port with its socket in the same dir; stopped with `pg_ctl -m fast stop` and the
directory removed. Used by the `postgres_url` fixture in tests/conftest.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

PG_BIN = "/usr/lib/postgresql/15/bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*cmd: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a `postgres://` URL of a fresh server with an empty database `jzfs`."""
    if not os.path.exists(f"{PG_BIN}/initdb"):
        raise RuntimeError(f"PostgreSQL 15 is not installed ({PG_BIN}); apt-get install postgresql-15")
    tmp = tempfile.mkdtemp(prefix="jzfs-pg-")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    data = os.path.join(tmp, "data")
    port = _free_port()
    run = dict(check=True, capture_output=True, timeout=120)
    try:
        subprocess.run(_as_postgres(f"{PG_BIN}/initdb", "-A", "trust", "-U", "postgres", "-D", data), **run)
        subprocess.run(_as_postgres(
            f"{PG_BIN}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"), "-w", "-o",
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off", "start"), **run)
        try:
            subprocess.run(_as_postgres(f"{PG_BIN}/createdb", "-h", "127.0.0.1", "-p", str(port),
                                        "-U", "postgres", "jzfs"), **run)
            yield f"postgres://postgres:postgres@127.0.0.1:{port}/jzfs?sslmode=disable"
        finally:
            subprocess.run(_as_postgres(f"{PG_BIN}/pg_ctl", "-D", data, "-m", "fast", "stop"),
                           capture_output=True, timeout=60)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
