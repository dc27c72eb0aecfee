"""The gateway ASGI app, driven in-process through httpx's ASGI transport (no sockets)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from jiaozi_node.errors import NotFound
from jiaozi_node.gateway.server import GatewayApp
from jiaozi_node.ipld import CID, DAG_CBOR, Block, dagcbor, verify
from jiaozi_node.ipld.varint import decode as varint_decode
from jiaozi_node.unixfs.exporter_testing import DagBuilder

DATA = hashlib.shake_128(b"gw").digest(300_000)


def parse_car(body: bytes) -> tuple[list[CID], list[tuple[CID, bytes]]]:
    n, pos = varint_decode(body, 0)
    header = dagcbor.decode(body[pos:pos + n])
    pos += n
    blocks = []
    while pos < len(body):
        n, pos = varint_decode(body, pos)
        cid, used = CID.read(body[pos:pos + n])
        blocks.append((cid, body[pos + used:pos + n]))
        pos += n
    return header["roots"], blocks


@pytest.fixture
def dag() -> DagBuilder:
    return DagBuilder()


def build(dag: DagBuilder) -> dict[str, CID]:
    big = dag.chunked(DATA, chunk=50_000, width=3)
    hello = dag.raw(b"hello world\n")
    page = dag.raw(b"<!DOCTYPE html><html><body>hi</body></html>")
    site = dag.directory({"index.html": page, "a.txt": hello})
    sub = dag.directory({"big.bin": big, "hello.txt": hello})
    shard = dag.hamt({f"f{i}": hello for i in range(40)}, fanout=4)
    root = dag.directory({"sub": sub, "site": site, "shard": shard, "odd <name>.txt": hello})
    return {"big": big, "hello": hello, "site": site, "sub": sub, "root": root, "shard": shard}


def client(app: GatewayApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_raw_block(dag: DagBuilder) -> None:
    c = build(dag)
    async with client(GatewayApp(dag.store)) as http:
        r = await http.get(f"/ipfs/{c['root']}?format=raw")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/vnd.ipld.raw"
        assert r.headers["etag"] == f'"{c["root"]}.raw"'
        assert r.headers["cache-control"] == "public, max-age=29030400, immutable"
        assert r.headers["x-ipfs-path"] == f"/ipfs/{c['root']}"
        assert r.headers["x-ipfs-roots"] == str(c["root"])
        verify(c["root"], r.content)
        r2 = await http.get(f"/ipfs/{c['root']}", headers={"Accept": "application/vnd.ipld.raw"})
        assert r2.content == r.content
        r3 = await http.get(f"/ipfs/{c['root']}?format=raw", headers={"If-None-Match": r.headers["etag"]})
        assert r3.status_code == 304 and r3.content == b""
        h = await http.head(f"/ipfs/{c['root']}?format=raw")
        assert h.status_code == 200 and h.content == b"" and int(h.headers["content-length"]) == len(r.content)


async def test_car_all_is_complete_dfs_and_verifies(dag: DagBuilder) -> None:
    c = build(dag)
    async with client(GatewayApp(dag.store)) as http:
        r = await http.get(f"/ipfs/{c['root']}", headers={"Accept": "application/vnd.ipld.car"})
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
        roots, blocks = parse_car(r.content)
        assert roots == [c["root"]]
        for cid, data in blocks:
            verify(cid, data)
        cids = [b[0] for b in blocks]
        assert len(cids) == len(set(cids))  # dups=n
        assert cids[0] == c["root"]
        assert set(cids) == {b for b in dag.store.cids()}  # everything reachable, nothing else


async def test_car_path_and_scopes(dag: DagBuilder) -> None:
    c = build(dag)
    async with client(GatewayApp(dag.store)) as http:
        url = f"/ipfs/{c['root']}/sub/big.bin?format=car"
        _, blocks = parse_car((await http.get(url + "&dag-scope=block")).content)
        assert [b[0] for b in blocks] == [c["root"], c["sub"], c["big"]]
        _, blocks = parse_car((await http.get(url + "&dag-scope=entity")).content)
        assert [b[0] for b in blocks][:3] == [c["root"], c["sub"], c["big"]]
        store = {cid: data for cid, data in blocks}
        from jiaozi_node.unixfs import exporter

        class G:
            def get(self, cid: CID) -> bytes:
                try:
                    return store[cid]
                except KeyError:
                    raise NotFound(str(cid)) from None

        assert b"".join(exporter.read_file(G(), c["big"])) == DATA
        # entity of a directory: just the directory node after the path
        _, blocks = parse_car((await http.get(f"/ipfs/{c['root']}/sub?format=car&dag-scope=entity")).content)
        assert [b[0] for b in blocks] == [c["root"], c["sub"]]
        # a HAMT path includes the shard nodes that prove it
        r = await http.get(f"/ipfs/{c['root']}/shard/f7?format=car&dag-scope=block")
        cids = [b[0] for b in parse_car(r.content)[1]]
        assert cids[:2] == [c["root"], c["shard"]] and cids[-1] == c["hello"]
        assert r.headers["etag"] != (await http.get(url + "&dag-scope=all")).headers["etag"]


async def test_deserialized_file_range_and_types(dag: DagBuilder) -> None:
    c = build(dag)
    async with client(GatewayApp(dag.store)) as http:
        r = await http.get(f"/ipfs/{c['root']}/sub/big.bin")
        assert r.status_code == 200 and r.content == DATA
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["x-ipfs-roots"] == f"{c['root']},{c['sub']},{c['big']}"
        assert r.headers["etag"] == f'"{c["big"]}"'
        r = await http.get(f"/ipfs/{c['big']}", headers={"Range": "bytes=49990-100009"})
        assert r.status_code == 206 and r.content == DATA[49990:100010]
        assert r.headers["content-range"] == f"bytes 49990-100009/{len(DATA)}"
        r = await http.get(f"/ipfs/{c['big']}", headers={"Range": "bytes=-10"})
        assert r.content == DATA[-10:]
        r = await http.get(f"/ipfs/{c['big']}", headers={"Range": f"bytes={len(DATA)}-"})
        assert r.status_code == 416
        r = await http.get(f"/ipfs/{c['root']}/sub/hello.txt")
        assert r.content == b"hello world\n" and r.headers["content-type"] == "text/plain; charset=utf-8"
        h = await http.head(f"/ipfs/{c['big']}")
        assert h.status_code == 200 and h.content == b"" and h.headers["content-length"] == str(len(DATA))


async def test_directories(dag: DagBuilder) -> None:
    c = build(dag)
    async with client(GatewayApp(dag.store)) as http:
        r = await http.get(f"/ipfs/{c['root']}/sub")
        assert r.status_code == 301 and r.headers["location"] == f"/ipfs/{c['root']}/sub/"
        r = await http.get(f"/ipfs/{c['root']}/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "odd &lt;name&gt;.txt" in r.text and "<name>" not in r.text
        r = await http.get(f"/ipfs/{c['root']}/site/")
        assert r.content.startswith(b"<!DOCTYPE html>") and b"hi" in r.content
        r = await http.get(f"/ipfs/{c['root']}/shard/")
        assert r.status_code == 200 and "f39" in r.text
        r = await http.get(f"/ipfs/{c['root']}/shard/f12")
        assert r.content == b"hello world\n"


@pytest.mark.parametrize("path,status", [
    ("/ipfs/not-a-cid", 400),
    ("/ipfs/{root}/../etc/passwd", 400),
    ("/ipfs/{root}/%2e%2e/x", 400),
    ("/ipfs/{root}/nope", 404),
    ("/ipfs/{root}/sub/hello.txt/deeper", 404),
    ("/ipfs/{missing}", 404),
    ("/ipns/example.com", 501),
    ("/", 404),
])
async def test_error_statuses(dag: DagBuilder, path: str, status: int) -> None:
    c = build(dag)
    missing = CID.of(b"nobody has this")
    async with client(GatewayApp(dag.store)) as http:
        r = await http.get(path.format(root=c["root"], missing=missing))
        assert r.status_code == status, r.text
        r = await http.get("/ipfs/" + str(c["root"]), headers={"Accept": "application/vnd.ipld.dag-json"})
        assert r.status_code == 406
        r = await http.post("/ipfs/" + str(c["root"]))
        assert r.status_code == 405
        r = await http.get(f"/ipfs/{c['root']}/sub?format=raw&dag-scope=all")
        assert r.status_code == 400


async def test_dag_cbor_paths(dag: DagBuilder) -> None:
    c = build(dag)
    obj = Block.create(dagcbor.encode({"name": "x", "files": [c["hello"], c["sub"]]}), codec=DAG_CBOR)
    dag.store.put(obj.cid, obj.data)
    async with client(GatewayApp(dag.store)) as http:
        r = await http.get(f"/ipfs/{obj.cid}/files/1/hello.txt")
        assert r.content == b"hello world\n"
        r = await http.get(f"/ipfs/{obj.cid}")
        assert r.headers["content-type"] == "application/vnd.ipld.dag-cbor" and r.content == obj.data
        r = await http.get(f"/ipfs/{obj.cid}/files/7")
        assert r.status_code == 404


async def test_fetch_fallback_and_timeout(dag: DagBuilder) -> None:
    """Blocks missing locally come from `fetch` (the retrieval path); a fetch that never answers
    ends in 504 within the configured timeout."""
    import dataclasses

    import trio

    from jiaozi_node.config import HTTP_LIMITS
    from jiaozi_node.store.base import MemoryBlockstore

    c = build(dag)
    asked: list[CID] = []

    async def fetch(cid: CID) -> bytes:
        asked.append(cid)
        return dag.store.get(cid)

    async with client(GatewayApp(MemoryBlockstore(), fetch=fetch)) as http:
        r = await http.get(f"/ipfs/{c['root']}/sub/big.bin")
        assert r.content == DATA and c["big"] in asked

    async def never(cid: CID) -> bytes:
        await trio.sleep_forever()
        raise AssertionError

    limits = dataclasses.replace(HTTP_LIMITS, gateway_timeout_s=0.2)
    async with client(GatewayApp(MemoryBlockstore(), fetch=never, limits=limits)) as http:
        r = await http.get(f"/ipfs/{c['root']}")
        assert r.status_code == 504


async def test_car_entity_bytes_sends_only_needed_leaves(dag: DagBuilder) -> None:
    c = build(dag)
    async with client(GatewayApp(dag.store)) as http:
        full = parse_car((await http.get(f"/ipfs/{c['big']}?format=car&dag-scope=entity")).content)[1]
        part = parse_car((await http.get(f"/ipfs/{c['big']}?format=car&entity-bytes=0:10")).content)[1]
        assert part[0][0] == c["big"] and len(part) < len(full)
        assert sum(len(d) for _, d in part) < 3 * 50_000 + 1000


async def test_only_if_cached(dag: DagBuilder) -> None:
    from jiaozi_node.store.base import MemoryBlockstore

    c = build(dag)
    fetched: list[CID] = []

    async def fetch(cid: CID) -> bytes:
        fetched.append(cid)
        return dag.store.get(cid)

    async with client(GatewayApp(MemoryBlockstore(), fetch=fetch)) as http:
        r = await http.get(f"/ipfs/{c['hello']}", headers={"Cache-Control": "only-if-cached"})
        assert r.status_code == 412 and fetched == []
    async with client(GatewayApp(dag.store)) as http:
        r = await http.get(f"/ipfs/{c['hello']}", headers={"Cache-Control": "only-if-cached"})
        assert r.status_code == 200


async def test_whole_file_and_car_are_fetched_ahead_with_many_blocks_in_flight(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A file or a full CAR of a DAG the node does not have: with `prefetch` (the daemon passes
    api/common.prefetching over its retrieval path) the DAG is fetched ahead, many blocks in
    flight, instead of one block per getter call."""
    import hashlib

    import httpx
    import trio

    from jiaozi_node.api.common import prefetching
    from jiaozi_node.gateway.server import GatewayApp
    from jiaozi_node.node import Node
    from jiaozi_node.node.retrieval import Retrieval
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    data = hashlib.shake_128(b"gw-ahead").digest(40 * 5000)
    dag = DagBuilder()
    big = dag.chunked(data, chunk=5000, width=8)
    blocks = {c.multihash: dag.store.get(c) for c in dag.store.cids()}
    state = {"now": 0, "max": 0}

    class Slow:
        name = "slow"

        async def fetch(self, cid):  # type: ignore[no-untyped-def]
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            try:
                await trio.sleep(0.002)
                return blocks[cid.multihash]
            finally:
                state["now"] -= 1

    for i, url in enumerate((f"/ipfs/{big}", f"/ipfs/{big}?format=car")):
        state["max"] = 0
        with Node.open(tmp_path / f"n{i}") as node:
            r = Retrieval(node.blocks, [Slow()])
            app = GatewayApp(node.blocks, fetch=r.get, prefetch=lambda cid, r=r: prefetching(r, cid))
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
                resp = await http.get(url)
        assert resp.status_code == 200
        if i == 0:
            assert resp.content == data
        assert state["max"] > 4, url
