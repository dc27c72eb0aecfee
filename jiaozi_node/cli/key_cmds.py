"""`jzfs key gen|list|rm|rename|export|import`: IPNS keys in the repo, Kubo's names and output.

Keys are files in `$JZFS_PATH/keystore` (see jiaozi_node.ipns.keystore), so these commands work
on the repo directly whether or not a daemon runs (the daemon reads the same files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InvalidInput
from .common import add_json_flag, esc, print_json, subcommand_group


def _keystore() -> object:
    from ..ipns.keystore import Keystore
    from ..repo import Repo

    return Keystore.for_repo(Repo.open())


def cmd_gen(args: argparse.Namespace) -> int:
    info = _keystore().generate(args.name, args.type, size=args.size or 2048)  # type: ignore[attr-defined]
    print_json(info.kubo_json()) if args.json else print(info.id)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    keys = _keystore().list()  # type: ignore[attr-defined]
    if args.json:
        print_json({"Keys": [k.kubo_json() for k in keys]})
    elif args.l:
        for k in keys:
            print(f"{k.id} {esc(k.name)}")
    else:
        for k in keys:
            print(esc(k.name))
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    ks = _keystore()
    removed = [ks.remove(n) for n in args.names]  # type: ignore[attr-defined]
    if args.json:
        print_json({"Keys": [k.kubo_json() for k in removed]})
    else:
        for k in removed:
            print(f"{k.id} {k.name}" if args.l else k.name)
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    info, existed = _keystore().rename(args.old, args.new, force=args.force)  # type: ignore[attr-defined]
    if args.json:
        print_json({"Was": args.old, "Now": args.new, "Id": str(info.id), "Overwrite": existed})
    else:
        print(f"Key {info.id} was renamed to \"{args.new}\"" + (" (overwritten)" if existed else ""))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    data = _keystore().export(args.name, args.format)  # type: ignore[attr-defined]
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    ext = ".pem" if args.format == "pem-pkcs8-cleartext" else ".key"
    out = Path(args.output or f"{args.name}{ext}")
    if out.exists():
        raise InvalidInput(f"{out} already exists")
    import os

    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    fmt = args.format
    if fmt is None:
        fmt = "pem-pkcs8-cleartext" if data.lstrip().startswith(b"-----BEGIN") else "libp2p-protobuf-cleartext"
    info = _keystore().import_key(args.name, data, fmt,  # type: ignore[attr-defined]
                                  allow_any_type=args.allow_any_key_type)
    print_json(info.kubo_json()) if args.json else print(info.id)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    g = subcommand_group(sub, "key", "IPNS keys (Kubo's `ipfs key`)")
    p = g.add_parser("gen", help="create a new key")
    p.add_argument("name")
    p.add_argument("--type", "-t", default="ed25519", choices=("ed25519", "rsa"))
    p.add_argument("--size", "-s", type=int, default=None, help="RSA key size in bits")
    add_json_flag(p)
    p.set_defaults(func=cmd_gen)
    p = g.add_parser("list", help="list keys (self first)")
    p.add_argument("-l", action="store_true", help="show key IDs (k51…)")
    add_json_flag(p)
    p.set_defaults(func=cmd_list)
    p = g.add_parser("rm", help="remove keys")
    p.add_argument("names", nargs="+", metavar="name")
    p.add_argument("-l", action="store_true", help="show key IDs")
    add_json_flag(p)
    p.set_defaults(func=cmd_rm)
    p = g.add_parser("rename", help="rename a key")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--force", "-f", action="store_true", help="overwrite a key with the new name")
    add_json_flag(p)
    p.set_defaults(func=cmd_rename)
    formats = ("libp2p-protobuf-cleartext", "pem-pkcs8-cleartext")
    p = g.add_parser("export", help="write a key to a file (cleartext: keep it safe)")
    p.add_argument("name")
    p.add_argument("--output", "-o", default=None, help="file (default NAME.key / NAME.pem; - for stdout)")
    p.add_argument("--format", "-f", default=formats[0], choices=formats)
    p.set_defaults(func=cmd_export)
    p = g.add_parser("import", help="import a key file as NAME")
    p.add_argument("name")
    p.add_argument("file", help="key file (- for stdin)")
    p.add_argument("--format", "-f", default=None, choices=formats,
                   help="default: PEM if the file looks like one, else the libp2p protobuf")
    p.add_argument("--allow-any-key-type", action="store_true",
                   help="accept key types other than ed25519 and rsa")
    add_json_flag(p)
    p.set_defaults(func=cmd_import)
