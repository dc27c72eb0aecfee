"""`jzfs id`, `jzfs swarm …`, `jzfs bootstrap …`.

`id` works offline (no addresses) or reads the running daemon's `daemon.json`. `swarm` commands
act on the running daemon through its RPC API (`$JZFS_PATH/api`, Kubo's `/api/v0/swarm/*`).
`bootstrap` only edits the config: nothing is dialed until the daemon starts.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, JzfsError, NotFound

if TYPE_CHECKING:
    from ..repo import Repo
from .common import add_json_flag, esc, print_json
from .leave import leave_after_command


def _agent_version() -> str:
    from ..config import AGENT_VERSION  # config loads only when a command uses it (start-up time)

    return AGENT_VERSION


def _public_bootstrap_peers() -> list[str]:
    from ..config import PUBLIC_BOOTSTRAP_PEERS

    return list(PUBLIC_BOOTSTRAP_PEERS)


def register(sub: Any) -> None:
    p = sub.add_parser("id", help="show this node's (or a connected peer's) identity and addresses")
    p.add_argument("peer", nargs="?", help="peer ID of a connected peer (needs the daemon)")
    p.add_argument("-f", "--format", default=None, metavar="TEMPLATE",
                   help="print with this template, as Kubo: <id> <aver> <pver> <pubkey> <addrs> <protocols>")
    add_json_flag(p)
    p.set_defaults(func=cmd_id)

    sw = sub.add_parser("swarm", help="peers of the running daemon")
    ssub = sw.add_subparsers(dest="swarm_cmd", metavar="SUBCOMMAND", required=True)
    c = ssub.add_parser("connect", help="connect to a peer: /ip4/…/tcp/…/p2p/ID")
    c.add_argument("addrs", nargs="+", metavar="MULTIADDR")
    add_json_flag(c)
    c.set_defaults(func=cmd_swarm_connect)
    d = ssub.add_parser("disconnect", help="close connections to a peer (multiaddr or peer ID)")
    d.add_argument("addrs", nargs="+", metavar="MULTIADDR")
    d.set_defaults(func=cmd_swarm_disconnect)
    pe = ssub.add_parser("peers", help="list connected peers")
    pe.add_argument("-v", "--verbose", action="store_true")
    add_json_flag(pe)
    pe.set_defaults(func=cmd_swarm_peers)
    a = ssub.add_parser("addrs", help="known addresses of connected peers; `addrs local`: ours")
    a.add_argument("which", nargs="?", choices=["local"])
    a.add_argument("--id", action="store_true", help="with `local`: append /p2p/<our ID>")
    add_json_flag(a)
    a.set_defaults(func=cmd_swarm_addrs)

    b = sub.add_parser("bootstrap", help="peers the daemon dials at start (empty by default)")
    bsub = b.add_subparsers(dest="bootstrap_cmd", metavar="SUBCOMMAND", required=True)
    bl = bsub.add_parser("list", help="show the bootstrap list")
    add_json_flag(bl)
    bl.set_defaults(func=cmd_bootstrap_list)
    ba = bsub.add_parser("add", help="add peers; --default adds the PUBLIC IPFS bootstrap peers (opt-in)")
    ba.add_argument("addrs", nargs="*", metavar="MULTIADDR")
    ba.add_argument("--default", action="store_true",
                    help="add Kubo's public bootstrap peers: the daemon will then dial the public network")
    ba.set_defaults(func=cmd_bootstrap_add)
    br = bsub.add_parser("rm", help="remove peers (or --all)")
    br.add_argument("addrs", nargs="*", metavar="MULTIADDR")
    br.add_argument("--all", action="store_true")
    br.set_defaults(func=cmd_bootstrap_rm)


# ----------------------------------------------------------------------------- daemon access


def _daemon_info(repo: Repo | _RepoPaths) -> dict[str, Any]:
    from .daemon_cmd import running_daemon

    return running_daemon(repo)


class _RepoPaths:
    """What `_rpc` reads of a repo (`path`, `api_file`), for a repo that exists."""

    def __init__(self, path: str) -> None:
        from pathlib import Path

        self.path = Path(path)
        self.api_file = self.path / "api"  # Repo.api_file


def _rpc_repo() -> Any:
    """The repo of a `swarm` command: not opened when it exists (Repo.open loads config.py and
    parses the config, ~35 ms of the command's start, and `_rpc` needs only its paths); a
    missing one is made by Repo.open, as before."""
    import os

    from .common import repo_path

    path = repo_path()
    if os.path.exists(os.path.join(path, "config")):  # config.CONFIG_FILE
        return _RepoPaths(path)
    from ..repo import Repo

    return Repo.open()


def _rpc(repo: Repo | _RepoPaths, command: str, args: list[str] | None = None,
         params: dict[str, str] | None = None) -> Any:
    """POST /api/v0/<command> on the running daemon; the decoded JSON answer."""
    from ..api.client import ApiClient, api_url, auth_header

    try:
        _daemon_info(repo)
    except NotFound:
        raise JzfsError(f"`{command.replace('/', ' ')}` needs a running daemon (start `jzfs daemon`)") from None
    try:
        api = repo.api_file.read_text().strip()
    except FileNotFoundError:
        raise JzfsError("the running daemon has no RPC API (API service not available)") from None
    try:
        url = api_url(api)
    except InvalidInput:
        raise JzfsError(f"cannot use API address {api!r}") from None
    with ApiClient(url, timeout=60.0, authorization=auth_header(repo.path)) as client:
        # ApiError (a JzfsError) names the daemon's answer
        return client.json(command, args or [], params)


# ----------------------------------------------------------------------------- id


def cmd_id(args: Any) -> int:
    from ..repo import Repo

    repo = Repo.open()
    if args.peer and args.peer != repo.peer_id:
        from ..routing.http.records import parse_peer_id

        parse_peer_id(args.peer)  # a bad peer ID is said to be one, with or without a daemon
        info = _rpc(repo, "id", [args.peer])
    else:
        try:
            d = _daemon_info(repo)
            info = {k: d[k] for k in ("ID", "Addresses", "AgentVersion", "Protocols")}
        except NotFound:
            info = {"ID": repo.peer_id, "Addresses": [], "Protocols": []}
        info = {"ID": info["ID"],
                "PublicKey": base64.b64encode(repo.identity.public_key_protobuf).decode(),
                "Addresses": info["Addresses"], "AgentVersion": info.get("AgentVersion") or _agent_version(),
                "Protocols": info["Protocols"]}
    if args.format is not None:
        sys.stdout.write(format_id(info, args.format))
    elif args.json:
        print_json(info)  # Kubo's `--enc=json`: one line
    else:
        print(json.dumps(info, indent="\t"))  # Kubo's `ipfs id`: the same JSON, tab-indented
    sys.stdout.flush()
    return 0


PROTOCOL_VERSION = "ipfs/0.1.0"  # identify's protocolVersion, Kubo's `<pver>`


def format_id(info: dict[str, Any], template: str) -> str:
    """Kubo's `ipfs id -f`: `<id>`, `<aver>`, `<pver>`, `<pubkey>`, `<addrs>` and `<protocols>`
    (one per line) replaced, `\\n` and `\\t` turned into newline and tab; no newline added."""
    template = template.replace("\\n", "\n").replace("\\t", "\t")  # before: a peer's values stay escaped
    return (template.replace("<id>", esc(info["ID"])).replace("<aver>", esc(info["AgentVersion"]))
            .replace("<pver>", PROTOCOL_VERSION).replace("<pubkey>", esc(info["PublicKey"]))
            .replace("<addrs>", "\n".join(map(esc, info["Addresses"])))
            .replace("<protocols>", "\n".join(map(esc, info["Protocols"]))))


# ----------------------------------------------------------------------------- swarm


def cmd_swarm_connect(args: Any) -> int:
    leave_after_command()  # it only prints
    out = _rpc(_rpc_repo(), "swarm/connect", args.addrs)
    if args.json:
        print_json({"Strings": list(out.get("Strings", []))})  # Kubo's `swarm connect --enc=json`
        return 0
    for line in out.get("Strings", []):
        print(line)
    return 0


def cmd_swarm_disconnect(args: Any) -> int:
    out = _rpc(_rpc_repo(), "swarm/disconnect", args.addrs)
    for line in out.get("Strings", []):
        print(line)
    return 0


def cmd_swarm_peers(args: Any) -> int:
    out = _rpc(_rpc_repo(), "swarm/peers", params={"verbose": "true"} if args.verbose else None)
    if args.json:
        print_json(out)
        return 0
    for p in out.get("Peers") or []:
        line = esc(f"{p['Addr']}/p2p/{p['Peer']}")
        if args.verbose:
            line += f"  {p.get('Direction', '')} {p.get('Muxer', '')}"
        print(line)
    return 0


def cmd_swarm_addrs(args: Any) -> int:
    from ..repo import Repo

    repo = Repo.open()
    if args.which == "local":
        out = _rpc(repo, "swarm/addrs/local", params={"id": "true"} if args.id else None)
        if args.json:
            print_json(out)
        else:
            for a in out.get("Strings", []):
                print(esc(a))
        return 0
    out = _rpc(repo, "swarm/addrs")
    if args.json:
        print_json(out)
        return 0
    for pid, addrs in sorted((out.get("Addrs") or {}).items()):
        print(f"{esc(pid)} ({len(addrs)})")
        for a in addrs:
            print(f"\t{esc(a)}")
    return 0


# ----------------------------------------------------------------------------- bootstrap


def _check_peer_addr(addr: str) -> str:
    from ..net.addrs import parse_peer_multiaddr  # (not py-libp2p's: ~0.6 s to import)

    parse_peer_multiaddr(addr)
    return addr


def cmd_bootstrap_list(args: Any) -> int:
    from ..repo import Repo

    peers = list(Repo.open().settings.bootstrap)
    if args.json:
        print_json({"Peers": peers})  # Kubo's `bootstrap list --enc=json`
        return 0
    for a in peers:
        print(a)
    return 0


def cmd_bootstrap_add(args: Any) -> int:
    from ..repo import Repo

    if not args.addrs and not args.default:
        raise InvalidInput("give multiaddrs to add, or --default for the public bootstrap peers")
    repo = Repo.open()
    current = list(repo.settings.bootstrap)
    new = [_check_peer_addr(a) for a in args.addrs] + (_public_bootstrap_peers() if args.default else [])
    added = [a for a in dict.fromkeys(new) if a not in current]
    repo.set_config("Bootstrap", current + added)
    for a in added:
        print(f"added {a}")
    return 0


def cmd_bootstrap_rm(args: Any) -> int:
    from ..repo import Repo

    if not args.addrs and not args.all:
        raise InvalidInput("give multiaddrs to remove, or --all")
    repo = Repo.open()
    current = list(repo.settings.bootstrap)
    gone = current if args.all else [a for a in current if a in set(args.addrs)]
    missing = [] if args.all else [a for a in args.addrs if a not in current]
    if missing:
        raise NotFound(f"not in the bootstrap list: {', '.join(missing)}")
    repo.set_config("Bootstrap", [a for a in current if a not in gone])
    for a in gone:
        print(f"removed {a}")
    return 0

