"""RPC handlers: name/publish, name/resolve, name/inspect, key/* (Kubo's JSON shapes, as
`kubo-rpc-client` reads them).

    name/publish?arg=/ipfs/CID&key=self&lifetime=48h&ttl=1h&allow-offline=true&v1compat=true
        -> {"Name": "k51…", "Value": "/ipfs/CID"}
    name/resolve?arg=/ipns/NAME&recursive=true&nocache=false  -> {"Path": "/ipfs/…"}
    key/gen?arg=NAME&type=ed25519 -> {"Name", "Id"};  key/list -> {"Keys": [{"Name", "Id"}]}
    key/rm?arg=NAME -> {"Keys": [...]};  key/rename?arg=OLD&arg=NEW&force -> {"Was","Now","Id","Overwrite"}
    key/import?arg=NAME&format=… (multipart key file) -> {"Name", "Id"};  key/export?arg=NAME -> bytes
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..gateway.asgi import Request, Response
from .common import ApiContext, Handler, in_thread, one_arg, param_bool, send_json
from .multipart import first_part


def ipns_service(ctx: ApiContext) -> Any:
    """The daemon's IPNS service, or an offline one (tests without a network)."""
    if ctx.online is not None and ctx.online.services.get("ipns") is not None:
        return ctx.online.services["ipns"]
    svc = getattr(ctx, "_offline_ipns", None)
    if svc is None:
        from ..ipns.service import IpnsService

        svc = IpnsService.offline(ctx.node)
        ctx._offline_ipns = svc  # type: ignore[attr-defined]
    return svc


def _duration(req: Request, name: str) -> float | None:
    from ..ipns.publisher import parse_duration

    v = req.query.get(name)
    return parse_duration(v) if v else None


async def name_publish(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = ipns_service(ctx)
    v2_only = param_bool(req, "v2-only", False) or not param_bool(req, "v1compat", True)
    name, value = await svc.publish(
        one_arg(req, "ipfs-path"), key=req.query.get("key") or "self",
        lifetime_s=_duration(req, "lifetime"), ttl_s=_duration(req, "ttl"), v2_only=v2_only,
        allow_offline=param_bool(req, "allow-offline", False))
    await send_json(resp, {"Name": str(name), "Value": value})


async def name_resolve(ctx: ApiContext, req: Request, resp: Response) -> None:
    svc = ipns_service(ctx)
    arg = req.args()[0] if req.args() else "/ipns/" + ctx.node.repo.peer_id
    path = await svc.resolve(arg, recursive=param_bool(req, "recursive", True),
                             nocache=param_bool(req, "nocache", False))
    await send_json(resp, {"Path": path})


async def name_inspect(ctx: ApiContext, req: Request, resp: Response) -> None:
    from ..ipns.inspect import inspect_record

    data = await first_part(req, limit=ctx.node.defaults.ipns.max_record_bytes + 1, max_header_bytes=ctx.limits.max_part_header_bytes)
    await send_json(resp, inspect_record(data, verify=req.query.get("verify")))


async def key_gen(ctx: ApiContext, req: Request, resp: Response) -> None:
    ks = ipns_service(ctx).keystore
    size = req.query.get("size")
    info = await in_thread(lambda: ks.generate(one_arg(req, "name"), req.query.get("type") or "ed25519",
                                               size=int(size) if size else 2048))
    await send_json(resp, info.kubo_json())


async def key_list(ctx: ApiContext, req: Request, resp: Response) -> None:
    ks = ipns_service(ctx).keystore
    await send_json(resp, {"Keys": [k.kubo_json() for k in await in_thread(ks.list)]})


async def key_rm(ctx: ApiContext, req: Request, resp: Response) -> None:
    ks = ipns_service(ctx).keystore
    if not req.args():
        raise InvalidInput("argument 'name' is required")
    removed = [ks.remove(n).kubo_json() for n in req.args()]
    await send_json(resp, {"Keys": removed})


async def key_rename(ctx: ApiContext, req: Request, resp: Response) -> None:
    ks = ipns_service(ctx).keystore
    args = req.args()
    if len(args) != 2:
        raise InvalidInput("key rename takes the old and the new name")
    info, existed = ks.rename(args[0], args[1], force=param_bool(req, "force", False))
    await send_json(resp, {"Was": args[0], "Now": args[1], "Id": str(info.id), "Overwrite": existed})


async def key_import(ctx: ApiContext, req: Request, resp: Response) -> None:
    ks = ipns_service(ctx).keystore
    data = await first_part(req, limit=ctx.node.defaults.ipns.max_key_file_bytes, max_header_bytes=ctx.limits.max_part_header_bytes)
    info = ks.import_key(one_arg(req, "name"), data,
                         req.query.get("format") or "libp2p-protobuf-cleartext",
                         allow_any_type=param_bool(req, "allow-any-key-type", False))
    await send_json(resp, info.kubo_json())


async def key_export(ctx: ApiContext, req: Request, resp: Response) -> None:
    ks = ipns_service(ctx).keystore
    data = ks.export(one_arg(req, "name"), req.query.get("format") or "libp2p-protobuf-cleartext")
    await resp.full(200, [("Content-Type", "application/octet-stream"), ("X-Stream-Output", "1")],
                    data)


ROUTES: dict[str, Handler] = {
    "name/publish": name_publish,
    "name/resolve": name_resolve,
    "name/inspect": name_inspect,
    "key/gen": key_gen,
    "key/list": key_list,
    "key/rm": key_rm,
    "key/rename": key_rename,
    "key/import": key_import,
    "key/export": key_export,
}
