"""`jzfs daemon`: run the node in the foreground until Ctrl-C / SIGTERM.

While it runs the daemon keeps two files in the repo, removed on a clean shutdown:
  daemon.json   {"ID", "PID", "Addresses", "AgentVersion", "Protocols", "API", "Gateway"}
  api           the RPC API multiaddr (only when the API service is up), like Kubo's $IPFS_PATH/api
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, JzfsError, NotFound, RepoError

if TYPE_CHECKING:
    from ..repo import Repo
from .common import open_node

DAEMON_FILE = "daemon.json"


def register(sub: Any) -> None:
    p = sub.add_parser("daemon", help="run the node (libp2p host, bitswap, gateway, RPC API) in the foreground")
    p.add_argument("--listen", action="append", metavar="MULTIADDR", default=None,
                   help="swarm listen address (repeatable; default: config Addresses.Swarm)")
    p.set_defaults(func=run)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_daemon(repo: Repo) -> dict[str, Any]:
    """The running daemon's daemon.json; NotFound when no live daemon owns the repo.

    A file left behind by a daemon that died (its PID is gone) is removed.
    """
    path = repo.path / DAEMON_FILE
    try:
        info = json.loads(path.read_text())
        pid = int(info["PID"])
    except (OSError, ValueError, KeyError, TypeError):
        raise NotFound(f"no jzfs daemon running on {repo.path}") from None
    if not _pid_alive(pid):
        for stale in (path, repo.api_file):
            stale.unlink(missing_ok=True)
        raise NotFound(f"no jzfs daemon running on {repo.path} (removed a stale {DAEMON_FILE})")
    return info


def check_addresses(repo: Repo, listen: list[str] | None) -> None:
    """Every address the daemon will listen on parses, before anything starts (one-line error
    naming the flag or config key otherwise)."""
    from ..gateway.http_common import multiaddr_to_host_port
    from ..net.libp2p_host import parse_listen_addr

    swarm = listen or list(repo.settings.addresses.swarm)  # types checked by UserConfig.parse
    for addr in swarm:
        try:
            parse_listen_addr(str(addr))
        except InvalidInput as exc:
            raise InvalidInput(f"{'--listen' if listen else 'config Addresses.Swarm'}: {exc}") from None
    addresses = repo.settings.addresses
    for key, addr in (("Addresses.API", addresses.api), ("Addresses.Gateway", addresses.gateway)):
        if addr:
            try:
                multiaddr_to_host_port(str(addr))
            except InvalidInput as exc:
                raise InvalidInput(f"config {key}: {exc}") from None


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The error to report from the daemon's nursery: a JzfsError or OSError leaf if any."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack[:0] = list(exc.exceptions)
        else:
            leaves.append(exc)
    for leaf in leaves:
        if isinstance(leaf, (JzfsError, OSError)):
            return leaf
    return group


def run(args: Any) -> int:
    import trio

    node = open_node()
    try:
        try:
            running = running_daemon(node.repo)
        except NotFound:
            pass
        else:
            raise RepoError(f"a jzfs daemon (PID {running['PID']}) is already running on {node.repo.path}")
        check_addresses(node.repo, args.listen)
        try:
            trio.run(_daemon, node, args.listen)
        except BaseExceptionGroup as group:  # e.g. a port in use: report the cause, not the tree
            raise _first_error(group) from None
    finally:
        node.close()
    return 0


def _remove(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


async def _daemon(node: Any, listen: list[str] | None) -> None:
    import trio

    from ..config import AGENT_VERSION
    from ..repo import write_atomic

    repo: Repo = node.repo
    written: list[Path] = []
    print("Initializing daemon...", flush=True)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with node.online(listen=listen) as peer:
            host = peer.host
            info = {
                "ID": host.peer_id, "PID": os.getpid(), "Addresses": host.addrs(),
                "AgentVersion": AGENT_VERSION, "Protocols": host.protocols(),
                "API": peer.api_addr, "Gateway": peer.gateway_addr,
            }
            try:
                path = repo.path / DAEMON_FILE
                write_atomic(path, (json.dumps(info, indent=2) + "\n").encode())
                written.append(path)
                if peer.api_addr:
                    write_atomic(repo.api_file, peer.api_addr.encode())
                    written.append(repo.api_file)
                print(f"Peer ID: {host.peer_id}")
                for addr in host.listen_addrs():
                    print(f"Swarm listening on {addr}")
                if peer.api_addr:
                    print(f"RPC API server listening on {peer.api_addr}")
                    access = getattr(peer.services.get("api"), "access", None)
                    if access is not None and access.scopes:
                        print("RPC API access is limited by the rules defined in API.Authorizations")
                if peer.gateway_addr:
                    print(f"Gateway server listening on {peer.gateway_addr}")
                print("Daemon is ready", flush=True)
                async for signum in signals:
                    print(f"\nReceived {signal.Signals(signum).name}, shutting down...",
                          file=sys.stderr, flush=True)
                    break
            finally:
                _remove(written)
