"""RPC handlers: add, cat, get (tar, like Kubo), ls."""

from __future__ import annotations

from typing import Any

import trio

from ..errors import InvalidInput, JzfsError
from ..gateway.asgi import Request, Response
from ..gateway.http_common import ContentPath, parse_arg_path
from ..ipld.cid import CID
from ..node.files_read import FilesReader, tree_entries
from ..unixfs.exporter import KUBO_TYPES, read_file, read_symlink
from ..unixfs.resolve import resolve
from ..unixfs.tar import tar_stream
from . import tree_stream
from .common import (
    ApiContext,
    Handler,
    arg_path,
    in_thread,
    json_bytes,
    param_int,
    send_json,
    send_stream,
)

# `/api/v0/get?format=jzfs-fetch`: the daemon makes the DAG local; the jzfs CLI on the same repo
# reads it from the store itself (cli/daemon_fetch.py).
FETCH_FORMAT = "jzfs-fetch"


def _reader(ctx: ApiContext) -> FilesReader:
    return FilesReader.for_node(ctx.node, ctx.getter)


def _target(ctx: ApiContext, cp: ContentPath) -> CID:
    return resolve(ctx.getter, cp.cid, list(cp.segments)) if cp.segments else cp.cid


async def cat(ctx: ApiContext, req: Request, resp: Response) -> None:
    cp = arg_path(req)
    offset = param_int(req, "offset", 0) or 0
    length = param_int(req, "length", None)
    if offset < 0 or (length is not None and length < 0):
        raise InvalidInput("offset and length must not be negative")
    getter = ctx.getter
    cid = await in_thread(_target, ctx, cp)
    size = (await in_thread(_reader(ctx).stat, cid)).size
    chunks = read_file(getter, cid, offset, length)
    total = max(0, min(size, offset + length if length is not None else size) - offset)
    if offset == 0 and length is None:  # the whole file: fetch its DAG ahead of the reader
        async with ctx.prefetching(cid):
            await send_stream(resp, chunks, length=total)
    else:
        await send_stream(resp, chunks, length=total)


async def ls(ctx: ApiContext, req: Request, resp: Response) -> None:
    args = req.args()
    if not args:
        raise InvalidInput("argument 'ipfs-path' is required")
    resolve_type = req.query.get("resolve-type", "true") != "false"
    objects = []
    for arg in args:
        cp = parse_arg_path(arg)
        cid = await in_thread(_target, ctx, cp)
        st = await in_thread(_reader(ctx).stat, cid)
        links: list[dict[str, Any]] = []
        if st.type == "directory":
            if resolve_type:  # each entry's root block is read: fetch them all at once first
                await ctx.fetch_children(cid)
            entries = await in_thread(lambda c=cid: _reader(ctx).ls(c, resolve_children=resolve_type))
            for e in entries:
                link = {"Name": e.name, "Hash": str(e.cid), "Size": e.size,
                        "Type": KUBO_TYPES.get(e.type, 0), "Target": ""}
                if e.type == "symlink":
                    link["Target"] = await in_thread(read_symlink, ctx.getter, e.cid)
                links.append(link)
        objects.append({"Hash": arg, "Links": links})
    await send_json(resp, {"Objects": objects})


async def get(ctx: ApiContext, req: Request, resp: Response) -> None:
    """A tar (Kubo's answer), or with `format=jzfs-tree` the framed tree stream the jzfs CLI
    reads into its checked writer (api/tree_stream.py)."""
    cp = arg_path(req)
    if req.query.get("compress", "false") not in ("false", "0", ""):
        raise InvalidInput("compressed output is not supported; fetch the tar and compress it")
    fmt = req.query.get("format", "tar")
    if fmt not in ("tar", tree_stream.FORMAT, FETCH_FORMAT):
        raise InvalidInput(f"unknown get format {fmt!r} (tar | {tree_stream.FORMAT} | {FETCH_FORMAT})")
    cid = await in_thread(_target, ctx, cp)
    if fmt == FETCH_FORMAT:
        await _fetch_into_store(ctx, resp, cid)
        return
    async with ctx.prefetching(cid):  # the DAG is fetched ahead (many blocks in flight); the writers only read
        if fmt == tree_stream.FORMAT:
            tree = ctx.node.defaults.tree
            frames = tree_stream.encode_tree(tree_entries(ctx.getter, cid, limits=tree), limits=tree)
            await send_stream(resp, frames, content_type=tree_stream.CONTENT_TYPE)
            return
        name = cp.segments[-1] if cp.segments else str(cp.cid)
        await send_stream(resp, tar_stream(ctx.getter, cid, name), content_type="application/x-tar")


async def _fetch_into_store(ctx: ApiContext, resp: Response, cid: CID) -> None:
    """`format=jzfs-fetch`: make the DAG under `cid` local (many blocks in flight, each verified
    as it arrives) and say when it is all in the store, as NDJSON: first `{"Cid", "Store"}` (the
    resolved CID and the blockstore's directory, so the client can check it reads the same
    store), then `{"Done": true}` once every block is stored, or a Kubo-style error object. No
    file bytes go over HTTP: the jzfs CLI on this repo reads them from the store while the fetch
    runs (cli/daemon_fetch.py). Offline, or with no sources, nothing is fetched: Done at once, and
    the client reports what is missing."""
    root = getattr(ctx.node.blocks, "root", None)
    store = str(await trio.Path(root).resolve()) if root is not None else None
    await resp.start(200, [("Content-Type", "application/json"), ("X-Chunked-Output", "1"),
                           ("Vary", "Origin")])
    await resp.chunk(json_bytes({"Cid": str(cid), "Store": store}))
    error: JzfsError | None = None
    async with trio.open_nursery() as nursery:
        if ctx.retrieval is not None:  # the reader sees blocks as they come, not per batch
            nursery.start_soon(_store_often, ctx.retrieval, ctx.node.defaults.io.daemon_fetch_flush_s)
        try:
            await ctx.fetch_dag(cid)
        except JzfsError as exc:
            error = exc
        finally:
            nursery.cancel_scope.cancel()
    if error is not None:
        await resp.chunk(json_bytes({"Message": str(error), "Code": 0, "Type": "error"}))
    else:
        await resp.chunk(json_bytes({"Done": True}))
    await resp.end()


async def _store_often(retrieval: Any, every_s: float) -> None:
    """Store the verified blocks the retrieval holds back every `every_s` seconds
    (IoTuning.daemon_fetch_flush_s) while a reader in another process waits for them."""
    while True:
        await trio.sleep(every_s)
        await retrieval.flush()


ROUTES: dict[str, Handler] = {
    "cat": cat,
    "ls": ls,
    "get": get,
}
