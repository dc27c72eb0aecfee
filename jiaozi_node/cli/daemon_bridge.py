"""CLI commands through a running daemon (as `ipfs` does): one routing table, one place.

`cli/main.py` asks `route(args)` before running a command: when a daemon answers on
`$JZFS_PATH/api` (and `--offline` was not given) and the command has a bridge here, the bridge
runs instead of the local handler and prints exactly what the local command prints. Commands
without a bridge (or with no daemon running) work on the repo directly, as before.

Bridged: add, block put/get/stat/rm, pin add/rm/ls, dag put/get/stat/export/import. (cat, get and
ls route inside `cli/files_read_cmds.py`; id and swarm in `cli/net_cmds.py`.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, JzfsError, NotFound
from .common import esc

if TYPE_CHECKING:  # not at run time: every `jzfs` start imports this module, httpx is slow to load
    from ..api.client import ApiClient

Bridge = Callable[["ApiClient", argparse.Namespace], int]



# ------------------------------------------------------------------------------ file chunks


def _file_chunks(path: str, read_bytes: int) -> Iterator[bytes]:
    """`read_bytes` per read: the client's (`ApiClient.read_bytes`, IoTuning.read_bytes)."""
    with open(path, "rb") as f:
        while chunk := f.read(read_bytes):
            yield chunk


def _stream_chunks(f: Any, read_bytes: int) -> Iterator[bytes]:
    while chunk := f.read(read_bytes):
        yield chunk


def _source_chunks(src: str | None, read_bytes: int) -> Iterator[bytes]:
    """The bytes of file `src`, or of stdin for "-" (or None)."""
    return _stream_chunks(sys.stdin.buffer, read_bytes) if src in ("-", None) else _file_chunks(src, read_bytes)


def _multipart(parts: Iterable[tuple[str, str, Iterable[bytes]]]) -> dict[str, Any]:
    from ..api.client import multipart_request  # loaded when a bridge runs

    return multipart_request(parts)


# ------------------------------------------------------------------------------ add


def _add_parts(args: argparse.Namespace, paths: list[str],
               read_bytes: int) -> Iterator[tuple[str, str, Iterable[bytes]]]:
    from urllib.parse import quote

    from ..node.files import plan_add  # the same walk (order, hidden files, symlinks) as `jzfs add`

    for top in paths:
        name = os.path.basename(os.path.normpath(top)) or top
        for it in plan_add(top, recursive=args.recursive, hidden=args.hidden):
            rel = f"{name}/{it.rel}" if it.rel else name
            enc = quote(rel, safe="")
            if it.kind == "directory":
                yield enc, "application/x-directory", ()
            elif it.kind == "symlink":
                yield enc, "application/symlink", (os.fsencode(os.readlink(it.abspath)),)
            else:
                yield enc, "application/octet-stream", _file_chunks(it.abspath, read_bytes)


def add(client: ApiClient, args: argparse.Namespace) -> int:
    from urllib.parse import quote

    paths = list(args.paths) + list(getattr(args, "extras", []))
    if paths:
        for p in paths:  # fail before sending anything, like the local command
            if not os.path.lexists(p):
                raise NotFound(f"{p}: no such file or directory")
        parts: Iterable[tuple[str, str, Iterable[bytes]]] = _add_parts(args, paths, client.read_bytes)
    else:
        if sys.stdin.isatty():
            raise InvalidInput("argument \"path\" is required (or pipe data on stdin)")
        parts = [(quote(args.stdin_name or "", safe=""), "application/octet-stream",
                  _stream_chunks(sys.stdin.buffer, client.read_bytes))]
    params = {"pin": args.pin, "only-hash": args.only_hash or None,
              "wrap-with-directory": args.wrap_with_directory or None, "profile": args.profile,
              "cid-version": args.cid_version, "raw-leaves": args.raw_leaves, "chunker": args.chunker,
              "trickle": args.trickle or None, "hash": args.hash}
    last = None
    for ev in client.ndjson("add", [], params, **_multipart(parts)):
        if "Hash" not in ev:
            continue  # progress lines
        last = ev
        if args.json:
            print(_json(ev))
        elif args.quieter:
            continue
        elif args.quiet:
            print(ev["Hash"])
        else:
            print(f"added {ev['Hash']} {esc(ev['Name'])}")
    if args.quieter and not args.json and last is not None:
        print(last["Hash"])
    return 0


def _json(v: Any) -> str:
    import json

    return json.dumps(v)


# ------------------------------------------------------------------------------ block


def block_put(client: ApiClient, args: argparse.Namespace) -> int:
    from ..ipld.cid import CID

    sources: list[Any] = ["-"] if not args.files or args.files == ["-"] else list(args.files)
    out = []
    for src in sources:
        chunks = _source_chunks(src, client.read_bytes)
        res = client.json("block/put", [], {"cid-codec": args.cid_codec, "mhtype": args.mhtype,
                                            "cid-version": args.cid_version, "pin": args.pin or None},
                          **_multipart([("data", "application/octet-stream", chunks)]))
        out.append((CID.decode(res["Key"]), res.get("Size")))
    for cid, size in out:
        if getattr(args, "json", False):
            print(_json({"Key": cid.encode(args.cid_base or ""), "Size": size}))
        else:
            print(cid.encode(args.cid_base or ""))
    return 0


def block_get(client: ApiClient, args: argparse.Namespace) -> int:
    data = b"".join(client.stream("block/get", [args.cid]))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


def block_stat(client: ApiClient, args: argparse.Namespace) -> int:
    res = client.json("block/stat", [args.cid])
    if args.json:
        print(_json({"Key": res["Key"], "Size": res["Size"]}))
    else:
        print(f"Key: {res['Key']}\nSize: {res['Size']}")
    return 0


def block_rm(client: ApiClient, args: argparse.Namespace) -> int:
    failed = False
    for ev in client.ndjson("block/rm", args.cids, {"force": args.force or None}):
        if ev.get("Error"):
            failed = True
            print(f"Error: cannot remove {ev['Hash']}: {ev['Error']}", file=sys.stderr)
        elif not args.quiet:
            print(f"removed {ev['Hash']}")
    return 1 if failed else 0


# ------------------------------------------------------------------------------ pin


def _recursive(args: argparse.Namespace) -> bool:
    return str(args.recursive).lower() not in ("false", "0", "no")


def pin_add(client: ApiClient, args: argparse.Namespace) -> int:
    rec = _recursive(args)
    pins = client.json("pin/add", args.cids, {"recursive": rec})["Pins"]
    if getattr(args, "json", False):
        print(_json({"Pins": pins}))
        return 0
    for cid in pins:
        print(f"pinned {cid} {'recursively' if rec else 'directly'}")
    return 0


def pin_rm(client: ApiClient, args: argparse.Namespace) -> int:
    pins = client.json("pin/rm", args.cids, {"recursive": _recursive(args)})["Pins"]
    if getattr(args, "json", False):
        print(_json({"Pins": pins}))
        return 0
    for cid in pins:
        print(f"unpinned {cid}")
    return 0


def pin_ls(client: ApiClient, args: argparse.Namespace) -> int:
    keys = client.json("pin/ls", args.cids, {"type": args.type})["Keys"]
    if args.json:
        print(_json({"Keys": keys}))
    elif args.quiet:
        for c in keys:
            print(c)
    else:
        for c, v in keys.items():
            print(f"{c} {v['Type']}")
    return 0


# ------------------------------------------------------------------------------ dag


def dag_put(client: ApiClient, args: argparse.Namespace) -> int:
    cids = []
    for src in args.files or ["-"]:
        chunks = _source_chunks(src, client.read_bytes)
        res = client.json("dag/put", [], {"input-codec": args.input_codec, "store-codec": args.store_codec,
                                          "hash": args.hash, "pin": args.pin or None},
                          **_multipart([("data", "application/octet-stream", chunks)]))
        cids.append(res["Cid"]["/"])
    for cid in cids:
        print(_json({"Cid": {"/": cid}}) if getattr(args, "json", False) else cid)
    return 0


def dag_get(client: ApiClient, args: argparse.Namespace) -> int:
    for chunk in client.stream("dag/get", [args.path], {"output-codec": args.output_codec}):
        sys.stdout.buffer.write(chunk)
    if args.output_codec != "dag-cbor" and sys.stdout.isatty():
        sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


def dag_stat(client: ApiClient, args: argparse.Namespace) -> int:
    res = client.json("dag/stat", [args.path])
    size, n = res["TotalSize"], res["UniqueBlocks"]
    if args.json:
        print(_json({"Size": size, "NumBlocks": n}))
    else:
        print(f"Size: {size}, NumBlocks: {n}")
    return 0


def dag_export(client: ApiClient, args: argparse.Namespace) -> int:
    if args.dag_scope != "all" or args.entity_bytes:
        raise InvalidInput("--dag-scope/--entity-bytes through the daemon: use --offline, or the "
                           "gateway's ?format=car&dag-scope=…")
    chunks = client.stream("dag/export", [args.path])
    if args.output and args.output != "-":
        with open(args.output, "wb") as out:
            for c in chunks:
                out.write(c)
    else:
        for c in chunks:
            sys.stdout.buffer.write(c)
        sys.stdout.buffer.flush()
    return 0


def dag_import(client: ApiClient, args: argparse.Namespace) -> int:
    parts = []
    for src in args.files or ["-"]:
        if src != "-" and not os.path.exists(src):
            raise NotFound(f"no such file: {src}")
        parts.append(("car", "application/vnd.ipld.car",
                      _source_chunks(src, client.read_bytes)))
    failed = 0
    for ev in client.ndjson("dag/import", [], {"pin-roots": args.pin_roots, "stats": args.stats or None},
                            **_multipart(parts)):
        if getattr(args, "json", False):
            print(_json(ev))
            failed += bool(ev.get("Root", {}).get("PinErrorMsg"))
        elif "Root" in ev:
            root, err = ev["Root"]["Cid"]["/"], ev["Root"]["PinErrorMsg"]
            print(f"Pinned root\t{root}\t{'success' if not err else 'FAILED: ' + err}")
            failed += bool(err)
        elif "Stats" in ev:
            print(f"Imported {ev['Stats']['BlockCount']} blocks ({ev['Stats']['BlockBytesCount']} bytes)")
    if failed:
        print(f"Error: pinning {failed} root(s) failed: the CAR does not hold their whole DAG",
              file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------------------ routing

ROUTES: dict[str, Bridge] = {
    "jiaozi_node.cli.add_cmd.cmd_add": add,
    "jiaozi_node.cli.block_cmds.cmd_put": block_put,
    "jiaozi_node.cli.block_cmds.cmd_get": block_get,
    "jiaozi_node.cli.block_cmds.cmd_stat": block_stat,
    "jiaozi_node.cli.block_cmds.cmd_rm": block_rm,
    "jiaozi_node.cli.pin_cmds.cmd_add": pin_add,
    "jiaozi_node.cli.pin_cmds.cmd_rm": pin_rm,
    "jiaozi_node.cli.pin_cmds.cmd_ls": pin_ls,
    "jiaozi_node.cli.dag_cmds.cmd_put": dag_put,
    "jiaozi_node.cli.dag_cmds.cmd_get": dag_get,
    "jiaozi_node.cli.dag_cmds.cmd_stat": dag_stat,
    "jiaozi_node.cli.dag_cmds.cmd_export": dag_export,
    "jiaozi_node.cli.dag_cmds.cmd_import": dag_import,
}


def route(args: argparse.Namespace) -> Callable[[argparse.Namespace], int] | None:
    """The daemon-backed handler for this command, or None to run it locally."""
    func = getattr(args, "func", None)
    key = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}"
    bridge = ROUTES.get(key)
    if bridge is None or getattr(args, "offline", False):
        return None
    if getattr(args, "only_hash", False):
        return None  # nothing to store: hashing locally needs no daemon (Kubo does the same work)
    from .common import daemon_client

    client = daemon_client(args)
    if client is None:
        return None

    def run(a: argparse.Namespace) -> int:
        from .leave import leave_after_command

        leave_after_command()  # a bridge closes what it writes; the rest is stdout (~6 ms)
        with client:
            try:
                return bridge(client, a)
            except JzfsError:
                raise
            except OSError as exc:
                raise JzfsError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None

    return run
