"""`jzfs cat`, `jzfs get`, `jzfs ls`: reading UnixFS content from the local repo.

Paths are `CID[/path]` or `/ipfs/CID[/path]`, as in Kubo. Blocks come from the node's block getter
(the local store by default); the network-fetching variant only swaps the getter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..ipld.cid import CID
    from ..node.files_read import FilesReader
from .common import (
    bool_flag,
    daemon_client,
    esc,
    open_node,
    print_json,
    progress,
)
from .leave import leave_after_command


def _reader(node: Any, args: argparse.Namespace) -> FilesReader:
    """The reader for a command; a later `--peer`/daemon option plugs its getter in here."""
    from ..node.files_read import FilesReader

    getter = getattr(args, "getter", None)
    return FilesReader.for_node(node, getter=getter)


def _gateway_prefetch(node: Any, args: argparse.Namespace) -> None:
    """`--gateway URL` (or config `Gateway.Fetch`): make the path's DAG local from trustless
    gateways first. The HTTP client is loaded only when there is a gateway to ask."""
    if not (args.gateway or node.settings.gateway.fetch):
        return
    from ..gateway.client import configured_gateways, prefetch_path

    prefetch_path(node, args.path, configured_gateways(node, args.gateway))


def _daemon_for(args: argparse.Namespace) -> Any:
    """The running daemon's client, or None (no daemon, `--offline`, or `--gateway` given). With
    `--peer`, the daemon connects to those peers first (`swarm/connect`), then serves the
    command: its node fetches what is missing, as `ipfs` does with a running daemon."""
    if args.gateway:
        return None
    client = daemon_client(args)
    if client is not None and args.peer:
        try:
            client.json("swarm/connect", list(args.peer))
        except BaseException:
            client.close()
            raise
    return client


def cmd_cat(args: argparse.Namespace) -> int:
    if args.offset < 0 or (args.length is not None and args.length < 0):
        raise InvalidInput("--offset and --length must not be negative")
    client = _daemon_for(args)  # a running daemon serves it, like `ipfs cat`
    if client is not None:
        leave_after_command()  # nothing left open but stdout, which main flushes
        with client:
            # the whole file: the daemon fetches, this process reads the store (daemon_fetch.py);
            # a range is streamed by the daemon, which fetches only the blocks it needs
            whole = args.offset == 0 and args.length is None
            if not (whole and _cat_from_store(client, args)):
                for chunk in client.stream("cat", [args.path], {"offset": args.offset, "length": args.length}):
                    sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return 0
    if args.peer:
        leave_after_command()  # the node (store, pins) is closed on leaving `with`; stdout is flushed
    with open_node() as node:
        _gateway_prefetch(node, args)
        if args.peer:
            return _stream_from_peers(node, args)
        reader = _reader(node, args)
        cid = reader.resolve(args.path)
        size = reader.stat(cid).size
        total = max(0, min(size - args.offset, args.length if args.length is not None else size))
        out = sys.stdout.buffer
        with progress(total, enabled=args.progress, desc="cat") as bar:
            for chunk in reader.cat(cid, offset=args.offset, length=args.length):
                out.write(chunk)
                bar.update(len(chunk))
        out.flush()
    return 0


def _store_fetch(client: Any, args: argparse.Namespace) -> Any:
    """The daemon fetches `args.path` into this repo's store while we read it (DaemonFetch), or
    None when this process cannot read the daemon's store (then the bytes come over HTTP)."""
    from ..repo import default_path
    from .daemon_fetch import DaemonFetch

    return DaemonFetch.start(client, default_path(), args.path)


def _cat_from_store(client: Any, args: argparse.Namespace) -> bool:
    fetch = _store_fetch(client, args)
    if fetch is None:
        return False
    from ..node.files_read import FilesReader

    out = sys.stdout.buffer
    with fetch:
        reader = FilesReader.for_node(fetch.node, fetch)
        total = reader.stat(fetch.cid).size
        with progress(total, enabled=args.progress, desc="cat") as bar:
            for chunk in reader.cat(fetch.cid):
                out.write(chunk)
                bar.update(len(chunk))
    return True


def _get_from_store(client: Any, args: argparse.Namespace, dest: Path) -> bool:
    fetch = _store_fetch(client, args)
    if fetch is None:
        return False
    from ..node.files_read import FilesReader

    with fetch:
        reader = FilesReader.for_node(fetch.node, fetch)
        st = reader.stat(fetch.cid)
        total = st.size if st.type == "file" else st.cumulative_size
        print(f"Saving file(s) to {dest}", flush=True)
        with progress(total, enabled=args.progress, desc="get") as bar:
            reader.get(fetch.cid, dest, on_bytes=bar.update)
    return True


def _fetch_from_peers(node: Any, args: argparse.Namespace) -> CID | None:
    """`--peer` with no daemon: fetch the path's DAG over Bitswap from those peers into the repo
    (node.retrieval.fetch_path_from_peers). None without --peer."""
    if not args.peer:
        return None
    import trio

    from ..node.retrieval import fetch_path_from_peers

    timeout = args.timeout if args.timeout is not None else node.defaults.bitswap.fetch_timeout_s
    cid, _ = trio.run(lambda: fetch_path_from_peers(node.blocks, args.path, args.peer,
                                                    timeout_s=timeout, defaults=node.defaults))
    return cid


def _stream_from_peers(node: Any, args: argparse.Namespace) -> int:
    """`cat --peer`: bytes in order on stdout while the DAG is fetched ahead over Bitswap."""
    import trio

    from ..node.retrieval import stream_file_from_peers

    timeout = args.timeout if args.timeout is not None else node.defaults.bitswap.fetch_timeout_s
    out = sys.stdout.buffer
    trio.run(lambda: stream_file_from_peers(node.blocks, args.path, args.peer, out.write,
                                            offset=args.offset, length=args.length,
                                            timeout_s=timeout, defaults=node.defaults))
    out.flush()
    return 0


def _add_peer_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer", action="append", metavar="MULTIADDR", default=None,
                   help="fetch missing blocks over Bitswap from this peer (…/p2p/ID; repeatable; "
                        "with a running daemon, the daemon connects to it and fetches)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="with --peer: fail if a block does not arrive within this many seconds "
                        "(default: BitswapLimits.fetch_timeout_s)")


def _default_dest(path: str) -> str:
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(path)
    return segments[-1] if segments else str(root)


def cmd_get(args: argparse.Namespace) -> int:
    dest = Path(args.output or _default_dest(args.path))
    if dest.exists() or dest.is_symlink():
        raise InvalidInput(f"{dest} already exists")
    client = _daemon_for(args)
    if client is not None:
        leave_after_command()  # the tree writer closes every file it writes
        with client:
            # the daemon fetches, this process reads the repo's store and writes (daemon_fetch.py)
            if _get_from_store(client, args, dest):
                return 0
            # else the daemon walks the tree and streams it; the same checked writer writes it
            from ..api import tree_stream
            from ..node.tree_writer import write_tree

            print(f"Saving file(s) to {dest}", flush=True)
            frames = client.stream("get", [args.path], {"format": tree_stream.FORMAT})
            write_tree(tree_stream.decode_tree(frames), dest)
        return 0
    if args.peer:
        leave_after_command()  # the node and the files written are closed before main leaves
    with open_node() as node:
        _gateway_prefetch(node, args)
        if args.peer:
            # Fetched content is pinned, so `repo gc` keeps it. The GC lock is held from before
            # the first block is stored until the pin is recorded; the fetch walked (and
            # verified) every block of the DAG, so the pin needs no second walk.
            with node.pins.lock.shared():
                fetched = _fetch_from_peers(node, args)
                if fetched is not None:
                    node.pins.add(fetched, complete=True)
        reader = _reader(node, args)
        cid = reader.resolve(args.path)
        st = reader.stat(cid)
        total = st.size if st.type == "file" else st.cumulative_size
        print(f"Saving file(s) to {dest}", flush=True)
        with progress(total, enabled=args.progress, desc="get") as bar:
            reader.get(cid, dest, on_bytes=bar.update)
    return 0


def _ls_rows(entries: list[Any], *, sizes: bool) -> list[tuple[str, str, str]]:
    rows = []
    for e in entries:
        if e.type == "directory":
            rows.append((str(e.cid), "-", esc(e.name) + "/"))
        else:
            rows.append((str(e.cid), str(e.size) if sizes else "-", esc(e.name)))
    return rows


def cmd_ls(args: argparse.Namespace) -> int:
    from ..unixfs.exporter import KUBO_TYPES, read_symlink

    objects = []
    targets: dict[CID, str] = {}
    client = daemon_client(args)
    if client is not None:
        from ..api.client import ls_entries

        with client:
            for path in args.paths:
                objects.append((path, ls_entries(client, path, resolve_type=args.resolve_type)))
    else:
        with open_node() as node:
            reader = _reader(node, args)
            for path in args.paths:
                entries = reader.ls(path, resolve_children=args.resolve_type)
                objects.append((path, entries))
                if args.json:  # Kubo's --json reports a symlink's target
                    targets.update((e.cid, read_symlink(reader.getter, e.cid))
                                   for e in entries if e.type == "symlink")
    if args.json:
        print_json({"Objects": [{
            "Hash": path,
            "Links": [{"Name": e.name, "Hash": str(e.cid), "Size": e.size,
                       "Type": KUBO_TYPES.get(e.type, 0), "Target": targets.get(e.cid, "")}
                      for e in entries],
        } for path, entries in objects]})
        return 0
    out = []
    for path, entries in objects:
        if len(objects) > 1:
            out.append(f"{esc(path)}:")
        rows = _ls_rows(entries, sizes=args.size)
        if args.headers:
            rows.insert(0, ("Hash", "Size", "Name"))
        w0 = max((len(r[0]) for r in rows), default=0)
        w1 = max((len(r[1]) for r in rows), default=0)
        out.extend(f"{r[0]:<{w0}} {r[1]:<{w1}} {r[2]}" for r in rows)
        if len(objects) > 1:
            out.append("")
    sys.stdout.write("".join(line + "\n" for line in out))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cat", help="print the bytes of a UnixFS file")
    p.add_argument("path", help="CID[/path] or /ipfs/CID[/path]")
    p.add_argument("--offset", "-o", type=int, default=0, help="byte offset to start at")
    p.add_argument("--length", "-l", type=int, default=None, help="maximum bytes to print")
    bool_flag(p, "--progress", "-p", default=False, help="progress bar on stderr")
    p.add_argument("--gateway", action="append", metavar="URL", default=None,
                   help="fetch missing blocks from this trustless gateway (repeatable; every block "
                        "verified; default: config Gateway.Fetch)")
    _add_peer_flags(p)
    p.set_defaults(func=cmd_cat, ipns_paths=("path",))

    p = sub.add_parser("get", help="write a UnixFS file or directory tree to disk")
    p.add_argument("path", help="CID[/path] or /ipfs/CID[/path]")
    p.add_argument("--output", "-o", default=None, help="destination (default: the name or CID)")
    bool_flag(p, "--progress", "-p", default=True, help="progress bar on stderr when it is a terminal (as Kubo)")
    p.add_argument("--gateway", action="append", metavar="URL", default=None,
                   help="fetch missing blocks from this trustless gateway (repeatable; every block "
                        "verified; default: config Gateway.Fetch)")
    _add_peer_flags(p)
    p.set_defaults(func=cmd_get, ipns_paths=("path",))

    p = sub.add_parser("ls", help="list a UnixFS directory (Kubo's columns: CID, size, name)")
    p.add_argument("paths", nargs="+", metavar="path")
    p.add_argument("--json", action="store_true", help="Kubo-style JSON (Name/Hash/Size/Type)")
    p.add_argument("--headers", "-v", action="store_true", help="print a header line")
    bool_flag(p, "--size", "-s", default=True, help="show file sizes")
    bool_flag(p, "--resolve-type", default=True, help="fetch each child to report its type and size")
    p.set_defaults(func=cmd_ls, ipns_paths=("paths",))
