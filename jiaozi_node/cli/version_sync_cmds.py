"""Sync commands for versioned datasets: `jzfs remote add|list|rm|allow`, fetch, pull, clone,
push (registered by `version_cmds.register`). Each goes online just for the operation, on
loopback with an ephemeral port, unless a daemon runs: then the daemon does it (RPC `jzfs/…`,
`api/h_sync.py`), as it does every other command. See jiaozi_node/versioning/sync.py for the protocol.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InvalidInput
from .common import esc, open_node, print_json, subcommand_group

# The CLI process goes online just for the operation: loopback, an ephemeral port, bitswap to move
# blocks and the refs service so the peer can fetch pushed blocks from us.
_SYNC_LISTEN = ["/ip4/127.0.0.1/tcp/0"]
_SYNC_SERVICES = ("jiaozi_node.bitswap.service", "jiaozi_node.versioning.sync")


def _online(fn: Any, *, routed: bool = False, peer: str | None = None) -> Any:
    """Run `fn(SyncClient, node)` on a short-lived node (no daemon running). `routed` (a commit
    CID is to be found): the node also runs routing (its DHT bootstraps from `Bootstrap`,
    `Peering.Peers` are dialled) so the commit's providers are found with no address typed.

    Host: the dial-only `LiteHost` (no py-libp2p import: ~0.6 s of the command; the peer
    fetches pushed blocks over the connection we opened) when the addresses the command starts
    from are plain TCP (`_lite_host`); otherwise a `Libp2pHost` listening on loopback (DNS, QUIC,
    WebSocket addresses)."""
    import trio

    from ..versioning.sync import SyncClient

    services = _SYNC_SERVICES + (("jiaozi_node.routing.service",) if routed else ())

    async def run() -> Any:
        with open_node() as node:
            host = _lite_host(node, peer, routed=routed)
            async with node.online(listen=None if host else _SYNC_LISTEN, host=host,
                                   services=services, peering=routed, bootstrap=routed) as on:
                return await fn(SyncClient(on), node)

    try:
        return trio.run(run)
    except BaseExceptionGroup as group:  # the node's nursery wraps our error: show it plainly
        leaves = _leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _lite_host(node: Any, peer: str | None, *, routed: bool) -> Any:
    """A LiteHost with the repo's identity when every address this command starts from is plain
    TCP: the peer's (remote name or multiaddr) or, `routed`, config `Bootstrap` and
    `Peering.Peers` (the DHT dials the providers it finds; LiteHost skips non-TCP addresses
    with an error the DHT logs and goes past). None: use a Libp2pHost."""
    from ..config import AGENT_VERSION
    from ..errors import JzfsError
    from ..net.lite.host import LiteHost, dialable
    from ..versioning.sync_ops import remote_addr

    if routed:
        from ..net.peering import parse_peering_config

        try:
            peering = parse_peering_config(list(node.settings.peering_peers))
        except JzfsError:
            return None
        addrs = list(node.settings.bootstrap) + [a for p in peering for a in p.dial_addrs()]
    elif peer is None:
        return None
    else:
        try:
            addrs = [remote_addr(node, peer)]
        except JzfsError:
            return None  # the operation reports it
    if not all(dialable(a) for a in addrs):
        return None
    return LiteHost(node.repo.identity, limits=node.defaults.net, agent_version=AGENT_VERSION)


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def cmd_remote_add(args: argparse.Namespace) -> int:
    from ..net.addrs import parse_peer_multiaddr  # (not py-libp2p's: ~0.6 s to import)

    peer, _ = parse_peer_multiaddr(args.addr)
    with open_node() as node:
        remotes = {k: dict(v) for k, v in node.settings.remotes.items()}
        if args.name in remotes:
            raise InvalidInput(f"remote {args.name!r} exists already")
        remotes[args.name] = {"Addr": args.addr}
        node.repo.set_config("Remotes", remotes)
        if not args.no_trust:
            node.versioning.trust_add(peer)
    print(f"added remote {args.name} ({peer})" + ("" if args.no_trust else "; its key is now trusted"))
    return 0


def cmd_remote_list(args: argparse.Namespace) -> int:
    with open_node() as node:
        remotes = {k: dict(v) for k, v in node.settings.remotes.items()}
    if args.json:
        print_json(remotes)
    else:
        for name, r in remotes.items():
            print(f"{esc(name)}\t{esc(r['Addr'])}")
    return 0


def cmd_remote_rm(args: argparse.Namespace) -> int:
    with open_node() as node:
        remotes = {k: dict(v) for k, v in node.settings.remotes.items()}
        if args.name not in remotes:
            raise InvalidInput(f"no remote named {args.name!r}")
        del remotes[args.name]
        node.repo.set_config("Remotes", remotes)
    print(f"removed remote {args.name}")
    return 0


def cmd_remote_allow(args: argparse.Namespace) -> int:
    from ..identity import public_key_from_peer_id

    public_key_from_peer_id(args.peer)
    with open_node() as node:
        if args.remove:
            node.versioning.refs.remove_writer(args.repo, args.peer)
        else:
            node.versioning.refs.allow_writer(args.repo, args.peer)
    print(f"{args.peer} {'may no longer' if args.remove else 'may now'} push to {args.repo}")
    return 0


def _run(command: str, rpc_args: list[str], op: Any, params: dict[str, Any] | None = None, *,
         target: str | None = None, peer: str | None = None) -> dict[str, Any]:
    """Run a sync operation (versioning/sync_ops.py) in the running daemon (RPC `jzfs/COMMAND`),
    as every other command does; with no daemon, online in this process just for it: `op(sync_ops,
    client, node)`, with its own routing when `target` (REMOTE or MULTIADDR) is a commit CID to
    find providers for. The daemon is asked first: the sync modules (trio, the IPLD codecs) are
    loaded only when this process does the work (they cost ~0.15 s of a daemon command's start)."""
    from .common import daemon_client
    from .leave import leave_after_command

    leave_after_command()  # what it writes (refs, config, blocks) is synced inside
    client = daemon_client()
    if client is not None:
        with client:
            return client.json(f"jzfs/{command}", rpc_args, params)
    from ..versioning import sync_ops

    return _online(lambda sync, node: op(sync_ops, sync, node),
                   routed=target is not None and sync_ops.commit_cid(target) is not None,
                   peer=peer or target)


def cmd_fetch(args: argparse.Namespace, *, pull: bool = False) -> int:
    rpc_args = [args.remote, args.repo] + ([args.branch] if args.branch else [])
    out = _run("pull" if pull else "fetch", rpc_args, lambda ops, client, node: ops.fetch(
        client, node, args.remote, args.repo, args.branch, pull=pull), target=args.remote)
    if args.json:
        print_json(out)
        return 0
    print(f"fetched {len(out['Refs'])} refs of {out['Repo']} from {out['Peer']}: {out['NewCommits']} commits "
          f"checked, {out['FetchedBlocks']} blocks ({out['FetchedBytes']} bytes) transferred")
    for branch, b in out.get("Branches", {}).items():
        print(f"{esc(branch)}: {esc(b['Result'])} ({b['Cid']})")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    return cmd_fetch(args, pull=True)


def cmd_clone(args: argparse.Namespace) -> int:
    out = _run("clone", [args.addr, args.name],
               lambda ops, client, node: ops.clone(client, node, args.addr, args.name), target=args.addr)
    if args.json:
        print_json(out)
        return 0
    print(f"cloned {args.name} from {out['Peer']}: {len(out['Refs'])} refs, {out['NewCommits']} commits checked, "
          f"{out['FetchedBytes']} bytes transferred")
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    out = _run("push", [args.remote, args.repo, args.branch],
               lambda ops, client, node: ops.push(client, node, args.remote, args.repo, args.branch,
                                                  force=args.force),
               {"force": args.force or None}, peer=args.remote)
    if args.json:
        print_json(out)
        return 0
    print(f"pushed {out['Repo']}@{out['Branch']} to {out['Peer']}: now at {out['Head']}")
    return 0


def register_sync(sub: argparse._SubParsersAction) -> None:
    remote = subcommand_group(sub, "remote", "peers to fetch from and push to")
    p = remote.add_parser("add", help="remote add NAME MULTIADDR (also trusts its key unless --no-trust)")
    p.add_argument("name")
    p.add_argument("addr", metavar="MULTIADDR")
    p.add_argument("--no-trust", action="store_true")
    p.set_defaults(func=cmd_remote_add)
    p = remote.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remote_list)
    p = remote.add_parser("rm")
    p.add_argument("name")
    p.set_defaults(func=cmd_remote_rm)
    p = remote.add_parser("allow", help="remote allow REPO PEER_ID: accept pushes from that key")
    p.add_argument("repo")
    p.add_argument("peer", metavar="PEER_ID")
    p.add_argument("--remove", action="store_true")
    p.set_defaults(func=cmd_remote_allow)

    for name, func, text in (("fetch", cmd_fetch, "fetch a repo's branches into remotes/REMOTE/…"),
                             ("pull", cmd_pull, "fetch, then fast-forward local branches")):
        p = sub.add_parser(name, help=f"{text} ({name} REMOTE REPO [BRANCH]; REMOTE may be a "
                                      "commit CID, found through routing)")
        p.add_argument("remote", metavar="REMOTE|COMMIT_CID")
        p.add_argument("repo")
        p.add_argument("branch", nargs="?", default=None)
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    p = sub.add_parser("clone", help="copy a repo from a peer (clone MULTIADDR NAME), or a commit "
                                     "from whoever provides it (clone COMMIT_CID NAME)")
    p.add_argument("addr", metavar="MULTIADDR|COMMIT_CID")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_clone)

    p = sub.add_parser("push", help="push REMOTE REPO BRANCH (fast-forward only unless --force)")
    p.add_argument("remote", metavar="REMOTE")
    p.add_argument("repo")
    p.add_argument("branch")
    p.add_argument("--force", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_push)

