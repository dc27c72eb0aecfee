"""The DHT's protocol cores never import trio, libp2p or the clock (README: pure cores behind thin adapters; tests/unit/test_architecture.py follows imports transitively)."""

import ast
from pathlib import Path

import pytest

import jiaozi_node.routing.dht as pkg

PURE = ["message", "keys", "table", "lookup", "providers", "records", "server", "addrs", "sweep"]


@pytest.mark.parametrize("name", PURE)
def test_core_imports_no_io(name):
    tree = ast.parse((Path(pkg.__file__).parent / f"{name}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    assert not names & {"trio", "libp2p", "socket", "time", "asyncio", "anyio", "random"}, names
