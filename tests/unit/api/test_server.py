"""api/server.py: routing, Kubo error bodies, security checks (method, Origin, body bounds)."""

from __future__ import annotations

import httpx

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp
from jiaozi_node.ipld import CID
from jiaozi_node.node import Node


async def test_security_rules(api, node: Node) -> None:
    async with api(node) as http:
        assert (await http.get("/api/v0/version")).status_code == 405
        r = await http.post("/api/v0/version", headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = await http.post("/api/v0/version", headers={"Origin": "http://127.0.0.1:5001"})
        assert r.status_code == 200  # same origin
        assert (await http.post("/api/v0/nope")).status_code == 404
        assert (await http.post("/webui")).status_code == 405  # the web UI: pages are GETs


async def test_errors_are_kubo_json(api, node: Node, tree: dict[str, CID]) -> None:
    async with api(node) as http:
        r = await http.post("/api/v0/cat", params={"arg": "not-a-cid"})
        assert r.status_code == 400 and r.json()["Type"] == "error"
        r = await http.post("/api/v0/cat", params={"arg": str(CID.of(b"missing"))})
        assert r.status_code == 500 and "not found" in r.json()["Message"]
        r = await http.post("/api/v0/cat", params={"arg": f"{tree['root']}/nope"})
        assert r.status_code == 500 and "nope" in r.json()["Message"]
        r = await http.post("/api/v0/cat")
        assert r.status_code == 400 and r.json()["Code"] == 1
        r = await http.post("/api/v0/cat", params={"arg": f"{tree['root']}/../x"})
        assert r.status_code == 400


async def test_oversized_body_refused(api, node: Node) -> None:
    import dataclasses

    from jiaozi_node.config import HTTP_LIMITS

    app = RpcApp(ApiContext(node, limits=dataclasses.replace(HTTP_LIMITS, max_body_bytes=1000)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        r = await http.post("/api/v0/block/put", files={"data": ("d", b"x" * 5000)})
        assert r.status_code == 400 and "limit" in r.json()["Message"]
        r = await http.post("/api/v0/block/put", content=b"garbage",
                            headers={"Content-Type": "multipart/form-data; boundary=zzz"})
        assert r.status_code == 400


async def test_client_hangup_stops_the_work(node: Node) -> None:
    """A client that leaves in the middle of `cat` stops the server reading the file, not only
    its sends (hypercorn silently drops sends to a closed connection)."""
    import hashlib

    import trio

    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.api.server import RpcApp
    from jiaozi_node.ipld import Block
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    dag = DagBuilder()
    big = dag.chunked(hashlib.shake_128(b"hangup").digest(12 << 20), chunk=1 << 20, width=64)
    node.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])
    gone = trio.Event()
    sent: list[int] = []
    first = True

    async def receive() -> dict:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(msg: dict) -> None:
        if msg["type"] == "http.response.body" and msg.get("body"):
            sent.append(len(msg["body"]))
            if len(sent) == 2:
                gone.set()  # the client hangs up after two chunks
            await trio.sleep(0.01)

    scope = {"type": "http", "method": "POST", "path": "/api/v0/cat", "raw_path": b"/api/v0/cat",
             "query_string": f"arg={big}".encode(), "headers": []}
    with trio.fail_after(30):
        await RpcApp(ApiContext(node))(scope, receive, send)
    assert 2 <= len(sent) < 6  # of 12 one-MiB chunks
