"""api/h_sync.py: the sync commands' RPC endpoints refuse bad arguments and need the node online
(the end-to-end runs are in tests/integration/test_rpc_cli_routing.py)."""

from __future__ import annotations

from jiaozi_node.node import Node


async def test_sync_endpoints_check_arguments_and_need_the_network(api, node: Node) -> None:
    async with api(node) as http:
        r = await http.post("/api/v0/jzfs/clone", params={"arg": "/ip4/127.0.0.1/tcp/1"})
        assert r.status_code in (400, 500) and "usage: clone MULTIADDR NAME" in r.json()["Message"]
        r = await http.post("/api/v0/jzfs/push", params=[("arg", "a"), ("arg", "ds")])
        assert "usage: push REMOTE REPO BRANCH" in r.json()["Message"]
        r = await http.post("/api/v0/jzfs/pull", params=[("arg", "a"), ("arg", "ds")])
        assert "needs the node to be online" in r.json()["Message"]
