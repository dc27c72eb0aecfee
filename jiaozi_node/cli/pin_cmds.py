"""`jzfs pin add|rm|ls|verify`, like `ipfs pin …` (local blocks only for now: `pin add` of a DAG
that is not complete locally fails with NotFound naming the first missing block)."""

from __future__ import annotations

import argparse
from typing import Any

from ..ipld.cid import CID
from ..store.pins import PIN_TYPES
from .common import add_json_flag, open_node, print_json


def _recursive(args: argparse.Namespace) -> bool:
    return args.recursive.lower() not in ("false", "0", "no")


def cmd_add(args: argparse.Namespace) -> int:
    cids = [CID.decode(c) for c in args.cids]
    recursive = _recursive(args)
    with open_node() as node:
        for cid in cids:
            node.pins.add(cid, recursive=recursive)
            print(f"pinned {cid} {'recursively' if recursive else 'directly'}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    cids = [CID.decode(c) for c in args.cids]
    with open_node() as node:
        for cid in cids:
            node.pins.rm(cid, recursive=_recursive(args))
            print(f"unpinned {cid}")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    with open_node() as node:
        if args.cids:
            rows = [(c, node.pins.pin_type(c)) for c in (CID.decode(s) for s in args.cids)]
            rows = [(c, t) for c, t in rows if args.type in ("all", t)]
        else:
            rows = node.pins.ls(args.type)
    if args.json:
        print_json({"Keys": {str(c): {"Type": t} for c, t in rows}})
    elif args.quiet:
        for c, _ in rows:
            print(c)
    else:
        for c, t in rows:
            print(f"{c} {t}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with open_node() as node:
        problems = node.pins.verify()
    for cid, msg in problems:
        print(f"{cid} {msg}")
    if not args.quiet and not problems:
        print("all pins are complete and verify")
    return 1 if problems else 0


def register(sub: Any) -> None:
    p = sub.add_parser("pin", help="keep blocks from garbage collection: add, rm, ls, verify")
    psub = p.add_subparsers(dest="pin_cmd", metavar="SUBCOMMAND", required=True)

    a = psub.add_parser("add", help="pin a DAG (recursive, default) or one block (-r=false)")
    a.add_argument("cids", nargs="+", metavar="CID")
    a.add_argument("-r", "--recursive", default="true", help="true (default) or false")
    a.set_defaults(func=cmd_add)

    r = psub.add_parser("rm", help="remove pins")
    r.add_argument("cids", nargs="+", metavar="CID")
    r.add_argument("-r", "--recursive", default="true", help="true (default) or false")
    r.set_defaults(func=cmd_rm)

    ls = psub.add_parser("ls", help="list pins")
    ls.add_argument("cids", nargs="*", metavar="CID")
    ls.add_argument("-t", "--type", default="all", choices=PIN_TYPES)
    ls.add_argument("-q", "--quiet", action="store_true", help="CIDs only")
    add_json_flag(ls)
    ls.set_defaults(func=cmd_ls)

    v = psub.add_parser("verify", help="check every pinned DAG is complete and verifies")
    v.add_argument("-q", "--quiet", action="store_true")
    v.set_defaults(func=cmd_verify)
