"""`jzfs pin add|rm|ls|verify`, like `ipfs pin …` (local blocks only for now: `pin add` of a DAG
that is not complete locally fails with NotFound naming the first missing block)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import LazyChoices, add_json_flag, bool_flag, esc, open_node, print_json


def cmd_add(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    recursive = args.recursive
    with open_node() as node:
        # a CID, or a path (`/ipfs/CID/a/b`; `/ipns/…` was resolved by cli/main) as Kubo takes
        cids = [CID.decode(c) if "/" not in c else node.files.resolve(c) for c in args.cids]
        for cid in cids:
            node.pins.add(cid, recursive=recursive)
            if not args.json:
                print(f"pinned {cid} {'recursively' if recursive else 'directly'}")
    if args.json:
        print_json({"Pins": [str(c) for c in cids]})  # Kubo's `pin add --enc=json`
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    cids = [CID.decode(c) for c in args.cids]
    with open_node() as node:
        for cid in cids:
            node.pins.rm(cid, recursive=args.recursive)
            if not args.json:
                print(f"unpinned {cid}")
    if args.json:
        print_json({"Pins": [str(c) for c in cids]})  # Kubo's `pin rm --enc=json`
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

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
    if args.json:
        # Kubo's `pin verify --enc=json`: one object per pin that failed (all of them with --verbose)
        for cid, msg in problems:
            print_json({"Cid": str(cid), "Ok": False, "BadNodes": [{"Cid": str(cid), "Err": msg}]})
        return 1 if problems else 0
    for cid, msg in problems:
        print(f"{cid} {esc(msg)}")
    if not args.quiet and not problems:
        print("all pins are complete and verify")
    return 1 if problems else 0


def register(sub: Any) -> None:
    p = sub.add_parser("pin", help="keep blocks from garbage collection: add, rm, ls, verify")
    psub = p.add_subparsers(dest="pin_cmd", metavar="SUBCOMMAND", required=True)

    a = psub.add_parser("add", help="pin a DAG (recursive, default) or one block (-r=false)")
    a.add_argument("cids", nargs="+", metavar="CID")
    bool_flag(a, "--recursive", "-r", default=True, help="pin the whole DAG (-r=false: one block)")
    add_json_flag(a)
    a.set_defaults(func=cmd_add, ipns_paths=("cids",))  # /ipns/NAME too (ipns/paths.py)

    r = psub.add_parser("rm", help="remove pins")
    r.add_argument("cids", nargs="+", metavar="CID")
    bool_flag(r, "--recursive", "-r", default=True, help="remove a recursive pin (-r=false: a direct one)")
    add_json_flag(r)
    r.set_defaults(func=cmd_rm)

    ls = psub.add_parser("ls", help="list pins")
    ls.add_argument("cids", nargs="*", metavar="CID")
    ls.add_argument("-t", "--type", default="all", metavar="NAME",
                    choices=LazyChoices("jiaozi_node.store.pins", "PIN_TYPES"),
                    help="%(choices)s (default %(default)s)")
    ls.add_argument("-q", "--quiet", action="store_true", help="CIDs only")
    add_json_flag(ls)
    ls.set_defaults(func=cmd_ls)

    v = psub.add_parser("verify", help="check every pinned DAG is complete and verifies")
    v.add_argument("-q", "--quiet", action="store_true")
    add_json_flag(v)
    v.set_defaults(func=cmd_verify)
