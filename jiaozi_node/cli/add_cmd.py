"""`jzfs add`: like `ipfs add`, with Kubo's flags, output and error behaviour.

    jzfs add FILE                      added <cid> FILE
    jzfs add -r DIR                    files as added, then directories (children first)
    jzfs add < FILE                    reads stdin; named by its CID, like Kubo
    jzfs add -Q / -q / --json          root CID only / CIDs only / one JSON object per line

The import profile comes from `--profile`, else config `Import.Profile`, else unixfs-v1-2025; the
flags `--cid-version`, `--raw-leaves`, `--chunker`, `--trickle`, `--hash` then override single
fields the way Kubo applies them on top of its `Import.*` config (asking for CIDv1 implies raw
leaves, CIDv0 dag-pb leaves, unless `--raw-leaves` is given; see `node.files.profile_for_add`,
which the RPC `add` uses too).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .common import LazyChoices, add_json_flag, bool_flag, esc, open_node, print_json, progress
from .leave import leave_now

if TYPE_CHECKING:  # config loads only when a command uses it (start-up time)
    from ..config import ImportProfile


def build_profile(args: argparse.Namespace, node: Any) -> ImportProfile:
    from ..node.files import profile_for_add

    return profile_for_add(node, profile=args.profile, cid_version=args.cid_version,
                           raw_leaves=args.raw_leaves, chunker=args.chunker, trickle=args.trickle,
                           hash_function=args.hash)


def cmd_add(args: argparse.Namespace) -> int:
    paths = list(args.paths) + list(getattr(args, "extras", []))
    if not paths and sys.stdin.isatty():
        raise InvalidInput("argument \"path\" is required (or pipe data on stdin)")
    from ..node import files

    with open_node() as node:
        profile = build_profile(args, node)
        bar = progress(None, enabled=bool(args.progress), desc="adding")
        kw: dict[str, Any] = dict(profile=profile, only_hash=args.only_hash, pin=args.pin,
                                  tuning=node.defaults.add, progress=bar.update if args.progress else None)
        last = None
        try:
            if paths:
                events = files.iter_add_path(node, paths, recursive=args.recursive, hidden=args.hidden,
                                             wrap=args.wrap_with_directory, **kw)
            else:
                stdin_name = args.stdin_name or None
                events = iter([files.add_stream(node, sys.stdin.buffer, name=stdin_name, **kw)])
            for ev in events:
                last = ev
                if args.json:
                    print_json(ev.to_json())
                elif args.quieter:
                    continue
                elif args.quiet:
                    print(ev.cid)
                else:
                    print(f"added {ev.cid} {esc(ev.path)}")
        finally:
            bar.close()
        if args.quieter and not args.json and last is not None:
            print(last.cid)
        # Everything is durable: the blocks fdatasynced, the pin committed (SQLite, synchronous
        # FULL), its announcement queued. As the `jzfs` program, leave without closing the node
        # (SQLite's checkpoint on close: several fsyncs) or the interpreter's teardown.
        leave_now(0)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("add", help="add files to the node (like ipfs add)",
                       description="Import files or directories as UnixFS DAGs and print their CIDs.")
    p.add_argument("paths", nargs="*", help="files or directories to add (stdin when none)")
    p.add_argument("-r", "--recursive", action="store_true", help="add directories recursively")
    p.add_argument("-q", "--quiet", action="store_true", help="write only the CIDs")
    p.add_argument("-Q", "--quieter", action="store_true", help="write only the final root CID")
    p.add_argument("-n", "--only-hash", action="store_true", help="only compute CIDs, store nothing")
    p.add_argument("-w", "--wrap-with-directory", action="store_true", help="wrap everything in a directory")
    p.add_argument("-H", "--hidden", action="store_true", help="include files whose name starts with '.'")
    bool_flag(p, "--pin", default=True, help="pin the added roots (--pin=false / --no-pin to skip)")
    bool_flag(p, "--progress", "-p", default=True, help="progress bar on stderr when it is a terminal (as Kubo)")
    p.add_argument("--profile", default=None, metavar="PROFILE", choices=LazyChoices("jiaozi_node.config", "PROFILES"),
                   help="import profile: unixfs-v1-2025 or unixfs-v0-2015 (default: config Import.Profile, "
                        "else unixfs-v1-2025)")
    p.add_argument("--cid-version", type=int, choices=(0, 1), default=None, help="CID version")
    bool_flag(p, "--raw-leaves", default=None,
              help="use raw blocks for file leaves (default: the profile's; true with --cid-version=1, "
                   "false with --cid-version=0)")
    p.add_argument("-s", "--chunker", default=None,
                   help="size-N, rabin, rabin-AVG, rabin-MIN-AVG-MAX or buzhash")
    p.add_argument("-t", "--trickle", action="store_true", help="use the trickle layout")
    p.add_argument("--hash", default=None, choices=("sha2-256", "sha2-512"), help="hash function")
    p.add_argument("--stdin-name", default="", help="name for data read from stdin")
    add_json_flag(p)
    p.set_defaults(func=cmd_add, extras_ok=True)
