"""api/h_blocks.py: block/* and dag/* in Kubo's shapes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from jiaozi_node.ipld import CID, RAW
from jiaozi_node.node import Node

# the same bytes as conftest.tree's big.bin
API_DATA = hashlib.shake_128(b"api").digest(200_000)


async def test_block_put_get_stat_rm(api, node: Node) -> None:
    async with api(node) as http:
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


async def test_dag_put_get_export_import(api, node: Node, tree: dict[str, CID], tmp_path: Path) -> None:
    async with api(node) as http:
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
        async with api(other) as http:
            r = await http.post("/api/v0/dag/import", params={"stats": "true"}, files={"file": ("x.car", car)})
            lines = [json.loads(line) for line in r.text.splitlines()]
            assert lines[0] == {"Root": {"Cid": {"/": str(tree["root"])}, "PinErrorMsg": ""}}
            assert lines[1]["Stats"]["BlockCount"] == st["UniqueBlocks"]
            r = await http.post("/api/v0/cat", params={"arg": f"{tree['root']}/big.bin"})
            assert r.content == API_DATA
            # a CAR with one flipped byte imports nothing
            bad = bytearray(car)
            bad[-3] ^= 1
            third = Node.open(tmp_path / "third")
            try:
                async with api(third) as http3:
                    r = await http3.post("/api/v0/dag/import", files={"file": ("x.car", bytes(bad))})
                    assert r.status_code == 500 and "hash" in r.json()["Message"]
                    assert list(third.blocks.cids()) == []
            finally:
                third.close()
    finally:
        other.close()


async def test_multipart_header_bound_is_the_nodes(api, tmp_path: Path) -> None:
    from dataclasses import replace

    from jiaozi_node.config import Defaults, HttpLimits

    with Node.open(tmp_path / "small", defaults=replace(Defaults(), http=HttpLimits(max_part_header_bytes=20))) as n:
        async with api(n) as http:
            r = await http.post("/api/v0/block/put", files={"data": ("d", b"some bytes")})
    assert r.status_code != 200 and "over 20 bytes" in r.text
