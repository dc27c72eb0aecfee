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
