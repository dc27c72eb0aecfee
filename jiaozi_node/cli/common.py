"""Helpers shared by command modules: opening the node, JSON output, progress bars."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..node import Node


def open_node() -> Node:
    return Node.open()


def daemon_client(args: Any = None) -> Any:
    """The running daemon's RPC client (jiaozi_node.api.client.ApiClient), or None when the
    command should work on the repo directly: `--offline` given, or no daemon answers on
    `$JZFS_PATH/api` (like `ipfs`). The caller closes the client."""
    if args is not None and getattr(args, "offline", False):
        return None
    from ..api.client import ApiClient
    from ..errors import NotFound
    from ..repo import default_path

    try:
        return ApiClient.for_path(default_path())
    except NotFound:
        return None


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=None, default=str) + "\n")


def add_json_flag(parser: Any) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")


def progress(total: int | None, *, enabled: bool, desc: str = "") -> Any:
    """A tqdm progress bar on stderr when enabled and stderr is a terminal (else a no-op bar)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=not (enabled and sys.stderr.isatty()), file=sys.stderr, leave=False)


def subcommand_group(sub: Any, name: str, help: str) -> Any:
    """The sub-subparsers of command group `name` (e.g. `repo`), creating the group if no other
    module has yet. Several modules may add commands to one group this way (argparse refuses a
    second `add_parser` with the same name)."""
    import argparse

    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help)
        group = parser.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")
        parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
        return group
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError(f"command {name!r} exists without subcommands")
