"""Fixtures for the RPC API unit tests: a node on a temp repo, a small UnixFS tree in it, and an
in-process client (httpx's ASGI transport, no sockets)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp
from jiaozi_node.ipld import CID, Block
from jiaozi_node.node import Node
from jiaozi_node.unixfs.exporter_testing import DagBuilder

API_DATA = hashlib.shake_128(b"api").digest(200_000)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node.open(tmp_path / "repo")
    yield n
    n.close()


@pytest.fixture
def tree(node: Node) -> dict[str, CID]:
    dag = DagBuilder()
    big = dag.chunked(API_DATA, chunk=30_000, width=4)
    hello = dag.raw(b"hello\n")
    link = dag.symlink("big.bin")
    sub = dag.directory({"inner.txt": hello})
    root = dag.directory({"big.bin": big, "hello.txt": hello, "sub": sub, "ln": link})
    node.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])
    return {"root": root, "big": big, "hello": hello, "sub": sub}


@pytest.fixture
def api():  # type: ignore[no-untyped-def]
    """api(node) -> an httpx.AsyncClient talking to an RpcApp over `node` in-process."""
    def make(node: Node) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=RpcApp(ApiContext(node))),
                                 base_url="http://127.0.0.1:5001")
    return make
