"""Fixtures of the hostile-input suite. Each section names its owner; add yours as a separate section."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

# ------------------------------------------------------------------ real sockets (secsurface: RPC API, gateway)


@pytest.fixture
def serve(nursery: trio.Nursery) -> Callable[..., Awaitable[tuple[str, int]]]:
    """await serve(app, limits=HTTP_LIMITS) -> (host, port): an ASGI app served by hypercorn on
    127.0.0.1 (a free port) for the rest of the test, as `jzfs daemon` serves it."""
    from jiaozi_node.config import HTTP_LIMITS
    from jiaozi_node.gateway.asgi import serve_app
    from jiaozi_node.gateway.http_common import multiaddr_to_host_port

    async def start(app: Any, limits: Any = HTTP_LIMITS) -> tuple[str, int]:
        addr = await nursery.start(lambda task_status: serve_app(
            app, "/ip4/127.0.0.1/tcp/0", limits=limits, task_status=task_status))
        return multiaddr_to_host_port(addr)

    return start


async def _raw_exchange(host: str, port: int, request: bytes, *, deadline_s: float = 10.0) -> bytes:
    """Send `request` on a fresh TCP connection and read until the server closes it. Fails
    (trio.TooSlowError) if the server keeps the socket open past `deadline_s` — a hang detector,
    not a speed assertion."""
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(request)
        out = bytearray()
        with trio.fail_after(deadline_s):
            while chunk := await stream.receive_some(65536):
                out += chunk
    return bytes(out)


@pytest.fixture
def raw_http() -> Callable[..., Awaitable[bytes]]:
    """await raw_http(host, port, request_bytes, deadline_s=10) -> everything the server sent
    before closing the connection (see _raw_exchange)."""
    return _raw_exchange
