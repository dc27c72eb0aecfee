"""RPC handlers for dataset sync, so `jzfs fetch|pull|clone|push` go through a running daemon
like every other command: `jzfs/fetch`, `jzfs/pull` (arg: REMOTE, REPO[, BRANCH]),
`jzfs/clone` (arg: MULTIADDR, NAME), `jzfs/push` (arg: REMOTE, REPO, BRANCH; `force`).
Each answers the JSON value `versioning/sync_ops.py` returns (what `--json` prints)."""

from __future__ import annotations

from ..errors import InvalidInput
from ..gateway.asgi import Request, Response
from .common import ApiContext, Handler, param_bool, send_json


def _args(req: Request, lo: int, hi: int, usage: str) -> list[str]:
    args = req.args()
    if not lo <= len(args) <= hi:
        raise InvalidInput(f"usage: {usage}")
    return args


def _client(ctx: ApiContext):  # type: ignore[no-untyped-def]
    from ..versioning.sync import SyncClient

    return SyncClient(ctx.require_online())


async def fetch(ctx: ApiContext, req: Request, resp: Response) -> None:
    from ..versioning import sync_ops

    a = _args(req, 2, 3, "fetch REMOTE REPO [BRANCH]")
    await send_json(resp, await sync_ops.fetch(_client(ctx), ctx.node, a[0], a[1], a[2] if len(a) > 2 else None))


async def pull(ctx: ApiContext, req: Request, resp: Response) -> None:
    from ..versioning import sync_ops

    a = _args(req, 2, 3, "pull REMOTE REPO [BRANCH]")
    await send_json(resp, await sync_ops.fetch(_client(ctx), ctx.node, a[0], a[1], a[2] if len(a) > 2 else None,
                                               pull=True))


async def clone(ctx: ApiContext, req: Request, resp: Response) -> None:
    from ..versioning import sync_ops

    a = _args(req, 2, 2, "clone MULTIADDR NAME")
    await send_json(resp, await sync_ops.clone(_client(ctx), ctx.node, a[0], a[1]))


async def push(ctx: ApiContext, req: Request, resp: Response) -> None:
    from ..versioning import sync_ops

    a = _args(req, 3, 3, "push REMOTE REPO BRANCH")
    await send_json(resp, await sync_ops.push(_client(ctx), ctx.node, a[0], a[1], a[2],
                                              force=param_bool(req, "force", False)))


ROUTES: dict[str, Handler] = {
    "jzfs/fetch": fetch,
    "jzfs/pull": pull,
    "jzfs/clone": clone,
    "jzfs/push": push,
}
