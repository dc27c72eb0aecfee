"""The RPC API app in-process (httpx ASGI transport): Kubo shapes, errors, security checks."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp
from jiaozi_node.ipld import CID, RAW, Block
from jiaozi_node.node import Node
from jiaozi_node.unixfs.exporter_testing import DagBuilder

DATA = hashlib.shake_128(b"api").digest(200_000)


@pytest.fixture
def node(tmp_path: Path) -> Node:
    n = Node.open(tmp_path / "repo")
    yield n
    n.close()


@pytest.fixture
def tree(node: Node) -> dict[str, CID]:
    dag = DagBuilder()
    big = dag.chunked(DATA, chunk=30_000, width=4)
    hello = dag.raw(b"hello\n")
    link = dag.symlink("big.bin")
    sub = dag.directory({"inner.txt": hello})
    root = dag.directory({"big.bin": big, "hello.txt": hello, "sub": sub, "ln": link})
    node.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])
    return {"root": root, "big": big, "hello": hello, "sub": sub}


def client(node: Node) -> httpx.AsyncClient:
    app = RpcApp(ApiContext(node))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:5001")


async def test_version_and_id(node: Node) -> None:
    async with client(node) as http:
        v = (await http.post("/api/v0/version")).json()
        assert v["Version"] and "System" in v
        i = (await http.post("/api/v0/id")).json()
        assert i["ID"] == node.repo.peer_id and i["PublicKey"]


async def test_security_rules(node: Node) -> None:
    async with client(node) as http:
        assert (await http.get("/api/v0/version")).status_code == 405
        r = await http.post("/api/v0/version", headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = await http.post("/api/v0/version", headers={"Origin": "http://127.0.0.1:5001"})
        assert r.status_code == 200  # same origin
        assert (await http.post("/api/v0/nope")).status_code == 404
        assert (await http.post("/webui")).status_code == 404


async def test_cat_ls_get(node: Node, tree: dict[str, CID]) -> None:
    root = tree["root"]
    async with client(node) as http:
        r = await http.post("/api/v0/cat", params={"arg": f"/ipfs/{root}/big.bin"})
        assert r.status_code == 200 and r.content == DATA
        assert r.headers["x-stream-output"] == "1"
        r = await http.post("/api/v0/cat", params={"arg": str(tree["big"]), "offset": 100, "length": 50})
        assert r.content == DATA[100:150]
        r = await http.post("/api/v0/ls", params={"arg": str(root)})
        obj = r.json()["Objects"][0]
        assert obj["Hash"] == str(root)
        links = {lk["Name"]: lk for lk in obj["Links"]}
        assert links["big.bin"] == {"Name": "big.bin", "Hash": str(tree["big"]), "Size": len(DATA),
                                    "Type": 2, "Target": ""}
        assert links["sub"]["Type"] == 1 and links["ln"]["Type"] == 4 and links["ln"]["Target"] == "big.bin"
        r = await http.post("/api/v0/get", params={"arg": str(root)})
        with tarfile.open(fileobj=io.BytesIO(r.content)) as tf:
            names = tf.getnames()
            assert f"{root}/sub/inner.txt" in names
            assert tf.extractfile(f"{root}/big.bin").read() == DATA
            assert tf.getmember(f"{root}/ln").linkname == "big.bin"


async def test_errors_are_kubo_json(node: Node, tree: dict[str, CID]) -> None:
    async with client(node) as http:
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


async def test_block_put_get_stat_rm(node: Node) -> None:
    async with client(node) as http:
        r = await http.post("/api/v0/block/put", files={"data": ("d", b"some bytes")})
        key = r.json()["Key"]
        assert key == str(CID.of(b"some bytes", codec=RAW)) and r.json()["Size"] == 10
        r = await http.post("/api/v0/block/put", params={"cid-codec": "dag-cbor"},
                            files={"data": ("d", b"\xa0")})
        assert r.json()["Key"].startswith("bafyrei")
        assert (await http.post("/api/v0/block/get", params={"arg": key})).content == b"some bytes"
        assert (await http.post("/api/v0/block/stat", params={"arg": key})).json() == {"Key": key, "Size": 10}
        r = await http.post("/api/v0/block/rm", params={"arg": key})
        assert json.loads(r.text.splitlines()[0]) == {"Hash": key, "Error": ""}
        r = await http.post("/api/v0/block/stat", params={"arg": key})
        assert r.status_code == 500


async def test_pins(node: Node, tree: dict[str, CID]) -> None:
    root = str(tree["root"])
    async with client(node) as http:
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


async def test_oversized_body_refused(node: Node) -> None:
    import dataclasses

    from jiaozi_node.config import HTTP_LIMITS

    app = RpcApp(ApiContext(node, limits=dataclasses.replace(HTTP_LIMITS, max_body_bytes=1000)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as http:
        r = await http.post("/api/v0/block/put", files={"data": ("d", b"x" * 5000)})
        assert r.status_code == 400 and "limit" in r.json()["Message"]
        r = await http.post("/api/v0/block/put", content=b"garbage",
                            headers={"Content-Type": "multipart/form-data; boundary=zzz"})
        assert r.status_code == 400


async def test_dag_put_get_export_import(node: Node, tree: dict[str, CID], tmp_path: Path) -> None:
    async with client(node) as http:
        r = await http.post("/api/v0/dag/put", files={"file": ("f", b'{"a": [1, {"/": "%s"}]}' % str(tree["hello"]).encode())})
        cid = r.json()["Cid"]["/"]
        assert cid.startswith("bafyrei")
        r = await http.post("/api/v0/dag/get", params={"arg": cid})
        assert json.loads(r.content) == {"a": [1, {"/": str(tree["hello"])}]}
        r = await http.post("/api/v0/dag/get", params={"arg": f"{cid}/a/0"})
        assert r.content.strip() == b"1"
        car = (await http.post("/api/v0/dag/export", params={"arg": str(tree["root"])})).content
        st = (await http.post("/api/v0/dag/stat", params={"arg": str(tree["root"])})).json()
        assert st["UniqueBlocks"] > 5

    other = Node.open(tmp_path / "other")
    try:
        async with client(other) as http:
            r = await http.post("/api/v0/dag/import", params={"stats": "true"}, files={"file": ("x.car", car)})
            lines = [json.loads(line) for line in r.text.splitlines()]
            assert lines[0] == {"Root": {"Cid": {"/": str(tree["root"])}, "PinErrorMsg": ""}}
            assert lines[1]["Stats"]["BlockCount"] == st["UniqueBlocks"]
            r = await http.post("/api/v0/cat", params={"arg": f"{tree['root']}/big.bin"})
            assert r.content == DATA
            # a CAR with one flipped byte imports nothing
            bad = bytearray(car)
            bad[-3] ^= 1
            third = Node.open(tmp_path / "third")
            try:
                async with client(third) as http3:
                    r = await http3.post("/api/v0/dag/import", files={"file": ("x.car", bytes(bad))})
                    assert r.status_code == 500 and "hash" in r.json()["Message"]
                    assert list(third.blocks.cids()) == []
            finally:
                third.close()
    finally:
        other.close()
