"""`jzfs name publish|resolve|inspect`: IPNS, with Kubo's flags and output.

With a daemon running, publish and resolve go through it (its router: DHT + delegated routers).
Without one, `publish` needs `--allow-offline` (the record is kept and the daemon republishes it)
and `resolve` uses what needs no libp2p host: the resolve cache, our own records, delegated
routers (`Routing.DelegatedRouters`), trustless gateways (`Gateway.Fetch`, IPIP-351) and DNSLink
(`DNS.Resolvers`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import (
    add_json_flag,
    bool_flag,
    daemon_client,
    esc,
    open_node,
    print_json,
    subcommand_group,
)


def _offline(fn: Any) -> Any:
    import trio

    from ..ipns.service import IpnsService

    with open_node() as node, IpnsService.offline(node) as svc:
        return trio.run(fn, svc)


def cmd_publish(args: argparse.Namespace) -> int:
    from ..ipns.publisher import parse_duration

    lifetime = parse_duration(args.lifetime) if args.lifetime else None
    ttl = parse_duration(args.ttl) if args.ttl else None
    client = daemon_client(args)
    if client is not None:
        with client:
            res = client.json("name/publish", [args.path], {
                "key": args.key, "lifetime": args.lifetime, "ttl": args.ttl,
                "allow-offline": args.allow_offline or None, "v2-only": args.v2_only or None})
        name, value = res["Name"], res["Value"]
    else:
        async def run(svc: Any) -> Any:
            return await svc.publish(args.path, key=args.key, lifetime_s=lifetime, ttl_s=ttl,
                                     v2_only=args.v2_only, allow_offline=args.allow_offline)

        n, value = _offline(run)
        name = str(n)
    if args.json:
        print_json({"Name": name, "Value": value})
    elif not args.quieter:
        print(f"Published to {name}: {esc(value)}")
    else:
        print(name)
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    client = daemon_client(args)
    if client is not None:
        with client:
            arg = [args.name] if args.name else []
            path = client.json("name/resolve", arg, {"recursive": args.recursive,
                                                     "nocache": args.nocache or None})["Path"]
    else:
        async def run(svc: Any) -> Any:
            from ..repo import Repo

            target = args.name or "/ipns/" + Repo.open().peer_id
            return await svc.resolve(target, recursive=args.recursive, nocache=args.nocache)

        path = _offline(run)
    print_json({"Path": path}) if args.json else print(esc(path))
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from ..ipns.inspect import inspect_record

    data = sys.stdin.buffer.read(64 * 1024) if args.record in (None, "-") else \
        Path(args.record).read_bytes()
    res = inspect_record(data, verify=args.verify)
    if args.json:
        print_json(res)
        return 0 if res["Validation"]["Valid"] or not args.verify else 1
    e, v = res["Entry"], res["Validation"]
    ttl = e.get("TTL")
    lines = [f"Value:         {esc(e.get('Value', ''))}",
             f"Validity Type: {'EOL' if e.get('ValidityType') == 0 else e.get('ValidityType')}",
             f"Validity:      {e.get('Validity', '')}",
             f"Sequence:      {e.get('Sequence', '')}",
             f"TTL:           {ttl / 1e9:g}s" if isinstance(ttl, int) else "TTL:",
             f"PublicKey:     {e['PublicKey'] or '(inlined in the name)'}",
             f"Signature V1:  {e['SignatureV1'] or '(none)'}",
             f"Signature V2:  {e['SignatureV2'] or '(none)'}",
             "", "Validation results:", f"\tValid:     {str(v['Valid']).lower()}"]
    if v["Name"]:
        lines.append(f"\tName:      {v['Name']}")
    if v["Reason"]:
        lines.append(f"\tReason:    {esc(v['Reason'])}")
    print("\n".join(lines))
    return 0 if v["Valid"] or not args.verify else 1


def register(sub: argparse._SubParsersAction) -> None:
    g = subcommand_group(sub, "name", "IPNS names (Kubo's `ipfs name`)")
    p = g.add_parser("publish", help="publish an IPNS record pointing at a path")
    p.add_argument("path", help="/ipfs/CID[/path], CID, or /ipns/NAME")
    p.add_argument("--key", "-k", default="self", help="key name (jzfs key list); default self")
    p.add_argument("--lifetime", "-t", default=None, help="record validity (default 48h, Ipns.RecordLifetime)")
    p.add_argument("--ttl", default=None, help="how long resolvers may cache it (default 1h)")
    bool_flag(p, "--allow-offline", default=False, help="keep the record locally when it cannot be published")
    bool_flag(p, "--v2-only", default=False, help="no V1 fields (smaller; not for very old Kubo)")
    p.add_argument("--quieter", "-Q", action="store_true", help="print only the name")
    add_json_flag(p)
    p.set_defaults(func=cmd_publish)
    p = g.add_parser("resolve", help="the path an /ipns/ name (or DNSLink domain) points at")
    p.add_argument("name", nargs="?", default=None, help="/ipns/NAME[/path] (default: self)")
    bool_flag(p, "--recursive", "-r", default=True, help="follow names until an /ipfs/ path")
    bool_flag(p, "--nocache", "-n", default=False, help="do not use the resolve cache")
    add_json_flag(p)
    p.set_defaults(func=cmd_resolve)
    p = g.add_parser("inspect", help="print and verify an IPNS record file")
    p.add_argument("record", nargs="?", default=None, help="record file (default stdin)")
    p.add_argument("--verify", default=None, metavar="NAME", help="verify against this name")
    add_json_flag(p)
    p.set_defaults(func=cmd_inspect)
