"""Web UI unit tests: a node with the demo dataset, and a request helper that calls the RPC app
(the web UI behind the API's own checks) in-process over ASGI."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp
from jiaozi_node.node import Node
from jiaozi_node.testing.datasets import build_demo


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode()


def call(app, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> Reply:
    raw_path, _, qs = path.partition("?")
    hdrs = {"host": "127.0.0.1:5001", **(headers or {})}
    scope = {"type": "http", "method": method, "path": raw_path, "raw_path": raw_path.encode(),
             "query_string": qs.encode(), "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs.items()]}
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if messages:
            return messages.pop(0)
        await trio.sleep_forever()

    async def send(msg):
        sent.append(msg)

    trio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, out)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webui")
    node = Node.open(tmp / "repo")
    info = build_demo(node, tmp, many_files=6000)
    app = RpcApp(ApiContext(node))

    def get(path: str, **kw) -> Reply:
        return call(app, "GET", path, **kw)

    info.update(node=node, app=app, get=get, call=lambda *a, **kw: call(app, *a, **kw), tmp=tmp)
    yield info
    node.close()


@pytest.fixture
def tmp_node(tmp_path: Path):
    node = Node.open(tmp_path / "repo")
    yield node
    node.close()
