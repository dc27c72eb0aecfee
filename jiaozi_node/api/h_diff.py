"""RPC handler for the row-level CSV diff, so `jzfs diff A B --rows PATH` runs in a running daemon
like other commands (its process has the versioning code loaded already): `jzfs/diff/rows`
(arg: A, B, PATH; `key`, `no-verify`). Answers `versioning.rowdiff.result_json` (what `--json`
prints)."""

from __future__ import annotations

from ..errors import InvalidInput
from ..gateway.asgi import Request, Response
from .common import ApiContext, Handler, in_thread, param_bool, send_json


async def diff_rows(ctx: ApiContext, req: Request, resp: Response) -> None:
    from ..versioning.rowdiff import result_json

    args = req.args()
    if len(args) != 3:
        raise InvalidInput("usage: diff/rows A B PATH")
    key = req.query.get("key") or None
    verify = not param_bool(req, "no-verify", False)

    def run() -> dict[str, object]:
        result = ctx.node.versioning.row_diff(args[0], args[1], args[2], key=key, verify=verify)
        return result_json(result, path=args[2], key=key)

    await send_json(resp, await in_thread(run))


ROUTES: dict[str, Handler] = {"jzfs/diff/rows": diff_rows}
