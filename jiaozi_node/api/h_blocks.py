"""RPC handlers: block/get|put|stat|rm and dag/get|put|export|import (Kubo's shapes)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from typing import Any

from ..errors import InvalidInput, NotFound, PinnedError
from ..gateway.asgi import Request, Response
from ..gateway.http_common import parse_arg_path, parse_cid
from ..ipld import multihash
from ..ipld.block import Block
from ..ipld.cid import CID, codec_code
from ..node import dag as dag_mod
from ..unixfs.exporter_data import load_block
from .common import (
    ApiContext,
    Handler,
    in_thread,
    one_arg,
    param_bool,
    param_int,
    send_json,
    send_ndjson,
    send_stream,
)
from .multipart import first_part, iter_parts

# block put's legacy `format` values (Kubo < 0.13) mapped to (codec, CID version).
_LEGACY_FORMATS = {"v0": ("dag-pb", 0), "dag-pb": ("dag-pb", 0), "protobuf": ("dag-pb", 0),
                   "cbor": ("dag-cbor", 1), "dag-cbor": ("dag-cbor", 1), "raw": ("raw", 1)}


async def block_get(ctx: ApiContext, req: Request, resp: Response) -> None:
    cid = parse_cid(one_arg(req, "cid"))
    data = await in_thread(load_block, ctx.getter, cid)
    await send_stream(resp, iter([data]), content_type="text/plain", length=len(data))


async def block_stat(ctx: ApiContext, req: Request, resp: Response) -> None:
    cid = parse_cid(one_arg(req, "cid"))
    data = await in_thread(load_block, ctx.getter, cid)
    await send_json(resp, {"Key": str(cid), "Size": len(data)})


async def block_put(ctx: ApiContext, req: Request, resp: Response) -> None:
    fmt = req.query.get("format")
    codec_name, version = _LEGACY_FORMATS.get(fmt or "", ("raw", 1))
    if fmt and fmt not in _LEGACY_FORMATS:
        raise InvalidInput(f"unknown block format {fmt!r}")
    codec_name = req.query.get("cid-codec") or codec_name
    version = param_int(req, "cid-version", None) or version
    mhtype = req.query.get("mhtype", "sha2-256")
    try:
        hash_code = multihash.code_of(mhtype)
        codec = codec_code(codec_name)
    except (KeyError, ValueError):
        raise InvalidInput(f"unsupported codec/hash {codec_name!r}/{mhtype!r}") from None
    if version == 0 and (codec_name != "dag-pb" or mhtype != "sha2-256"):
        raise InvalidInput("CIDv0 only supports dag-pb with sha2-256")
    limit = ctx.node.defaults.ipld.max_block_bytes
    data = await first_part(req, limit=ctx.limits.max_body_bytes, max_header_bytes=ctx.limits.max_part_header_bytes)
    if len(data) > limit:
        raise InvalidInput(f"produced block is over {limit} bytes")
    block = Block.create(data, codec=codec, version=version, hash_code=hash_code)
    await in_thread(ctx.node.blocks.put, block.cid, block.data)
    if param_bool(req, "pin", False):
        await in_thread(lambda: ctx.node.pins.add(block.cid, recursive=True))
    await send_json(resp, {"Key": str(block.cid), "Size": len(data)})


async def block_rm(ctx: ApiContext, req: Request, resp: Response) -> None:
    args = req.args()
    if not args:
        raise InvalidInput("argument 'cid' is required")
    force = param_bool(req, "force", False)
    quiet = param_bool(req, "quiet", False)
    cids = [parse_cid(a) for a in args]

    def remove(cid: CID) -> str:
        try:
            ctx.node.pins.pin_type(cid)
            return f"pinned: {cid} is pinned"
        except NotFound:
            pass
        try:
            ctx.node.blocks.delete(cid)
        except NotFound:
            return "" if force else f"block {cid} not found"
        except PinnedError as exc:
            return str(exc)
        return ""

    async def lines() -> AsyncIterator[dict[str, str]]:
        for cid in cids:
            err = await in_thread(remove, cid)
            if err or not quiet:
                yield {"Hash": str(cid), "Error": err}

    await send_ndjson(resp, lines())


# --------------------------------------------------------------------------------------- dag


async def dag_export(ctx: ApiContext, req: Request, resp: Response) -> None:
    cp = parse_arg_path(one_arg(req, "root"))
    getter = ctx.getter
    if cp.segments:
        chunks = await in_thread(lambda: dag_mod.dag_export(getter, cp.cid, list(cp.segments)))
        await send_stream(resp, chunks, content_type="application/vnd.ipld.car")
        return
    async with ctx.prefetching(cp.cid):  # the whole DAG: fetch it ahead of the CAR writer
        chunks = await in_thread(lambda: dag_mod.dag_export(getter, cp.cid, []))
        await send_stream(resp, chunks, content_type="application/vnd.ipld.car")


async def dag_get(ctx: ApiContext, req: Request, resp: Response) -> None:
    cp = parse_arg_path(one_arg(req, "ref"))
    codec = req.query.get("output-codec", "dag-json")
    value, _ = await in_thread(dag_mod.dag_get, ctx.getter, cp.cid, list(cp.segments))
    data = dag_mod.encode_value(value, codec)
    await send_stream(resp, iter([data]), content_type="text/plain", length=len(data))


async def dag_stat(ctx: ApiContext, req: Request, resp: Response) -> None:
    cp = parse_arg_path(one_arg(req, "root"))
    root = cp.cid
    if cp.segments:
        root = (await in_thread(dag_mod.dag_resolve, ctx.getter, cp.cid, list(cp.segments)))[0]
    st = await in_thread(dag_mod.dag_stat, ctx.getter, root)
    await send_json(resp, {"UniqueBlocks": st.num_blocks, "TotalSize": st.size,
                           "DagStats": [{"Cid": {"/": str(root)}, "Size": st.size,
                                         "NumBlocks": st.num_blocks}]})


async def dag_put(ctx: ApiContext, req: Request, resp: Response) -> None:
    data = await first_part(req, limit=ctx.limits.max_body_bytes, max_header_bytes=ctx.limits.max_part_header_bytes)
    cid = await in_thread(lambda: dag_mod.dag_put(
        ctx.node.blocks, data, input_codec=req.query.get("input-codec", "dag-json"),
        store_codec=req.query.get("store-codec", "dag-cbor"),
        hash_name=req.query.get("hash", "sha2-256")))
    if param_bool(req, "pin", False):
        await in_thread(lambda: ctx.node.pins.add(cid, recursive=True))
    await send_json(resp, {"Cid": {"/": str(cid)}})


def _import_spooled(ctx: ApiContext, f: Any, pin_roots: bool) -> Any:
    f.seek(0)
    chunks = iter(lambda: f.read(1 << 20), b"")
    return dag_mod.dag_import(ctx.node.blocks, chunks, pins=ctx.node.pins, pin_roots=pin_roots)


async def dag_import(ctx: ApiContext, req: Request, resp: Response) -> None:
    """Each CAR part is verified block by block and staged; nothing of a part is stored unless
    all of it parsed and verified (node/dag.py). Roots are pinned unless `pin-roots=false`."""
    pin_roots = param_bool(req, "pin-roots", True)
    stats = param_bool(req, "stats", False)
    results: list[Any] = []
    spool: Any = None
    async for kind, value in iter_parts(req, limit=ctx.limits.max_body_bytes, max_header_bytes=ctx.limits.max_part_header_bytes):
        if kind == "begin":
            spool = tempfile.SpooledTemporaryFile(max_size=ctx.limits.car_spool_memory_bytes)
        elif kind == "data" and spool is not None:
            await in_thread(spool.write, value)
        elif kind == "end" and spool is not None:
            f, spool = spool, None
            try:
                results.append(await in_thread(_import_spooled, ctx, f, pin_roots))
            finally:
                f.close()

    async def lines() -> AsyncIterator[dict[str, Any]]:
        for r in results:
            errors = dict(r.pinned)
            for root in r.roots:
                yield {"Root": {"Cid": {"/": str(root)}, "PinErrorMsg": errors.get(root) or ""}}
        if stats:
            yield {"Stats": {"BlockCount": sum(r.blocks for r in results),
                             "BlockBytesCount": sum(r.bytes for r in results)}}

    await send_ndjson(resp, lines())


ROUTES: dict[str, Handler] = {
    "block/get": block_get,
    "block/stat": block_stat,
    "block/put": block_put,
    "block/rm": block_rm,
    "dag/export": dag_export,
    "dag/import": dag_import,
    "dag/get": dag_get,
    "dag/put": dag_put,
    "dag/stat": dag_stat,
}
