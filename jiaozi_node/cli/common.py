"""Helpers shared by command modules: opening the node, JSON output, progress bars."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..node import Node

# Option strings of every boolean flag registered with `bool_flag`, mapped to their long form:
# main.py's pre-parse step rewrites `--NAME=true|false` (Kubo's form) into `--NAME` / `--no-NAME`.
BOOL_FLAGS: dict[str, str] = {}
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def bool_flag(parser: Any, *names: str, default: bool | None, help: str) -> None:
    """A boolean flag that never takes the next argument: `--NAME` sets it, `--no-NAME` clears it,
    and `--NAME=true|false` (rewritten by main.normalize_bool_flags) works as in Kubo. The first
    long name gives the attribute; short names (e.g. `-r`) set it too."""
    long = next(n for n in names if n.startswith("--"))
    parser.add_argument(*names, action=argparse.BooleanOptionalAction, default=default,
                        help=help if default is None else f"{help} (default {str(default).lower()})")
    for n in names:
        BOOL_FLAGS[n] = long


def normalize_bool_flags(argv: list[str]) -> list[str]:
    """`--pin=false` → `--no-pin`, `--pin=true` → `--pin` for flags registered with bool_flag
    (also short forms such as `-r=false`); anything after `--` is left alone."""
    from ..errors import InvalidInput

    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            out.extend(argv[i:])
            break
        name, eq, value = arg.partition("=")
        long = BOOL_FLAGS.get(name) if eq else None
        if long is None:
            out.append(arg)
        elif value.lower() in TRUE_WORDS:
            out.append(long)
        elif value.lower() in FALSE_WORDS:
            out.append("--no-" + long[2:])
        elif name.startswith("--"):
            raise InvalidInput(f"argument {name}: expected true or false, not {value!r}")
        else:
            out.append(arg)  # a short name another command uses with a value (e.g. add -s=size-N)
    return out


class LazyChoices:
    """argparse `choices` read from `module.attr` only when used (parsing that option, or
    --help), so registering a command does not import the module behind it."""

    def __init__(self, module: str, attr: str) -> None:
        self._module, self._attr = module, attr

    def _values(self) -> tuple[str, ...]:
        import importlib

        return tuple(getattr(importlib.import_module(self._module), self._attr))

    def __contains__(self, item: object) -> bool:
        return item in self._values()

    def __iter__(self) -> Any:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())


def open_node() -> Node:
    from ..node import Node

    return Node.open()


def repo_path() -> str:
    """$JZFS_PATH or ~/.jzfs: repo.default_path() without loading config.py (~30 ms of a start)."""
    import os

    return os.environ.get("JZFS_PATH") or os.path.expanduser("~/.jzfs")


def daemon_client(args: Any = None) -> Any:
    """The running daemon's RPC client (jiaozi_node.api.client.ApiClient), or None when the
    command should work on the repo directly: `--offline` given, or no daemon answers on
    `$JZFS_PATH/api` (like `ipfs`). The caller closes the client."""
    if args is not None and getattr(args, "offline", False):
        return None
    import os

    from ..errors import NotFound

    path = repo_path()
    if not os.path.exists(os.path.join(path, "api")):
        return None  # no daemon: the HTTP client is not even loaded
    from ..api.client import ApiClient

    try:
        return ApiClient.for_path(path)
    except NotFound:
        return None


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                  "\t": "\\t", "\v": "\\v", "\\": "\\\\"}


def esc(text: object, *, keep: str = "") -> str:
    """A name from outside (UnixFS links, tree paths, refs, commit fields, peer data) made safe for
    a terminal, as Kubo's EscNonPrint does: backslash and every non-printable character (control
    codes such as ESC, bidi overrides, undecodable bytes) become Go-style escapes (`\\x1b`, `\\n`,
    `\\u202e`, `\\\\`); printable text is unchanged. Characters in `keep` (e.g. "\\t") stay raw.
    Text output only: `--json` carries the exact string, and `get`/`checkout` write the real bytes."""
    s = str(text)
    if "\\" not in s and s.isprintable():
        return s
    out = []
    for ch in s:
        if ch in keep:
            out.append(ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            o = ord(ch)
            if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte carried by surrogateescape
                out.append(f"\\x{o - 0xDC00:02x}")
            elif o < 0x80:
                out.append(f"\\x{o:02x}")
            elif o < 0x10000:
                out.append(f"\\u{o:04x}")
            else:
                out.append(f"\\U{o:08x}")
    return "".join(out)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=None, default=str) + "\n")


def add_json_flag(parser: Any) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")


def progress(total: int | None, *, enabled: bool, desc: str = "") -> Any:
    """A tqdm progress bar on stderr when enabled and stderr is a terminal (else a no-op bar)."""
    if not (enabled and sys.stderr.isatty()):
        return _NoBar()  # tqdm (and what it imports) loads only when a bar is drawn
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                file=sys.stderr, leave=False)


class _NoBar:
    """The progress bar when none is shown."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


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
