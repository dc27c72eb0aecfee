"""cli/daemon_bridge.py: which commands go to the daemon, and when they stay local."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from jiaozi_node.api.client import multipart_body
from jiaozi_node.cli import daemon_bridge
from jiaozi_node.cli.main import build_parser


def parse(argv: list[str]) -> argparse.Namespace:
    args, _ = build_parser().parse_known_args(argv)
    return args


def test_every_route_names_a_real_command() -> None:
    parser = build_parser()
    funcs = set()
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
        f = p.get_default("func")
        if f is not None:
            funcs.add(f"{f.__module__}.{f.__qualname__}")
    missing = [k for k in daemon_bridge.ROUTES if k not in funcs]
    assert not missing, missing


def test_no_daemon_or_offline_runs_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JZFS_PATH", str(tmp_path))
    assert daemon_bridge.route(parse(["pin", "ls"])) is None  # no api file
    (tmp_path / "api").write_text("/ip4/127.0.0.1/tcp/1")  # stale: nobody answers
    assert daemon_bridge.route(parse(["pin", "ls"])) is None
    assert daemon_bridge.route(parse(["--offline", "pin", "ls"])) is None
    assert daemon_bridge.route(parse(["add", "-n", "x"])) is None  # only-hash needs no daemon


def test_multipart_body_shape() -> None:
    body = b"".join(multipart_body([("a%2Fb", "text/plain", (b"hi",))], "B"))
    assert body == (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a%2Fb"\r\n'
                    b"Content-Type: text/plain\r\n\r\nhi\r\n--B--\r\n")
