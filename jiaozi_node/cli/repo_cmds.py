"""`jzfs init`, `jzfs config`, `jzfs version`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .. import __version__
from ..errors import InvalidInput
from .common import print_json


def cmd_init(args: argparse.Namespace) -> int:
    from ..repo import Repo, default_path

    path = default_path()
    if args.db and args.db.startswith(("postgres://", "postgresql://")):
        # connect now and create the schema, so a wrong URL fails here (one line) rather than at
        # the first versioning command; nothing is written to the repo path before this succeeds
        from ..store.refs import open_refstore

        open_refstore(args.db, path).close()
    repo = Repo.init(path, db=args.db, profile=args.profile)
    _create_stores(repo)
    print(f"initialized jzfs repository at {repo.path}")
    print(f"peer identity: {repo.peer_id}")
    return 0


def _create_stores(repo: Any) -> None:
    """Make the blockstore, the pins database and the provide queue now, as `ipfs init` makes
    its datastore, so that the first `jzfs add` does not pay for creating them (SQLite switching
    new files to WAL and creating tables: tens of ms of fsyncs)."""
    from ..node import Node
    from ..routing.provider import ProvideQueue, providing_enabled

    with Node(repo) as node:
        node.pins  # noqa: B018 - opens (creates) the blockstore and pins.db
        if providing_enabled(node):
            ProvideQueue.open(repo.path, limits=node.defaults.routing,
                              busy_timeout_ms=node.defaults.store.sqlite_busy_timeout_ms).close()


def cmd_config(args: argparse.Namespace) -> int:
    from ..repo import Repo

    repo = Repo.open()
    extras = getattr(args, "extras", [])
    if extras and args.value is None and args.key is not None and len(extras) == 1:
        args.value = extras[0]
    elif extras:
        raise InvalidInput(f"unexpected arguments: {' '.join(extras)}")
    if args.show or args.key is None:
        conf = dict(repo.config)
        conf["Identity"] = {"PeerID": repo.peer_id}  # never print the private key
        print(json.dumps(conf, indent=2))
        return 0
    if args.key.split(".")[:2] == ["Identity", "PrivKey"]:  # Kubo's refusal and message
        raise InvalidInput("cannot show or change private key through API")
    if args.value is None:
        from ..user_config import effective_config_value

        try:  # a key the file does not set shows the node's default, as `ipfs config` does
            value = effective_config_value(repo.config, args.key)
        except KeyError:
            value = repo.get_config(args.key)  # raises "config key … has no value"
        if args.key == "Identity" and isinstance(value, dict):
            value.pop("PrivKey", None)  # never print the private key (as --show)
        if isinstance(value, str):
            print(value)
        else:
            print(json.dumps(value, indent=2))
        return 0
    if args.json:
        try:
            value = json.loads(args.value)
        except ValueError as exc:
            raise InvalidInput(f"--json value is not valid JSON: {exc}") from None
    elif args.bool:
        if args.value not in ("true", "false"):
            raise InvalidInput("--bool takes true or false")
        value = args.value == "true"
    else:
        value = args.value
    if args.key.startswith("Identity."):
        raise InvalidInput("the identity cannot be changed with `jzfs config`")
    repo.set_config(args.key, value)
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    """Kubo's `ipfs version` and its flags; the JSON is the RPC API's `/api/v0/version`."""
    pyver = sys.version.split()[0]
    info = {"Version": __version__, "Commit": "", "Repo": "1", "System": f"{os.uname().machine}/{sys.platform}",
            "Golang": f"python{pyver}"}
    if args.json:
        print_json(info)
    elif args.all:
        print(f"jzfs version: {__version__}\nRepo version: {info['Repo']}\nSystem version: {info['System']}\n"
              f"Python version: {pyver}")
    elif args.repo:
        print(info["Repo"])
    elif args.number:
        print(__version__)
    else:
        print(f"jzfs version {__version__}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a repository (identity + config)")
    p.add_argument("--db", default=None, help="refs store: sqlite (default) or postgres://user:pass@host:port/db")
    p.add_argument("--profile", default=None, help="default import profile (unixfs-v1-2025 | unixfs-v0-2015)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("config", help="get or set config values (like `ipfs config`)")
    p.add_argument("key", nargs="?")
    p.add_argument("value", nargs="?")
    p.add_argument("--json", action="store_true", help="parse VALUE as JSON")
    p.add_argument("--bool", action="store_true", help="parse VALUE as a boolean")
    p.add_argument("--show", action="store_true", help="print the whole config (without the private key)")
    p.set_defaults(func=cmd_config, extras_ok=True)

    p = sub.add_parser("version", help="print the version")
    p.add_argument("--json", action="store_true")
    p.add_argument("-n", "--number", action="store_true", help="only the version number")
    p.add_argument("--commit", action="store_true", help="accepted as in Kubo (no commit hash is built in)")
    p.add_argument("--repo", action="store_true", help="the repo version")
    p.add_argument("--all", action="store_true", help="version, repo, system and Python versions")
    p.set_defaults(func=cmd_version)
