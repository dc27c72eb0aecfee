"""`jzfs dag put|get|stat|export|import|resolve`, shaped like Kubo's `ipfs dag`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import IO, Any

from ..errors import JzfsError, NotFound
from .common import LazyChoices, add_json_flag, bool_flag, open_node, print_json, progress


def _read_input(path: str | None, max_bytes: int) -> bytes:
    """At most `max_bytes` (the dag-put limit) plus one byte (so dag_put can tell the input was
    too large)."""
    limit = max_bytes + 1
    if path in (None, "-"):
        return sys.stdin.buffer.read(limit)
    with open(path, "rb") as f:  # type: ignore[arg-type]
        return f.read(limit)


def cmd_put(args: argparse.Namespace) -> int:
    from ..node.dag import dag_put

    with open_node() as node:
        cids = []
        for source in args.files or [None]:
            cid = dag_put(node.blocks, _read_input(source, node.defaults.ipld.max_dag_put_input_bytes),
                          input_codec=args.input_codec, store_codec=args.store_codec, hash_name=args.hash,
                          limits=node.defaults.ipld)
            if args.pin:
                node.pins.add(cid)
            cids.append(cid)
    for cid in cids:
        if args.json:
            print_json({"Cid": {"/": str(cid)}})  # Kubo's `dag put --enc=json`
        else:
            print(cid)
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    from ..node.dag import dag_get, encode_value
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(args.path)
    with open_node() as node:
        value, _cid = dag_get(node.blocks, root, segments)
    sys.stdout.buffer.write(encode_value(value, args.output_codec))
    if args.output_codec != "dag-cbor" and sys.stdout.isatty():
        sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from ..node.dag import dag_resolve
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(args.path)
    with open_node() as node:
        cid, _value, inside = dag_resolve(node.blocks, root, segments)
    if args.json:
        print_json({"Cid": {"/": str(cid)}, "RemPath": "/".join(inside)})  # Kubo's shape
    else:
        print("/".join([str(cid), *inside]))
    return 0


def cmd_stat(args: argparse.Namespace) -> int:
    from ..node.dag import dag_resolve, dag_stat
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(args.path)
    with open_node() as node:
        if segments:
            root = dag_resolve(node.blocks, root, segments)[0]
        st = dag_stat(node.blocks, root)
    if args.json:
        print_json({"Size": st.size, "NumBlocks": st.num_blocks})
    else:
        print(f"Size: {st.size}, NumBlocks: {st.num_blocks}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..node.dag import dag_export
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(args.path)
    with open_node() as node:
        scope = "entity" if args.entity_bytes else args.dag_scope
        chunks = dag_export(node.blocks, root, segments, scope=scope,
                            entity_bytes=args.entity_bytes)
        if args.output and args.output != "-":
            with open(args.output, "wb") as out:
                _copy(chunks, out, args.progress)
        else:
            _copy(chunks, sys.stdout.buffer, args.progress)
            sys.stdout.buffer.flush()
    return 0


def _copy(chunks: Iterator[bytes], out: IO[bytes], show: bool) -> None:
    with progress(None, enabled=show, desc="export") as bar:
        for chunk in chunks:
            out.write(chunk)
            bar.update(len(chunk))


def _file_chunks(f: IO[bytes], bar: Any, read_bytes: int) -> Iterator[bytes]:
    while True:
        chunk = f.read(read_bytes)
        if not chunk:
            return
        bar.update(len(chunk))
        yield chunk


def cmd_import(args: argparse.Namespace) -> int:
    from ..node.dag import dag_import

    results = []
    with open_node() as node:
        for source in args.files or ["-"]:
            if source == "-":
                f, name = sys.stdin.buffer, "stdin"
            else:
                try:
                    f = open(source, "rb")  # noqa: SIM115 - closed below
                except FileNotFoundError:
                    raise NotFound(f"no such file: {source}") from None
                name = source
            try:
                with progress(None, enabled=args.progress, desc=name) as bar:
                    try:
                        res = dag_import(node.blocks, _file_chunks(f, bar, node.defaults.io.read_bytes),
                                         pins=node.pins,  # its GC lock is held while storing
                                         pin_roots=args.pin_roots, limits=node.defaults.car)
                    except JzfsError as exc:
                        raise type(exc)(f"{name}: {exc}") from None
            finally:
                if f is not sys.stdin.buffer:
                    f.close()
            results.append(res)
    failed = []
    for res in results:
        for root, error in res.pinned:
            if args.json:  # Kubo's `dag import --enc=json` lines
                print_json({"Root": {"Cid": {"/": str(root)}, "PinErrorMsg": error or ""}})
                if error is not None:
                    failed.append(root)
            elif error is None:
                print(f"Pinned root\t{root}\tsuccess")
            else:
                print(f"Pinned root\t{root}\tFAILED: {error}")
                failed.append(root)
    if args.stats and args.json:
        print_json({"Stats": {"BlockCount": sum(r.blocks for r in results),
                              "BlockBytesCount": sum(r.bytes for r in results)}})
    elif args.stats:
        print(f"Imported {sum(r.blocks for r in results)} blocks "
              f"({sum(r.bytes for r in results)} bytes)")
    if failed:
        print(f"Error: pinning {len(failed)} root(s) failed: the CAR does not hold their whole DAG",
              file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    dag = sub.add_parser("dag", help="IPLD DAG operations (put, get, stat, export, import)")
    dsub = dag.add_subparsers(dest="dag_command", metavar="SUBCOMMAND", required=True)

    p = dsub.add_parser("put", help="store IPLD data read from stdin (or files); print its CID")
    p.add_argument("files", nargs="*")
    p.add_argument("--input-codec", default="dag-json", metavar="NAME",
                   choices=LazyChoices("jiaozi_node.node.dag", "INPUT_CODECS"),
                   help="%(choices)s (default %(default)s)")
    p.add_argument("--store-codec", default="dag-cbor", metavar="NAME",
                   choices=LazyChoices("jiaozi_node.node.dag", "STORE_CODECS"),
                   help="%(choices)s (default %(default)s)")
    p.add_argument("--hash", default="sha2-256", help="multihash function (sha2-256, sha2-512)")
    bool_flag(p, "--pin", default=False, help="pin the new node")
    add_json_flag(p)
    p.set_defaults(func=cmd_put)

    p = dsub.add_parser("get", help="print an IPLD node (DAG-JSON by default)")
    p.add_argument("path", help="CID[/path] through map keys, list indices, links")
    p.add_argument("--output-codec", default="dag-json", metavar="NAME",
                   choices=LazyChoices("jiaozi_node.node.dag", "OUTPUT_CODECS"),
                   help="%(choices)s (default %(default)s)")
    p.set_defaults(func=cmd_get, ipns_paths=("path",))

    p = dsub.add_parser("resolve", help="resolve a path to the last CID and the remainder")
    p.add_argument("path")
    add_json_flag(p)
    p.set_defaults(func=cmd_resolve, ipns_paths=("path",))

    p = dsub.add_parser("stat", help="total size and number of blocks of a DAG")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stat, ipns_paths=("path",))

    p = dsub.add_parser("export", help="write a CAR v1 of a DAG to stdout (trustless DFS order)")
    p.add_argument("path", help="CID[/path]: path blocks first, then the target's DAG")
    p.add_argument("--dag-scope", default="all", choices=("all", "entity", "block"))
    p.add_argument("--entity-bytes", default=None, metavar="FROM:TO",
                   help="only the blocks for this byte range of a file (implies entity)")
    p.add_argument("--output", "-o", default=None, help="write to a file instead of stdout")
    bool_flag(p, "--progress", "-p", default=False, help="progress bar on stderr")
    p.set_defaults(func=cmd_export, ipns_paths=("path",))

    p = dsub.add_parser("import", help="import CAR files (v1 or v2): all verified, or nothing")
    p.add_argument("files", nargs="*", help="CAR files (default: stdin)")
    bool_flag(p, "--pin-roots", default=True, help="pin the roots listed in each CAR")
    p.add_argument("--stats", action="store_true", help="print the number of blocks imported")
    add_json_flag(p)
    bool_flag(p, "--progress", "-p", default=False, help="progress bar on stderr")
    p.set_defaults(func=cmd_import)
