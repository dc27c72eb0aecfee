"""`jzfs` entry point: argparse with one module per command group.

Each module in COMMAND_MODULES exposes `register(subparsers)`; a command's handler takes the
parsed `args` and returns an exit code (or None for 0). Errors derived from JzfsError print as one
line on stderr with exit 1 — never a traceback.

Start-up: `main` imports and registers only the module(s) of the command typed (COMMANDS maps each
command name to its module and one-line help; EXTENSIONS names modules that add flags to another
module's commands). Every other command gets a help-only stub, so `jzfs --help` lists them all
without importing them. `build_parser()` still builds the whole parser (tests check the table
against it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import JzfsError
from . import leave
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


_R, _V, _NET = "jiaozi_node.cli.repo_cmds", "jiaozi_node.cli.version_cmds", "jiaozi_node.cli.net_cmds"
# command name -> (module that registers it, its one-line help as shown by `jzfs --help`).
# tests/unit/cli/test_main.py checks this table against the full parser built from COMMAND_MODULES.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (_R, "create a repository (identity + config)"),
    "config": (_R, "get or set config values (like `ipfs config`)"),
    "version": (_R, "print the version"),
    "daemon": ("jiaozi_node.cli.daemon_cmd",
               "run the node (libp2p host, bitswap, gateway, RPC API) in the foreground"),
    "id": (_NET, "show this node's (or a connected peer's) identity and addresses"),
    "swarm": (_NET, "peers of the running daemon"),
    "bootstrap": (_NET, "peers the daemon dials at start (empty by default)"),
    "block": ("jiaozi_node.cli.block_cmds", "raw blocks: put, get, stat, rm"),
    "pin": ("jiaozi_node.cli.pin_cmds", "keep blocks from garbage collection: add, rm, ls, verify"),
    "repo": ("jiaozi_node.cli.repo_gc_cmd", "repository maintenance: gc, verify, stat, migrate"),
    "commit": (_V, "snapshot a directory as a signed commit (commit NAME DIR -b BRANCH -m MSG [-Q])"),
    "status": (_V, "what changed in a directory against a branch head"),
    "log": (_V, "history, newest first (log NAME@REF --json)"),
    "show": (_V, "show a commit or tag and check its signature"),
    "diff": (_V, "paths added/removed/modified (diff NAME@A NAME@B --json)"),
    "branch": (_V, "create, list and delete branches"),
    "tag": (_V, "lightweight and annotated (signed) tags"),
    "checkout": (_V, "write a version into a directory (checkout NAME@REF -o DIR)"),
    "merge": (_V, "merge SRC into DST (merge NAME SRC --into DST -m MSG)"),
    "verify": (_V, "check signatures and links back to the root commits (verify NAME@REF | verify CID)"),
    "trust": (_V, "keys whose commits count as trusted"),
    "remote": (_V, "peers to fetch from and push to"),
    "fetch": (_V, "fetch a repo's branches into remotes/REMOTE/… (fetch REMOTE REPO [BRANCH]; "
                  "REMOTE may be a commit CID, found through routing)"),
    "pull": (_V, "fetch, then fast-forward local branches (pull REMOTE REPO [BRANCH]; "
                 "REMOTE may be a commit CID, found through routing)"),
    "clone": (_V, "copy a repo from a peer (clone MULTIADDR NAME), or a commit from whoever "
                  "provides it (clone COMMIT_CID NAME)"),
    "push": (_V, "push REMOTE REPO BRANCH (fast-forward only unless --force)"),
    "cat": ("jiaozi_node.cli.files_read_cmds", "print the bytes of a UnixFS file"),
    "get": ("jiaozi_node.cli.files_read_cmds", "write a UnixFS file or directory tree to disk"),
    "ls": ("jiaozi_node.cli.files_read_cmds", "list a UnixFS directory (Kubo's columns: CID, size, name)"),
    "dag": ("jiaozi_node.cli.dag_cmds", "IPLD DAG operations (put, get, stat, export, import)"),
    "cid": ("jiaozi_node.cli.cid_cmds", "convert and inspect CIDs"),
    "add": ("jiaozi_node.cli.add_cmd", "add files to the node (like ipfs add)"),
    "key": ("jiaozi_node.cli.key_cmds", "IPNS keys (Kubo's `ipfs key`)"),
    "name": ("jiaozi_node.cli.name_cmds", "IPNS names (Kubo's `ipfs name`)"),
    "publish": ("jiaozi_node.cli.dataset_name_cmds",
                "publish a dataset's branch and tag heads under its own IPNS key (publish NAME [--branch BR]…)"),
    "routing": ("jiaozi_node.cli.routing_cmds", "find providers, peers and records; announce content"),
    "stats": ("jiaozi_node.cli.routing_cmds", "statistics of the running daemon"),
    "webui": ("jiaozi_node.cli.webui_cmd", "print the web UI's URL (served by `jzfs daemon` at /webui)"),
}
# module -> commands of other modules it extends (it is registered after their module)
EXTENSIONS: dict[str, tuple[str, ...]] = {
    _V: ("repo",),  # `repo create/ls/rm` (datasets) next to repo_gc_cmd's `repo gc/stat/…`
    "jiaozi_node.cli.dataset_name_cmds": ("commit", "merge", "clone", "fetch", "pull", "log", "checkout"),
}
_GLOBAL_VALUE_FLAGS = ("--repo-dir", "--api-auth")  # the global options that take a value


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The parser with every command module ("*"), or with only what `command` needs (None or an
    unknown name: no module, only the help stubs)."""
    # argparse passes every help string through gettext, which searches the disk for message
    # catalogs at each call (~12 ms of every start); jzfs's help is English only.
    saved, argparse._ = argparse._, str  # type: ignore[attr-defined]
    try:
        return _build_parser(command)
    finally:
        argparse._ = saved  # type: ignore[attr-defined]


def modules_for(command: str | None) -> list[str]:
    """The command modules to register for `command`, in COMMAND_MODULES order."""
    if command == "*":
        return list(COMMAND_MODULES)
    owner = COMMANDS.get(command or "", ("", ""))[0]
    return [m for m in COMMAND_MODULES if m == owner or command in EXTENSIONS.get(m, ())]


def command_of(argv: list[str]) -> str | None:
    """The command name in argv: the first word that is not a global option or its value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--":
            return None
        elif arg.startswith("-"):
            # argparse accepts unique prefixes of long options (`--repo X`)
            skip = "=" not in arg and len(arg) > 2 and any(f.startswith(arg) for f in _GLOBAL_VALUE_FLAGS)
        else:
            return arg
    return None


def _build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jzfs", description="jiaozi_node: IPFS node with versioned datasets")
    parser.add_argument("--repo-dir", default=None, help="repository path (default $JZFS_PATH or ~/.jzfs)")
    parser.add_argument("--offline", action="store_true", help="do not use a running daemon")
    parser.add_argument("--api-auth", default=None, metavar="SECRET",
                        help="RPC API secret (AuthSecret of API.Authorizations, e.g. bearer:TOKEN; "
                             "default $JZFS_API_AUTH, else the repo's own config)")
    parser.add_argument("--debug", action="store_true", help="log details (and py-libp2p warnings) on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules_for(command):
        importlib.import_module(name).register(sub)  # a missing module is an error, never skipped
    for name, (_module, text) in COMMANDS.items():  # the others: listed in --help, not imported
        if name not in sub.choices:
            sub.add_parser(name, help=text, add_help=False)
    order = list(COMMANDS)
    sub._choices_actions.sort(key=lambda a: order.index(a.dest) if a.dest in order else len(order))
    return parser


def one_line(message: str) -> str:
    """A multi-line message as one line (some libraries' errors draw `^^` pointers under the
    input on lines of their own: those are dropped)."""
    lines = [ln.strip() for ln in message.splitlines()]
    return "; ".join(ln for ln in lines if ln and not ln.startswith(("^", "~")))


def main(argv: list[str] | None = None) -> int:
    """Run one command. With no argv this is the `jzfs` program: a command may then leave the
    process without the interpreter's teardown (`cli/leave.py`); `main(argv)` never does."""
    leave.begin(as_program=argv is None)
    try:
        rc = _main(argv)
    except BaseException:
        leave.begin(as_program=False)  # a traceback or SystemExit ends the ordinary way
        raise
    return leave.finish(rc)


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(argv))
    try:
        argv = normalize_bool_flags(argv)
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
