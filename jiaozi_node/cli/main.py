"""`jzfs` entry point: argparse with one module per command group.

Each module in COMMAND_MODULES exposes `register(subparsers)`; a command's handler takes the
parsed `args` and returns an exit code (or None for 0). Errors derived from JzfsError print as one
line on stderr with exit 1 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import JzfsError
from .common import esc, normalize_bool_flags

COMMAND_MODULES = [
    "jiaozi_node.cli.repo_cmds",
    "jiaozi_node.cli.daemon_cmd",
    "jiaozi_node.cli.net_cmds",
    "jiaozi_node.cli.block_cmds",
    "jiaozi_node.cli.pin_cmds",
    "jiaozi_node.cli.repo_gc_cmd",
    "jiaozi_node.cli.version_cmds",
    "jiaozi_node.cli.files_read_cmds",
    "jiaozi_node.cli.dag_cmds",
    "jiaozi_node.cli.cid_cmds",
    "jiaozi_node.cli.add_cmd",
    "jiaozi_node.cli.key_cmds",
    "jiaozi_node.cli.name_cmds",
    "jiaozi_node.cli.dataset_name_cmds",  # after the versioning commands: it extends some of them
    "jiaozi_node.cli.routing_cmds",
    "jiaozi_node.cli.webui_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    # argparse passes every help string through gettext, which searches the disk for message
    # catalogs at each call (~12 ms of every start); jzfs's help is English only.
    saved, argparse._ = argparse._, str  # type: ignore[attr-defined]
    try:
        return _build_parser()
    finally:
        argparse._ = saved  # type: ignore[attr-defined]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jzfs", description="jiaozi_node: IPFS node with versioned datasets")
    parser.add_argument("--repo-dir", default=None, help="repository path (default $JZFS_PATH or ~/.jzfs)")
    parser.add_argument("--offline", action="store_true", help="do not use a running daemon")
    parser.add_argument("--api-auth", default=None, metavar="SECRET",
                        help="RPC API secret (AuthSecret of API.Authorizations, e.g. bearer:TOKEN; "
                             "default $JZFS_API_AUTH, else the repo's own config)")
    parser.add_argument("--debug", action="store_true", help="log details (and py-libp2p warnings) on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)  # a missing module is an error, never skipped
    return parser


def one_line(message: str) -> str:
    """A multi-line message as one line (some libraries' errors draw `^^` pointers under the
    input on lines of their own: those are dropped)."""
    lines = [ln.strip() for ln in message.splitlines()]
    return "; ".join(ln for ln in lines if ln and not ln.startswith(("^", "~")))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        argv = normalize_bool_flags(list(sys.argv[1:] if argv is None else argv))
    except JzfsError as exc:
        parser.error(str(exc))
    # parse_known_args + `extras_ok` lets positionals follow flags (`config KEY --json VALUE`),
    # which plain argparse rejects when the positionals were already consumed.
    args, extras = parser.parse_known_args(argv)
    if extras:
        if not getattr(args, "extras_ok", False) or any(e.startswith("-") and len(e) > 1 for e in extras):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        args.extras = extras
    # Without --debug the logging defaults are right: logging loads only when something logs.
    if args.debug or "jiaozi_node.logs" in sys.modules:
        from .. import logs

        logs.configure(args.debug)
    if args.repo_dir:
        os.environ["JZFS_PATH"] = args.repo_dir
    if args.api_auth:
        os.environ["JZFS_API_AUTH"] = args.api_auth  # read by api/access.client_auth_header
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        from .daemon_bridge import route  # a running daemon serves data commands, as with `ipfs`

        if getattr(args, "ipns_paths", None):  # `/ipns/NAME/…` arguments -> `/ipfs/CID/…`
            from ..ipns.paths import expand_cli_paths

            expand_cli_paths(args)
        rc = (route(args) or handler)(args)
    except JzfsError as exc:
        print(f"Error: {esc(one_line(str(exc)), keep=chr(92))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. `jzfs cat … | head`): not an error. Point stdout at devnull
        # so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"Error: {exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}", file=sys.stderr)
        return 1
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
