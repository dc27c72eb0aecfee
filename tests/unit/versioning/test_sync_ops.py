"""versioning/sync_ops.py: remote names resolve through config `Remotes` (or are multiaddrs)."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.node import Node
from jiaozi_node.versioning.sync_ops import remote_addr


def test_remote_addr(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Node.open(tmp_path / "r") as node:
        node.repo.set_config("Remotes", {"a": {"Addr": "/ip4/127.0.0.1/tcp/4001/p2p/X"}})
        assert remote_addr(node, "a") == "/ip4/127.0.0.1/tcp/4001/p2p/X"
        assert remote_addr(node, "/ip4/127.0.0.1/tcp/9/p2p/Y") == "/ip4/127.0.0.1/tcp/9/p2p/Y"
        with pytest.raises(InvalidInput, match="no remote named 'b'"):
            remote_addr(node, "b")
