"""`jzfs repo gc|verify|stat|migrate`, like `ipfs repo gc` / `ipfs repo verify` / `ipfs repo stat`; `migrate` moves the blocks
to another blockstore engine (Kubo's `repo migrate` upgrades repo versions; ours has one)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .common import add_json_flag, esc, open_node, print_json

REPO_VERSION = "jzfs-repo@1"


def cmd_gc(args: argparse.Namespace) -> int:
    import sys

    from ..store.gc import collect

    def problem(cid: Any, root: Any, why: str) -> None:  # each unreadable block, as the mark finds it
        if args.json:
            print_json({"Error": why})  # Kubo's `repo gc --enc=json` error lines
        else:
            print(f"Error: {esc(why)}", file=sys.stderr)

    with open_node() as node:
        n = 0
        for cid in collect(node.pins, on_problem=problem):
            n += 1
            if args.json:
                print_json({"Key": {"/": str(cid)}})  # Kubo's `repo gc --enc=json` lines
            elif not args.quiet:
                print(f"removed {cid}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Kubo's `repo verify`: one line per corrupt block, a summary, rc 1 while corruption stays."""
    import sys

    from ..errors import RepoError
    from ..store.verify import verify_blocks

    live = sys.stdout.isatty() and not args.json
    corrupt = removed = failed = 0
    with open_node() as node:
        n = 0
        for n, (cid, problem, gone) in enumerate(verify_blocks(node.blocks, drop=args.drop), 1):
            if problem is not None:
                corrupt += 1
                removed += gone
                failed += args.drop and not gone
                msg = f"block {cid} was corrupt ({problem})" + (", removed" if gone else "")
                if args.json:
                    print_json({"Msg": msg, "Progress": n})
                else:
                    print(esc(msg) + (" " * 20 if live else ""))
            if live and n % 1000 == 0:
                print(f"{n} blocks processed.", end="\r", flush=True)
    if corrupt:
        summary = f"verify complete, {corrupt} blocks corrupt" + (f", {removed} removed" if removed else "") \
            + (f", {failed} failed to remove" if failed else "")
        if not args.drop or failed:
            raise RepoError(summary)
    else:
        summary = "verify complete, all blocks validated."
    if args.json:
        print_json({"Msg": summary, "Progress": n})
    else:
        print(summary + (" " * 20 if live else ""))
    return 0


def _disk_usage(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


def cmd_stat(args: argparse.Namespace) -> int:
    from ..store.open import engine_name

    with open_node() as node:
        size = _disk_usage(node.repo.path)
        stat: dict[str, Any] = {"RepoSize": size, "StorageMax": node.settings.datastore.storage_max or 0}
        if not args.size_only:
            blocks = node.blocks
            stat["NumObjects"] = len(blocks) if hasattr(blocks, "__len__") else sum(1 for _ in blocks.cids())
            stat["RepoPath"] = str(node.repo.path)
            stat["Version"] = REPO_VERSION
            stat["Engine"] = engine_name(node.repo)
    if args.json:
        print_json(stat)
        return 0
    order = ["NumObjects", "RepoSize", "StorageMax", "RepoPath", "Version", "Engine"]
    for key in order:
        if key in stat:
            value = _human(stat[key]) if args.human and key in ("RepoSize", "StorageMax") else stat[key]
            print(f"{key + ':':<12}{value}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from ..errors import RepoError
    from ..store.migrate import migrate
    from ..store.open import engine_name
    from .common import daemon_client, progress

    client = daemon_client()
    if client is not None:
        client.close()
        raise RepoError("a daemon is running on this repo: stop it before `jzfs repo migrate`")
    with open_node() as node:  # the store is not opened: migrate opens both engines itself
        source = engine_name(node.repo)
        with progress(None, enabled=args.progress, desc=f"{source} -> {args.engine}") as bar:
            n = migrate(node.repo, args.engine, keep_old=args.keep_old, on_block=bar.update,
                        limits=node.defaults.store)
    if args.json:
        print_json({"From": source, "To": args.engine, "Blocks": n})
    else:
        print(f"migrated {n} blocks from {source} to {args.engine}")
    return 0


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def register(sub: Any) -> None:
    p = sub.add_parser("repo", help="repository maintenance: gc, verify, stat, migrate")
    rsub = p.add_subparsers(dest="repo_cmd", metavar="SUBCOMMAND", required=True)

    g = rsub.add_parser("gc", help="delete blocks not reachable from a pin or a versioning ref")
    g.add_argument("-q", "--quiet", action="store_true", help="do not print removed CIDs")
    add_json_flag(g)
    g.set_defaults(func=cmd_gc)

    v = rsub.add_parser("verify", help="read every block and check it against its hash (Kubo's "
                        "`repo verify`; read-only unless --drop)")
    v.add_argument("--drop", action="store_true", help="remove corrupt blocks (a later fetch can "
                   "bring them back)")
    add_json_flag(v)
    v.set_defaults(func=cmd_verify)

    s = rsub.add_parser("stat", help="number of blocks and repo size")
    s.add_argument("-s", "--size-only", action="store_true")
    s.add_argument("-H", "--human", action="store_true")
    add_json_flag(s)
    s.set_defaults(func=cmd_stat)

    m = rsub.add_parser("migrate", help="move every block to another blockstore engine (verified; "
                        "the repo switches only when all are copied)")
    m.add_argument("--engine", required=True, help="pack (the default), lmdb, sqlite or flatfs")
    m.add_argument("--keep-old", action="store_true", help="keep the old engine's files")
    m.add_argument("--progress", action="store_true", help="show a progress bar")
    add_json_flag(m)
    m.set_defaults(func=cmd_migrate)
