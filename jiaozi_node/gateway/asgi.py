"""The thin ASGI layer shared by the gateway and the RPC API, and the hypercorn/trio runner.

An app here is a plain ASGI callable; hypercorn (trio worker) serves it. Header sizes are bounded
by hypercorn's h11 `h11_max_incomplete_size`, which we set from `HttpLimits.max_header_bytes`;
request bodies are read in chunks and bounded by the caller (`Request.body(limit)` /
`Request.stream(limit)`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import trio

from ..config import HTTP_LIMITS, HttpLimits
from ..errors import LimitExceeded
from .http_common import host_port_to_multiaddr, multiaddr_to_host_port

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[str, str]]


class ClientGone(Exception):
    """The client closed the connection while we were sending."""


class Request:
    """One HTTP request: method, path, query (last value wins, plus `args` for repeated `arg`)."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self._receive = receive
        self.method: str = scope["method"]
        self.path: str = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        self.query_pairs: list[tuple[str, str]] = pairs
        self.query: dict[str, str] = dict(pairs)
        self.headers: dict[str, str] = {}
        for k, v in scope.get("headers", []):
            name = k.decode("latin-1").lower()
            val = v.decode("latin-1")
            self.headers[name] = f"{self.headers[name]}, {val}" if name in self.headers else val
        self._body_done = False
        # Set once the whole body was read, so a disconnect watcher may take over `receive`.
        self.body_finished = trio.Event()

    def args(self, name: str = "arg") -> list[str]:
        return [v for k, v in self.query_pairs if k == name]

    async def stream(self, limit: int) -> AsyncIterator[bytes]:
        """The request body in chunks; raises LimitExceeded past `limit` bytes."""
        total = 0
        while not self._body_done:
            msg = await self._receive()
            if msg["type"] == "http.disconnect":
                raise ClientGone("client disconnected while sending the body")
            chunk = msg.get("body", b"")
            self._body_done = not msg.get("more_body", False)
            if self._body_done:
                self.body_finished.set()
            total += len(chunk)
            if total > limit:
                raise LimitExceeded(f"request body over the {limit} byte limit")
            if chunk:
                yield chunk

    async def body(self, limit: int) -> bytes:
        parts = [c async for c in self.stream(limit)]
        return b"".join(parts)


async def cancel_on_disconnect(receive: Receive, cancel: trio.CancelScope,
                               after: trio.Event | None = None) -> None:
    """Cancel `cancel` when the client goes away. Only the last reader of `receive` may run this:
    pass `after` (Request.body_finished) when the handler still has a body to read."""
    if after is not None:
        await after.wait()
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            cancel.cancel()
            return


class Response:
    """Helpers that send a response over ASGI `send`."""

    def __init__(self, send: Send, *, head_only: bool = False) -> None:
        self._send = send
        self.head_only = head_only
        self.started = False

    async def start(self, status: int, headers: Headers) -> None:
        self.started = True
        await self._send({
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        })

    async def chunk(self, data: bytes, *, more: bool = True) -> None:
        if self.head_only:
            data = b""
            if more:
                return
        try:
            if more:
                await self._send({"type": "http.response.body", "body": data, "more_body": True})
            else:
                # The last send runs hypercorn's end of the request cycle in OUR task: it posts
                # `http.disconnect` (which wakes `cancel_on_disconnect`), then closes the socket
                # (`Connection: close`) or starts the keep-alive timer. Cancelled half-way, neither
                # happens and the connection stays open with nothing to end it: shield it.
                with trio.CancelScope(shield=True):
                    await self._send({"type": "http.response.body", "body": data, "more_body": False})
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ClientGone(str(exc)) from exc

    async def end(self) -> None:
        await self.chunk(b"", more=False)

    async def full(self, status: int, headers: Headers, body: bytes) -> None:
        headers = [*headers, ("Content-Length", str(len(body)))]
        await self.start(status, headers)
        await self.chunk(body, more=False)

    async def text(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        await self.full(status, [("Content-Type", "text/plain; charset=utf-8"), *headers],
                        (message.rstrip("\n") + "\n").encode())


def hypercorn_config(host: str, port: int, limits: HttpLimits) -> Any:
    from hypercorn.config import Config

    cfg = Config()
    cfg.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    cfg.h11_max_incomplete_size = limits.max_header_bytes
    cfg.accesslog = None
    cfg.errorlog = logging.getLogger("jiaozi_node.http")
    cfg.keep_alive_timeout = limits.keep_alive_timeout_s
    return cfg


def _os_error(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for leaf in exc.exceptions:
            found = _os_error(leaf)
            if found is not None:
                return found
    return None


async def serve_app(app: Callable[..., Awaitable[None]], multiaddr: str, *,
                    limits: HttpLimits = HTTP_LIMITS,
                    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve `app` on `multiaddr` until cancelled. `task_status.started()` gets the bound
    address as a multiaddr (useful with port 0)."""
    from hypercorn.trio import serve

    host, port = multiaddr_to_host_port(multiaddr)
    cfg = hypercorn_config(host, port, limits)
    async with trio.open_nursery() as nursery:
        try:
            bound: list[str] = await nursery.start(serve, app, cfg)
        except (OSError, BaseExceptionGroup) as exc:  # e.g. the port is in use: name the address
            from ..errors import NetworkError

            err = _os_error(exc)
            if err is None or isinstance(err, NetworkError):
                raise
            raise NetworkError(f"cannot listen on {multiaddr}: {err.strerror or err}") from None
        url = bound[0]  # like "http://127.0.0.1:8080"
        hostport = url.split("://", 1)[1]
        h, _, p = hostport.rpartition(":")
        task_status.started(host_port_to_multiaddr(h.strip("[]"), int(p)))
