"""cli/version_sync_cmds.py: sync commands go to a running daemon first, and leave without the
interpreter's teardown (everything they write is synced inside the command)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from jiaozi_node.cli import common, leave, version_sync_cmds


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def json(self, command: str, args: list[str], params: Any = None) -> dict[str, Any]:
        self.calls.append((command, list(args)))
        return {"Peer": "p", "Repo": "ds", "Refs": {"heads/main": "c"}, "NewCommits": 1,
                "FetchedBlocks": 2, "FetchedBytes": 3, "Branches": {"main": {"Result": "created", "Cid": "c"}}}


def test_through_the_daemon_and_without_teardown(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    fake = FakeClient()
    monkeypatch.setattr(common, "daemon_client", lambda args=None: fake)
    monkeypatch.setattr(leave, "_requested", False)
    assert version_sync_cmds.cmd_clone(argparse.Namespace(addr="/ip4/127.0.0.1/tcp/1/p2p/x", name="ds",
                                                          json=False)) == 0
    assert version_sync_cmds.cmd_pull(argparse.Namespace(remote="b", repo="ds", branch=None, json=False)) == 0
    assert fake.calls == [("jzfs/clone", ["/ip4/127.0.0.1/tcp/1/p2p/x", "ds"]), ("jzfs/pull", ["b", "ds"])]
    assert leave.requested()  # `main` as the program leaves without teardown once the lines are out
    assert "main: created (c)" in capsys.readouterr().out
