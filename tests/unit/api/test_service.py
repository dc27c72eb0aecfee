"""api/service.py: start_online starts both servers, registers the retrieval path."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import trio

from jiaozi_node.api.client import api_url
from jiaozi_node.api.service import start_online
from jiaozi_node.config import BitswapLimits, Defaults, IpldLimits
from jiaozi_node.ipld import CID
from jiaozi_node.node import Node


@dataclass
class FakeOnline:  # the attributes of node.online.OnlineNode that start_online uses
    node: Node
    nursery: trio.Nursery
    services: dict[str, Any] = field(default_factory=dict)
    api_addr: str | None = None
    gateway_addr: str | None = None


async def test_start_online(tmp_path: Path) -> None:
    node = Node.open(tmp_path / "repo")
    node.repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
    node.repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    try:
        async with trio.open_nursery() as nursery:
            on = FakeOnline(node, nursery)
            await start_online(on)  # type: ignore[arg-type]
            assert on.api_addr and on.gateway_addr
            assert {"api", "gateway", "retrieval"} <= set(on.services)
            assert node.repo.get_config("Gateway.Fetch") == []  # no gateway unless configured
            assert on.services["retrieval"].sources == []  # no bitswap, no Gateway.Fetch
            assert "pins" in vars(node)  # the pin store is open before the API answers
            async with httpx.AsyncClient() as http:
                r = await http.post(api_url(on.api_addr) + "/api/v0/version")
                assert r.status_code == 200 and r.json()["Version"]
                missing = CID.of(b"nobody")
                r = await http.get(f"{api_url(on.gateway_addr)}/ipfs/{missing}?format=raw")
                assert r.status_code == 404
            nursery.cancel_scope.cancel()
    finally:
        node.close()


async def test_gateway_fetch_config_adds_a_source(tmp_path: Path) -> None:
    defaults = replace(Defaults(), ipld=IpldLimits(max_block_bytes=12345), bitswap=BitswapLimits(fetch_timeout_s=7))
    node = Node.open(tmp_path / "repo", defaults=defaults)
    node.repo.set_config("Addresses.API", "")
    node.repo.set_config("Addresses.Gateway", "")
    node.repo.set_config("Gateway.Fetch", ["http://127.0.0.1:9"])
    try:
        async with trio.open_nursery() as nursery:
            on = FakeOnline(node, nursery)
            await start_online(on)  # type: ignore[arg-type]
            assert on.api_addr is None and on.gateway_addr is None  # both disabled
            retrieval = on.services["retrieval"]
            assert [s.name for s in retrieval.sources] == ["gateway"]
            # the node's limits, not the module defaults (Node.defaults is what a test changes)
            assert retrieval.max_block_bytes == retrieval.sources[0].max_block_bytes == 12345
            assert retrieval.timeout_s == 7
            nursery.cancel_scope.cancel()
    finally:
        node.close()
