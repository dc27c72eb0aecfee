"""daemon.json handling of `jzfs daemon` (the process itself: tests/integration/test_daemon.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jiaozi_node.cli.daemon_cmd import DAEMON_FILE, running_daemon
from jiaozi_node.errors import NotFound
from jiaozi_node.repo import Repo


def test_running_daemon(tmp_path):
    repo = Repo.init(tmp_path / "r")
    with pytest.raises(NotFound):
        running_daemon(repo)
    (repo.path / DAEMON_FILE).write_text(json.dumps({"ID": repo.peer_id, "PID": os.getpid()}))
    assert running_daemon(repo)["PID"] == os.getpid()  # this process is alive
    (repo.path / DAEMON_FILE).write_text("{not json")
    with pytest.raises(NotFound):
        running_daemon(repo)


def test_stale_file_of_a_dead_daemon_is_removed(tmp_path):
    repo = Repo.init(tmp_path / "r")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (repo.path / DAEMON_FILE).write_text(json.dumps({"ID": repo.peer_id, "PID": dead.pid}))
    repo.api_file.write_text("/ip4/127.0.0.1/tcp/5001")
    with pytest.raises(NotFound, match="stale"):
        running_daemon(repo)
    assert not (repo.path / DAEMON_FILE).exists() and not repo.api_file.exists()
