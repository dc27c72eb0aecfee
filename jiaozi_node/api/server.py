"""The Kubo-compatible RPC API (`POST /api/v0/...`) as an ASGI app.

    app = RpcApp(ApiContext(node, online=on, fetch=...))
    await serve_app(app, "/ip4/127.0.0.1/tcp/5001")

Security, as Kubo: the API listens on loopback by default (config `Addresses.API`); only POST is
accepted (405 otherwise: a browser cannot trigger commands with a simple GET/img tag); the Host
check (DNS rebinding), `API.Authorizations` secrets and the Origin/Referer/User-Agent checks of
`access.py` answer 403 before any command runs; header sizes are bounded by the HTTP server and
bodies by `HttpLimits.max_body_bytes`.

Errors are Kubo's JSON: `{"Message": …, "Code": 0|1, "Type": "error"}`, status 500 for command
errors and 400 (Code 1) for bad arguments. Handlers live in one module per command group
(`h_add`, `h_files`, `h_blocks`, `h_node`); each exports ROUTES mapping the path below /api/v0/ to a handler.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import trio

from ..errors import InvalidInput, JzfsError, LimitExceeded
from ..gateway.asgi import ClientGone, Receive, Request, Response, Scope, Send, cancel_on_disconnect
from ..gateway.http_common import HttpError
from ..gateway.server import _lifespan
from . import h_add, h_blocks, h_diff, h_files, h_name, h_node, h_routing, h_sync
from .access import AUTH_DENIED, ApiAccess
from .common import ApiContext, Handler

log = logging.getLogger(__name__)

PREFIX = "/api/v0/"
WEBUI_PREFIX = "/webui"
ROUTES: dict[str, Handler] = {**h_add.ROUTES, **h_files.ROUTES, **h_blocks.ROUTES, **h_node.ROUTES,
                              **h_name.ROUTES, **h_routing.ROUTES, **h_sync.ROUTES,
                              **h_diff.ROUTES}
# Commands whose request carries a (multipart) body.
BODY_COMMANDS = frozenset({"add", "block/put", "dag/put", "dag/import", "key/import", "name/inspect",
                           "routing/put", "dht/put"})


# Commands whose `arg`s are content paths: `/ipns/NAME/…` there is resolved (ipns/paths.py's
# daemon side) before the handler sees it, so every handler keeps taking `/ipfs/` paths.
IPNS_PATH_COMMANDS = frozenset({"cat", "get", "ls", "dag/get", "dag/stat", "dag/export",
                                "dag/resolve", "pin/add", "block/get", "block/stat"})


async def _resolve_ipns_args(ctx: ApiContext, req: Request) -> None:
    if not any(k == "arg" and v.startswith(("/ipns/", "ipns://")) for k, v in req.query_pairs):
        return
    from .h_name import ipns_service

    svc = ipns_service(ctx)
    pairs = []
    for k, v in req.query_pairs:
        if k == "arg" and v.startswith(("/ipns/", "ipns://")):
            v = await svc.resolve(v)
        pairs.append((k, v))
    req.query_pairs = pairs
    req.query = dict(pairs)


def error_body(message: str, code: int) -> bytes:
    return (json.dumps({"Message": message, "Code": code, "Type": "error"}) + "\n").encode()


class RpcApp:
    """`listen_host`: the host of the configured API address (allowed in `Host`, see access.py);
    `allowed_origins` overrides config `API.HTTPHeaders.Access-Control-Allow-Origin`."""


    def __init__(self, ctx: ApiContext, *, allowed_origins: list[str] | None = None,
                 listen_host: str | None = None) -> None:
        self.ctx = ctx
        self.access = ApiAccess.from_settings(ctx.node.settings.api,
                                              listen_host=listen_host, allowed_origins=allowed_origins)
        self.webui: Any = None  # built on the first /webui request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        req = Request(scope, receive)
        resp = Response(send)
        denied = self.access.check(req.method, req.path, req.headers, scope.get("server"))
        if denied is not None:
            log.warning("api: refused %s %s: %s", req.method, req.path[:200], denied)
            if denied == AUTH_DENIED and self.access.basic_challenge(req.path):
                await resp.text(401, denied, [("WWW-Authenticate", 'Basic realm="jzfs", charset="UTF-8"')])
                return
            await resp.text(403, denied)
            return
        if req.path == WEBUI_PREFIX or req.path.startswith(WEBUI_PREFIX + "/"):
            await self._webui(req, resp)  # the web UI (jiaozi_node/webui), after the same checks
            return
        if not req.path.startswith(PREFIX) or req.path[len(PREFIX):].rstrip("/") not in ROUTES:
            await resp.text(404, "404 page not found")
            return
        if req.method != "POST":
            await resp.text(405, "405 - Method Not Allowed", [("Allow", "POST")])
            return
        name = req.path[len(PREFIX):].rstrip("/")
        # GET-like commands read no body: watch for a hang-up at once; the others once their body
        # is read. Either way a client that leaves mid-stream stops the work (not just the sends).
        after = req.body_finished if name in BODY_COMMANDS else None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(cancel_on_disconnect, req._receive, nursery.cancel_scope, after)
            await self._run(ROUTES[name], req, resp)
            nursery.cancel_scope.cancel()

    async def _webui(self, req: Request, resp: Response) -> None:
        if self.webui is None:
            from ..webui.app import WebUI  # Jinja2 is imported only when a page is asked for

            self.webui = WebUI(self.ctx)
        try:
            await self.webui(req, resp)
        except ClientGone:
            log.info("webui: client went away during %s", req.path)

    async def _run(self, handler: Handler, req: Request, resp: Response) -> None:
        try:
            if req.path[len(PREFIX):].rstrip("/") in IPNS_PATH_COMMANDS:
                await _resolve_ipns_args(self.ctx, req)
            await handler(self.ctx, req, resp)
        except ClientGone:
            log.info("api: client went away during %s", req.path)
        except Exception as exc:
            if resp.started:
                log.warning("api: %s failed mid-stream: %s", req.path, exc)
                raise  # the connection is dropped; the client sees a truncated stream
            if isinstance(exc, HttpError):
                status, code = exc.status, (1 if exc.status < 500 else 0)
            elif isinstance(exc, (InvalidInput, LimitExceeded)):
                status, code = 400, 1
            elif isinstance(exc, JzfsError):
                status, code = 500, 0
            else:
                log.exception("api: internal error in %s", req.path)
                status, code = 500, 0
            await resp.full(status, [("Content-Type", "application/json")], error_body(str(exc), code))
