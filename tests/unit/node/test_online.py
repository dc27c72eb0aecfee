"""node/online.py pieces that need no network; the online context itself is exercised in
tests/integration/test_two_nodes.py."""

from __future__ import annotations

import base64

import pytest

from jiaozi_node.api import swarm
from jiaozi_node.config import AGENT_VERSION
from jiaozi_node.node import Node
from jiaozi_node.node import online as ol


def test_id_info_offline(tmp_path):
    with Node.open(tmp_path / "r") as node:
        info = swarm.id_info_offline(node)
    assert info == {
        "ID": node.repo.peer_id,
        "PublicKey": base64.b64encode(node.repo.identity.public_key_protobuf).decode(),
        "Addresses": [],
        "AgentVersion": AGENT_VERSION,
        "Protocols": [],
    }


def test_service_modules_are_importable_with_start_online():
    import importlib

    for name in ol.SERVICE_MODULES:  # every one exists: online() never skips a missing module
        module = importlib.import_module(name)
        assert callable(getattr(module, "start_online", None)), name


async def test_a_missing_service_module_is_an_error(tmp_path):
    """No module is skipped silently: a service that cannot be imported stops the node."""
    with Node.open(tmp_path / "r") as node:
        for name in ("jiaozi_node.no_such_service", "jiaozi_node.no_such_pkg.sub"):
            with pytest.RaisesGroup(ModuleNotFoundError, flatten_subgroups=True):
                async with node.online(listen=["/ip4/127.0.0.1/tcp/0"], services=[name]):
                    pass
