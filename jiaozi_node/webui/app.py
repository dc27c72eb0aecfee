"""Routing, CSRF and responses of the web UI (the adapter between ASGI and the page modules).

    ui = WebUI(ctx)                 # ctx: the RPC server's ApiContext (node, online, fetch)
    await ui(req, resp)             # called by api.server.RpcApp for /webui and /webui/...

A page handler is `def page(ui, q) -> Reply` (sync: run in a worker thread, where blockstore
reads belong) or `async def` (pages that talk to the network, like the node page). A Reply is
`Html` (a template and its context), `Json`, `Redirect` or `Download` (streamed chunks).
Errors become an HTML error page: NotFound 404, InvalidInput/LimitExceeded 400, others 500.
"""

from __future__ import annotations

import hmac
import inspect
import json
import logging
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import trio

from ..config import WEBUI_LIMITS, WebUILimits
from ..errors import InvalidInput, JzfsError, LimitExceeded, NotFound
from ..gateway.asgi import ClientGone
from .render import PREFIX, render

if TYPE_CHECKING:
    from ..api.common import ApiContext
    from ..gateway.asgi import Request, Response

log = logging.getLogger(__name__)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain; charset=utf-8"}


@dataclass
class Html:
    template: str
    context: dict[str, Any]
    status: int = 200


@dataclass
class Json:
    value: Any
    status: int = 200


@dataclass
class Redirect:
    location: str


@dataclass
class Download:
    chunks: Iterator[bytes]
    content_type: str = "application/octet-stream"
    filename: str | None = None
    length: int | None = None
    inline: bool = False


Reply = Html | Json | Redirect | Download


@dataclass
class Query:
    """What a handler sees of the request: path match groups, query string, form fields."""

    params: dict[str, str]
    query: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    method: str = "GET"

    def get(self, name: str, default: str | None = None) -> str | None:
        v = self.query.get(name)
        return default if v is None or v == "" else v

    def int(self, name: str, default: int, *, lo: int = 0, hi: int = 1 << 62) -> int:
        v = self.query.get(name)
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            raise InvalidInput(f"{name} must be an integer, not {v!r}") from None
        return min(max(n, lo), hi)


Handler = Callable[["WebUI", Query], Reply | Awaitable[Reply]]
Route = tuple[str, "re.Pattern[str]", Handler]


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback (quotes, backslashes and controls replaced) + filename*."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class WebUI:
    def __init__(self, ctx: ApiContext, *, limits: WebUILimits = WEBUI_LIMITS,
                 csp: bool | None = None) -> None:
        self.ctx = ctx
        self.limits = limits
        self._secret = secrets.token_bytes(32)
        if csp is None:
            csp = ctx.node.settings.webui.content_security_policy
        self.csp = csp
        self.cache: dict[Any, Any] = {}  # immutable-by-CID results (listings, commits), bounded
        self.cache_lock = threading.Lock()  # pages run in worker threads
        self.routes: list[Route] = []
        from . import datasets, diffs, history, inspect_cid, node, preview, tree

        for module in (datasets, history, tree, preview, diffs, node, inspect_cid):
            for method, pattern, handler in module.ROUTES:
                self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    @property
    def node(self) -> Any:
        return self.ctx.node

    @property
    def getter(self) -> Any:
        return self.ctx.getter

    # ------------------------------------------------------------------ CSRF

    def csrf_token(self) -> str:
        """One token per daemon run: an HMAC of a secret only this process knows. A page from
        another origin cannot read it (same-origin policy), so it cannot forge the POST."""
        return hmac.new(self._secret, b"jzfs-webui-csrf", "sha256").hexdigest()

    def _same_origin(self, req: Request) -> bool:
        host = req.headers.get("host", "")
        origin = req.headers.get("origin")
        if origin is not None and origin != "null":
            return urlsplit(origin).netloc == host
        referer = req.headers.get("referer")
        return referer is not None and urlsplit(referer).netloc == host

    # ------------------------------------------------------------------ dispatch

    async def __call__(self, req: Request, resp: Response) -> None:
        path = req.path[len(PREFIX):] or "/"
        if path.startswith("/static/"):
            await self._static(path[len("/static/"):], resp)
            return
        if req.method not in ("GET", "HEAD", "POST"):
            await self._send_html(resp, 405, "error.html", {"status": 405, "message": "method not allowed"})
            return
        method = "GET" if req.method == "HEAD" else req.method
        found = None
        for m, pattern, handler in self.routes:
            match = pattern.match(path)
            if match and m == method:
                found = (handler, match)
                break
            if match:
                found = found or (None, match)
        if found is None:
            await self._send_html(resp, 404, "error.html", {"status": 404, "message": f"no page {path}"})
            return
        handler, match = found
        if handler is None:
            await self._send_html(resp, 405, "error.html", {"status": 405, "message": "method not allowed"})
            return
        from urllib.parse import unquote

        params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
        q = Query(params, dict(req.query), method=method)
        if method == "POST":
            try:
                body = await req.body(self.limits.max_form_bytes)
            except LimitExceeded as exc:
                await self._send_html(resp, 400, "error.html", {"status": 400, "message": str(exc)})
                return
            q.form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            token = q.form.get("csrf", "")
            if not self._same_origin(req) or not hmac.compare_digest(
                    token.encode("utf-8", "surrogatepass"), self.csrf_token().encode()):
                await self._send_html(resp, 403, "error.html", {
                    "status": 403, "message": "refused: a state change needs this page's token "
                    "and must come from the same origin"})
                return
        try:
            if inspect.iscoroutinefunction(handler):
                reply = await handler(self, q)
            else:
                reply = await trio.to_thread.run_sync(handler, self, q, abandon_on_cancel=True)
            await self._send(resp, reply, head=req.method == "HEAD")
        except JzfsError as exc:
            if resp.started:  # mid-download: the connection is dropped, the client sees it cut
                raise
            status = 404 if isinstance(exc, NotFound) else 400 if isinstance(
                exc, (InvalidInput, LimitExceeded)) else 500
            await self._send_html(resp, status, "error.html", {"status": status, "message": str(exc)})
        except (ClientGone, trio.Cancelled):
            raise
        except Exception:  # a bug or a hostile input we did not foresee: logged, a page, no traceback
            log.exception("webui: internal error on %s", req.path)
            if resp.started:
                raise
            await self._send_html(resp, 500, "error.html", {"status": 500, "message": "internal error (logged)"})

    def _headers(self, content_type: str) -> list[tuple[str, str]]:
        h = [("Content-Type", content_type), ("X-Content-Type-Options", "nosniff"),
             ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY"),
             ("Cache-Control", "no-store")]
        if self.csp:
            h.append(("Content-Security-Policy", CSP))
        return h

    async def _send_html(self, resp: Response, status: int, template: str, context: dict[str, Any]) -> None:
        body = await trio.to_thread.run_sync(self.render_page, template, context)
        await resp.full(status, self._headers("text/html; charset=utf-8"), body)

    def render_page(self, template: str, context: dict[str, Any]) -> bytes:
        return render(template, csrf=self.csrf_token(), **context).encode()

    async def _send(self, resp: Response, reply: Reply, *, head: bool = False) -> None:
        if isinstance(reply, Html):
            await self._send_html(resp, reply.status, reply.template, reply.context)
        elif isinstance(reply, Json):
            body = json.dumps(reply.value, default=str).encode()
            await resp.full(reply.status, self._headers("application/json"), body)
        elif isinstance(reply, Redirect):
            await resp.full(303, [*self._headers("text/plain"), ("Location", reply.location)], b"")
        else:
            await self._download(resp, reply, head)

    async def _download(self, resp: Response, d: Download, head: bool) -> None:
        headers = self._headers(d.content_type)
        if d.filename is not None or not d.inline:
            headers.append(("Content-Disposition", content_disposition(d.filename or "download", inline=d.inline)))
        if d.length is not None:
            headers.append(("Content-Length", str(d.length)))
        batch = self.limits.download_batch_bytes

        def pull() -> bytes:
            parts, total = [], 0
            for c in d.chunks:
                parts.append(c)
                total += len(c)
                if total >= batch:
                    break
            return b"".join(parts)

        first = b"" if head else await trio.to_thread.run_sync(pull, abandon_on_cancel=True)
        await resp.start(200, headers)
        data = first
        while data:
            await resp.chunk(data)
            data = await trio.to_thread.run_sync(pull, abandon_on_cancel=True)
        await resp.end()

    async def _static(self, name: str, resp: Response) -> None:
        ext = name[name.rfind("."):] if "." in name else ""
        if "/" in name or name.startswith(".") or ext not in STATIC_TYPES:
            await resp.text(404, "404 page not found")
            return
        try:
            data = resources.files("jiaozi_node.webui").joinpath("static", name).read_bytes()
        except (FileNotFoundError, OSError):
            await resp.text(404, "404 page not found")
            return
        headers = [("Content-Type", STATIC_TYPES[ext]), ("X-Content-Type-Options", "nosniff"),
                   ("Cache-Control", "max-age=300")]
        await resp.full(200, headers, data)
