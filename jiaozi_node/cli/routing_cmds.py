"""`jzfs routing findprovs|findpeer|provide|get|put` and `jzfs stats provide|dht` (Kubo's names).

They act on the running daemon through its RPC API (`/api/v0/routing/*`, `/api/v0/stats/*`), as
Kubo's do (routing needs the node online). Text output as Kubo's: findprovs prints provider peer
IDs one per line, findpeer the peer's addresses one per line, get the raw value; `--json` prints
Kubo's routing query events (one JSON object per line) or the stats object.
"""

from __future__ import annotations

import argparse
import base64
import sys
from typing import Any

from ..errors import JzfsError
from .common import add_json_flag, bool_flag, daemon_client, esc, print_json, subcommand_group


def _client(args: argparse.Namespace, what: str) -> Any:
    client = daemon_client(args)
    if client is None:
        raise JzfsError(f"`{what}` needs a running daemon (start `jzfs daemon`)")
    return client


def cmd_findprovs(args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    CID.decode(args.cid)  # a bad CID is reported as such, with or without a daemon
    with _client(args, "routing findprovs") as client:
        for ev in client.ndjson("routing/findprovs", [args.cid], {"num-providers": args.num_providers}):
            if args.json:
                print_json(ev)
            elif ev.get("Type") == 4:
                for r in ev.get("Responses") or []:
                    print(f"{'provider: ' if args.verbose else ''}{esc(r['ID'])}", flush=True)
                    if args.verbose:
                        for a in r.get("Addrs") or []:
                            print(f"\t{esc(a)}")
    return 0


def cmd_findpeer(args: argparse.Namespace) -> int:
    with _client(args, "routing findpeer") as client:
        for ev in client.ndjson("routing/findpeer", [args.peer]):
            if args.json:
                print_json(ev)
            elif ev.get("Type") == 2:
                for r in ev.get("Responses") or []:
                    for a in r.get("Addrs") or []:
                        print(esc(a))
    return 0


def cmd_provide(args: argparse.Namespace) -> int:
    with _client(args, "routing provide") as client:
        for ev in client.ndjson("routing/provide", args.cids, {"recursive": args.recursive or None}):
            if args.json:
                print_json(ev)
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    with _client(args, "routing get") as client:
        for ev in client.ndjson("routing/get", [args.key]):
            if args.json:
                print_json(ev)
            elif ev.get("Type") == 5:
                sys.stdout.buffer.write(base64.b64decode(ev.get("Extra") or ""))
    sys.stdout.flush()
    return 0


def cmd_put(args: argparse.Namespace) -> int:
    from ..api.client import multipart_request

    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.file, "rb") as f:
            data = f.read()
    client = daemon_client(args)
    if client is None:
        if not args.allow_offline:
            raise JzfsError("`routing put` needs a running daemon (start `jzfs daemon`, or pass "
                            "--allow-offline to keep the record locally)")
        _put_offline(args.key, data)
        return 0
    with client:
        for ev in client.ndjson("routing/put", [args.key], {"allow-offline": args.allow_offline or None},
                                **multipart_request([("value-file", "application/octet-stream", [data])])):
            if args.json:
                print_json(ev)
            elif ev.get("Type") == 5 and ev.get("ID"):
                print(ev["ID"])
    return 0


def _put_offline(key: str, data: bytes) -> None:
    """Kubo's `routing put --allow-offline` on a node that is not running: the record is checked
    and kept locally instead of being sent. An `/ipns/` record goes into the IPNS resolve cache
    (`name resolve` and the daemon use it until its TTL/EOL); a `/pk/` record is checked only,
    as nothing here serves `/pk/` records without a daemon — that is said, not hidden."""
    from ..api.h_routing import parse_routing_key
    from ..ipns.name import IpnsName
    from ..ipns.service import IpnsService
    from .common import open_node

    rkey = parse_routing_key(key)
    if rkey.startswith(b"/pk/"):
        import time

        from ..routing.validators import default_validators, validate_record

        validate_record(default_validators(), rkey, data, now=time.time())
        raise JzfsError("the /pk/ record is valid, but only a running daemon stores /pk/ records "
                        "(start `jzfs daemon` and put it again)")
    if not rkey.startswith(b"/ipns/"):
        raise JzfsError(f"routing records under {key.split('/')[1]!r} are not accepted offline "
                        "(only /ipns/)")
    name = IpnsName.from_multihash(rkey[len(b"/ipns/"):])
    with open_node() as node, IpnsService.offline(node) as svc:
        if not svc.keep_record(name, data):
            print(f"kept the cached record for {name}: it is not older than this one", file=sys.stderr)


def _duration(ns: int) -> str:
    s = ns / 1e9
    if s < 1:
        return f"{s * 1e3:.3f}ms"
    if s < 60:
        return f"{s:.3f}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{int(m)}m{s:.3f}s"
    h, m = divmod(m, 60)
    return f"{int(h)}h{int(m)}m{s:.3f}s"


def cmd_stats_provide(args: argparse.Namespace) -> int:
    with _client(args, "stats provide") as client:
        st = client.json("stats/provide")
    if args.json:
        print_json(st)
        return 0
    rows = [("TotalProvides:", f"{st['TotalProvides']:,}"),
            ("AvgProvideDuration:", _duration(st["AvgProvideDuration"])),
            ("LastReprovideDuration:", _duration(st["LastReprovideDuration"])),
            ("LastReprovideBatchSize:", f"{st['LastReprovideBatchSize']:,}")]
    rows += [(f"{k}:", f"{v:,}" if isinstance(v, int) else str(v)) for k, v in st.items()
             if k not in ("TotalProvides", "AvgProvideDuration", "LastReprovideDuration",
                          "LastReprovideBatchSize")]
    for k, v in rows:
        print(f"{k:<24}{v}")
    return 0


def cmd_stats_dht(args: argparse.Namespace) -> int:
    with _client(args, "stats dht") as client:
        tables = list(client.ndjson("stats/dht", args.dht))
    if args.json:
        for t in tables:
            print_json(t)
        return 0
    for t in tables:
        buckets = t.get("Buckets") or []
        total = sum(len(b.get("Peers") or []) for b in buckets)
        print(f"DHT {t.get('Name', 'dht')} ({total} peers):")
        for i, b in enumerate(buckets):
            peers = b.get("Peers") or []
            print(f"  Bucket {i:2d} ({len(peers)} peers) - refreshed {b.get('LastRefresh') or 'never'}:")
            print("    Peer                                                  last useful  last queried  Agent Version")
            for p in peers:
                mark = "@" if p.get("Connected") else " "
                print(f"  {mark} {p['ID']:<53} {p.get('LastUsefulAt') or '-':<12} "
                      f"{p.get('LastQueriedAt') or '-':<13} {esc(p.get('AgentVersion') or '')}")
        print()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    r = subcommand_group(sub, "routing", "find providers, peers and records; announce content")
    p = r.add_parser("findprovs", help="peers that provide a CID (peer IDs, one per line)")
    p.add_argument("cid")
    p.add_argument("-n", "--num-providers", type=int, default=20, help="how many to find (20)")
    p.add_argument("-v", "--verbose", action="store_true", help="also print their addresses")
    add_json_flag(p)
    p.set_defaults(func=cmd_findprovs)
    p = r.add_parser("findpeer", help="the addresses of a peer (one per line)")
    p.add_argument("peer", metavar="PEER_ID")
    add_json_flag(p)
    p.set_defaults(func=cmd_findpeer)
    p = r.add_parser("provide", help="announce that this node provides CIDs")
    p.add_argument("cids", nargs="+", metavar="CID")
    p.add_argument("-r", "--recursive", action="store_true", help="every block of the DAGs")
    add_json_flag(p)
    p.set_defaults(func=cmd_provide)
    p = r.add_parser("get", help="the best valid record under a key (/ipns/ID, /pk/ID)")
    p.add_argument("key")
    add_json_flag(p)
    p.set_defaults(func=cmd_get)
    p = r.add_parser("put", help="store a record under a key (validated first)")
    p.add_argument("key")
    p.add_argument("file", metavar="FILE", help="the record's bytes ('-' for stdin)")
    bool_flag(p, "--allow-offline", default=False,
              help="without a daemon, check the record and keep it locally instead of failing (as Kubo)")
    add_json_flag(p)
    p.set_defaults(func=cmd_put)

    s = subcommand_group(sub, "stats", "statistics of the running daemon")
    p = s.add_parser("provide", help="providing: records announced, reprovide times, queue")
    add_json_flag(p)
    p.set_defaults(func=cmd_stats_provide)
    p = s.add_parser("dht", help="the DHT's routing table")
    p.add_argument("dht", nargs="*", help="which DHTs (default: all)")
    add_json_flag(p)
    p.set_defaults(func=cmd_stats_dht)
