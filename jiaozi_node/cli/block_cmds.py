"""`jzfs block put|get|stat|rm`: raw blocks, like `ipfs block …`.

`put` hashes the input (bounded by IpldLimits.max_block_bytes, as Kubo refuses blocks over 2 MiB
without --allow-big-block) and checks it decodes under the codec it claims, so a later DAG walk
(pins, GC) never meets an undecodable block. `get` verifies the hash on read: a block whose bytes
rotted on disk is reported (CorruptBlock) and never written to stdout. `rm` refuses pinned
blocks (recursive, direct or indirect) and blocks kept by a GC root provider.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import InvalidInput, JzfsError, LimitExceeded, NotFound

if TYPE_CHECKING:
    from ..ipld.block import Block
    from ..ipld.cid import CID
from .common import add_json_flag, bool_flag, open_node, print_json


def _read_bounded(f: BinaryIO, limit: int, name: str) -> bytes:
    data = f.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded(f"{name}: block is over the {limit}-byte limit")
    return data


def make_block(data: bytes, *, codec: str, mhtype: str, cid_version: int) -> Block:
    from ..ipld import codecs, multihash
    from ..ipld.block import Block
    from ..ipld.cid import CID, DAG_PB, codec_code

    code = codec_code(codec)
    if cid_version == 0 and (code != DAG_PB or mhtype != "sha2-256"):
        raise InvalidInput("--cid-version 0 needs --cid-codec dag-pb and --mhtype sha2-256")
    if cid_version not in (0, 1):
        raise InvalidInput("--cid-version must be 0 or 1")
    block = Block(CID(cid_version, code, multihash.digest(multihash.code_of(mhtype), data)), data)
    try:
        codecs.decode(block.cid, data)
    except JzfsError as exc:
        raise InvalidInput(f"input is not valid {codec}: {exc}") from None
    return block


def cmd_put(args: argparse.Namespace) -> int:
    with open_node() as node:
        limit = node.defaults.ipld.max_block_bytes
        inputs: list[tuple[str, bytes]] = []
        if not args.files or args.files == ["-"]:
            inputs.append(("stdin", _read_bounded(sys.stdin.buffer, limit, "stdin")))
        else:
            for name in args.files:
                with open(name, "rb") as f:
                    inputs.append((name, _read_bounded(f, limit, name)))
        blocks = [make_block(d, codec=args.cid_codec, mhtype=args.mhtype, cid_version=args.cid_version)
                  for _, d in inputs]
        with node.pins.lock.shared():
            node.blocks.put_many(blocks)
            if args.pin:
                for b in blocks:
                    node.pins.add(b.cid)
    for b in blocks:
        key = b.cid.encode(args.cid_base or "")
        if args.json:
            print_json({"Key": key, "Size": len(b.data)})  # Kubo's `block put --enc=json`
        else:
            print(key)
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    cid = CID.decode(args.cid)
    with open_node() as node:
        data = node.blocks.get(cid)  # raises CorruptBlock before a byte is written
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def cmd_stat(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    cid = CID.decode(args.cid)
    with open_node() as node:
        size = node.blocks.size(cid)
    if args.json:
        print_json({"Key": str(cid), "Size": size})
    else:
        print(f"Key: {cid}\nSize: {size}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    cids = [CID.decode(c) for c in args.cids]
    failed = False
    with open_node() as node, node.pins.lock.exclusive():
        keep = node.pins.protected_keys()
        for cid in cids:
            try:
                if cid.multihash in keep:
                    raise JzfsError(f"cannot remove {cid}: {_pin_reason(node.pins, cid)}")
                node.blocks.delete(cid)
            except NotFound:
                if args.force:
                    continue
                failed = True
                print(f"Error: cannot remove {cid}: block not found", file=sys.stderr)
                continue
            except JzfsError as exc:
                failed = True
                print(f"Error: {exc}", file=sys.stderr)
                continue
            if not args.quiet:
                print(f"removed {cid}")
    return 1 if failed else 0


def _pin_reason(pins: Any, cid: CID) -> str:
    try:
        return f"pinned ({pins.pin_type(cid)})"
    except NotFound:
        return "kept by a GC root (e.g. a versioning ref)"


def register(sub: Any) -> None:
    b = sub.add_parser("block", help="raw blocks: put, get, stat, rm")
    bsub = b.add_subparsers(dest="block_cmd", metavar="SUBCOMMAND", required=True)

    p = bsub.add_parser("put", help="store a block from stdin or files; prints its CID")
    p.add_argument("files", nargs="*", metavar="FILE", help="files (default: stdin)")
    p.add_argument("--cid-codec", default="raw", help="codec of the CID: raw (default), dag-pb, dag-cbor, dag-json")
    p.add_argument("--mhtype", default="sha2-256", help="hash function: sha2-256 (default), sha2-512")
    p.add_argument("--cid-version", type=int, default=1, help="0 (dag-pb + sha2-256 only) or 1 (default)")
    p.add_argument("--cid-base", default=None, help="multibase of the printed CIDv1 (default base32)")
    bool_flag(p, "--pin", default=False, help="pin the block(s) recursively")
    add_json_flag(p)
    p.set_defaults(func=cmd_put)

    p = bsub.add_parser("get", help="write a block's bytes to stdout (verified)")
    p.add_argument("cid")
    p.set_defaults(func=cmd_get)

    p = bsub.add_parser("stat", help="a block's key and size")
    p.add_argument("cid")
    add_json_flag(p)
    p.set_defaults(func=cmd_stat)

    p = bsub.add_parser("rm", help="delete blocks (refuses pinned ones)")
    p.add_argument("cids", nargs="+", metavar="CID")
    p.add_argument("-f", "--force", action="store_true", help="ignore blocks that do not exist")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_rm)
