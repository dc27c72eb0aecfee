"""RPC handlers: id, version, swarm/*, pin/*, repo/gc, repo/stat (Kubo's JSON shapes)."""

from __future__ import annotations

import platform
import sys
from collections.abc import AsyncIterator
from typing import Any

from .. import __version__
from ..errors import InvalidInput, NotFound
from ..gateway.asgi import Request, Response
from ..unixfs.exporter_data import load_block
from .common import ApiContext, Handler, in_thread, param_bool, send_json, send_ndjson


async def version(ctx: ApiContext, req: Request, resp: Response) -> None:
    await send_json(resp, {
        "Version": __version__, "Commit": "", "Repo": "1",
        "System": f"{platform.machine()}/{sys.platform}",
        "Golang": f"python{platform.python_version()}",
    })


async def id_(ctx: ApiContext, req: Request, resp: Response) -> None:
    from . import swarm as net

    peer = req.args()[0] if req.args() else None
    if peer is not None:
        from ..routing.http.records import parse_peer_id

        parse_peer_id(peer)  # Kubo decodes the peer ID first: "invalid peer ID", not "not connected"
    if ctx.online is None:
        if peer is not None and peer != ctx.node.repo.peer_id:
            ctx.require_online()
        await send_json(resp, net.id_info_offline(ctx.node))
        return
    await send_json(resp, await net.id_info(ctx.online, peer))


def _swarm(fn_name: str, *, with_args: bool = False) -> Handler:
    async def handler(ctx: ApiContext, req: Request, resp: Response) -> None:
        from . import swarm as net

        on = ctx.require_online()
        fn = getattr(net, fn_name)
        if with_args:
            result = await fn(on, req.args())
        elif fn_name == "peers":
            result = await fn(on, verbose=param_bool(req, "verbose", False))
        elif fn_name == "local_addrs":
            result = await fn(on, with_id=param_bool(req, "id", False))
        else:
            result = await fn(on)
        await send_json(resp, result)

    return handler


# ------------------------------------------------------------------------------------------ pins


async def pin_add(ctx: ApiContext, req: Request, resp: Response) -> None:
    args = req.args()
    if not args:
        raise InvalidInput("argument 'ipfs-path' is required")
    recursive = param_bool(req, "recursive", True)
    pinned = []
    pins = ctx.node.pins
    for arg in args:
        cid = await in_thread(ctx.resolve_cid, arg)
        if not recursive:
            await in_thread(load_block, ctx.getter, cid)
            await in_thread(lambda c=cid: pins.add(c, recursive=False))
        else:
            # The GC lock (shared) from before the first block is fetched until the pin is
            # recorded: `fetch_dag` walked every block of the DAG (each one local or fetched,
            # verified and stored), so the pin needs no second walk re-reading it all.
            hold = pins.lock.shared()
            await in_thread(hold.__enter__)
            try:
                walked = await ctx.fetch_dag(cid)
                if not walked:
                    await in_thread(ctx.make_dag_local, cid)
                await in_thread(lambda c=cid: pins.add(c, recursive=True, complete=True))
            finally:
                hold.__exit__(None, None, None)
        pinned.append(str(cid))
    await send_json(resp, {"Pins": pinned})


async def pin_rm(ctx: ApiContext, req: Request, resp: Response) -> None:
    args = req.args()
    if not args:
        raise InvalidInput("argument 'ipfs-path' is required")
    recursive = param_bool(req, "recursive", True)
    out = []
    for arg in args:
        cid = await in_thread(ctx.resolve_cid, arg)
        await in_thread(lambda c=cid: ctx.node.pins.rm(c, recursive=recursive))
        out.append(str(cid))
    await send_json(resp, {"Pins": out})


async def pin_ls(ctx: ApiContext, req: Request, resp: Response) -> None:
    kind = req.query.get("type", "all")
    args = req.args()
    pins = ctx.node.pins
    if args:
        keys: dict[str, Any] = {}
        for arg in args:
            cid = await in_thread(ctx.resolve_cid, arg)
            try:
                t = await in_thread(pins.pin_type, cid)
            except NotFound:
                raise NotFound(f"path '{arg}' is not pinned") from None
            if kind in ("all", t):
                keys[str(cid)] = {"Type": t}
    else:
        keys = {str(c): {"Type": t} for c, t in await in_thread(pins.ls, kind)}
    if param_bool(req, "stream", False):
        async def lines() -> AsyncIterator[dict[str, str]]:
            for c, v in keys.items():
                yield {"Cid": c, "Type": v["Type"]}
        await send_ndjson(resp, lines())
        return
    await send_json(resp, {"Keys": keys})


async def repo_gc(ctx: ApiContext, req: Request, resp: Response) -> None:
    from ..store import gc as gc_mod  # mark-and-sweep (store/gc.py collect)

    removed = await in_thread(lambda: list(gc_mod.collect(ctx.node.pins)))
    quiet = param_bool(req, "quiet", False)

    async def lines() -> AsyncIterator[dict[str, Any]]:
        if quiet:
            return
        for cid in removed:
            yield {"Key": {"/": str(cid)}}

    await send_ndjson(resp, lines())


async def repo_stat(ctx: ApiContext, req: Request, resp: Response) -> None:
    def stat() -> dict[str, Any]:
        blocks = ctx.node.blocks
        n = size = 0
        for cid in blocks.cids():
            n += 1
            size += blocks.size(cid)
        return {"NumObjects": n, "RepoSize": size, "StorageMax": 0,
                "RepoPath": str(ctx.node.repo.path), "Version": "fs-repo@1"}

    await send_json(resp, await in_thread(stat))


ROUTES: dict[str, Handler] = {
    "version": version,
    "id": id_,
    "swarm/peers": _swarm("peers"),
    "swarm/connect": _swarm("connect", with_args=True),
    "swarm/disconnect": _swarm("disconnect", with_args=True),
    "swarm/addrs": _swarm("addrs"),
    "swarm/addrs/local": _swarm("local_addrs"),
    "pin/add": pin_add,
    "pin/rm": pin_rm,
    "pin/ls": pin_ls,
    "repo/gc": repo_gc,
    "repo/stat": repo_stat,
}
