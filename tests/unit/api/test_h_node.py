"""api/h_node.py: version, id, pins, repo gc."""

from __future__ import annotations

import json

from jiaozi_node.ipld import CID
from jiaozi_node.node import Node


async def test_version_and_id(api, node: Node) -> None:
    async with api(node) as http:
        v = (await http.post("/api/v0/version")).json()
        assert v["Version"] and "System" in v
        i = (await http.post("/api/v0/id")).json()
        r = await http.post("/api/v0/id", params={"arg": "notapeer"})  # Kubo: "invalid peer id"
        assert r.status_code == 400 and r.json()["Message"].startswith("invalid peer ID 'notapeer'")
        assert i["ID"] == node.repo.peer_id and i["PublicKey"]


async def test_pins(api, node: Node, tree: dict[str, CID]) -> None:
    root = str(tree["root"])
    async with api(node) as http:
        r = await http.post("/api/v0/pin/add", params={"arg": root})
        assert r.json() == {"Pins": [root]}
        keys = (await http.post("/api/v0/pin/ls", params={"type": "recursive"})).json()["Keys"]
        assert keys == {root: {"Type": "recursive"}}
        r = await http.post("/api/v0/pin/ls", params={"arg": str(tree["hello"])})
        assert list(r.json()["Keys"].values()) == [{"Type": "indirect"}]
        r = await http.post("/api/v0/block/rm", params={"arg": root})
        assert "pinned" in json.loads(r.text)["Error"]
        assert (await http.post("/api/v0/pin/rm", params={"arg": root})).json() == {"Pins": [root]}
        r = await http.post("/api/v0/repo/gc")
        removed = [json.loads(line)["Key"]["/"] for line in r.text.splitlines()]
        assert len(removed) >= 5
        r = await http.post("/api/v0/cat", params={"arg": str(tree["big"])})
        assert r.status_code == 500


class _SlowSource:
    """A block source (as bitswap is) holding `blocks`, answering each after a short wait; it
    records the most requests it ever had in flight at once."""

    name = "slow"

    def __init__(self, blocks: dict[bytes, bytes]) -> None:
        self.blocks = blocks
        self.in_flight = 0
        self.max_in_flight = 0

    async def fetch(self, cid: CID) -> bytes:
        import trio

        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await trio.sleep(0.002)
            return self.blocks[cid.multihash]
        finally:
            self.in_flight -= 1


def _online_api(node: Node, source: _SlowSource):  # type: ignore[no-untyped-def]
    import httpx

    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.api.server import RpcApp
    from jiaozi_node.node.retrieval import Retrieval

    r = Retrieval(node.blocks, [source])
    ctx = ApiContext(node, fetch=r.get, retrieval=r)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=RpcApp(ctx)), base_url="http://127.0.0.1:5001")


def _remote_tree(tmp_path) -> tuple[CID, CID, _SlowSource, bytes]:  # type: ignore[no-untyped-def]
    """A tree held only by a (slow) remote source: a 40-leaf file and a small directory."""
    import hashlib

    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    data = hashlib.shake_128(b"remote").digest(40 * 5000)
    dag = DagBuilder()
    big = dag.chunked(data, chunk=5000, width=8)
    root = dag.directory({"big.bin": big, "hello.txt": dag.raw(b"hi\n")})
    return root, big, _SlowSource({c.multihash: dag.store.get(c) for c in dag.store.cids()}), data


async def test_pin_add_fetches_the_dag_with_many_blocks_in_flight(node: Node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root, _, source, _ = _remote_tree(tmp_path)
    async with _online_api(node, source) as http:
        r = await http.post("/api/v0/pin/add", params={"arg": str(root)})
        assert r.json() == {"Pins": [str(root)]}, r.text
    assert source.max_in_flight > 4  # one block at a time would be 1
    assert node.pins.pin_type(root) == "recursive"
    assert len(list(node.blocks.cids())) == len(source.blocks)


async def test_get_and_cat_fetch_ahead_of_the_reader(node: Node, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io
    import tarfile

    root, big, source, data = _remote_tree(tmp_path)
    async with _online_api(node, source) as http:
        r = await http.post("/api/v0/cat", params={"arg": str(big)})
        assert r.content == data
    assert source.max_in_flight > 4
    source.max_in_flight = 0
    with Node.open(tmp_path / "second") as other:  # nothing of the tree local yet
        async with _online_api(other, source) as http:
            r = await http.post("/api/v0/get", params={"arg": str(root)})
    assert source.max_in_flight > 4
    tar = tarfile.open(fileobj=io.BytesIO(r.content))
    assert tar.extractfile(f"{root}/big.bin").read() == data  # type: ignore[union-attr]
    source.max_in_flight = 0
    with Node.open(tmp_path / "third") as other:  # the framed tree stream the jzfs CLI reads
        async with _online_api(other, source) as http:
            r = await http.post("/api/v0/get", params={"arg": str(root), "format": "jzfs-tree"})
            assert r.status_code == 200, r.text
    assert source.max_in_flight > 4
