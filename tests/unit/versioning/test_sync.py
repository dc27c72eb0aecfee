"""The adapter's stream reading; whole exchanges between nodes are in
tests/integration/test_versioning_sync.py."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import LimitExceeded, RemoteProtocolError
from jiaozi_node.versioning.sync import read_message
from jiaozi_node.versioning.sync_core import frame


class FakeStream:
    remote_peer = "12D3KooWfake"

    def __init__(self, data: bytes, step: int = 3):
        self.chunks = [data[i:i + step] for i in range(0, len(data), step)]

    async def read(self, max_bytes=None):
        return self.chunks.pop(0) if self.chunks else b""


async def test_read_message_across_chunks():
    assert await read_message(FakeStream(frame({"ok": True, "x": "y" * 50})), max_bytes=1000) == \
        {"ok": True, "x": "y" * 50}


async def test_read_message_eof_and_limit():
    with pytest.raises(RemoteProtocolError, match="mid-message"):
        await read_message(FakeStream(frame({"ok": True})[:-2]), max_bytes=1000)
    with pytest.raises(LimitExceeded):
        await read_message(FakeStream(frame({"x": "y" * 500})), max_bytes=100)


def test_retrieval_races_routing_only_when_no_peer_is_named():
    """Syncing with a named peer fetches from it (bitswap); the provider finder joins only for a
    commit CID found through routing (a search raced for every block cost a daemon ~0.1 s of
    CPU per 100 MiB clone)."""
    from types import SimpleNamespace

    from jiaozi_node.config import Defaults
    from jiaozi_node.store.base import MemoryBlockstore
    from jiaozi_node.versioning.sync import _retrieval

    bitswap = SimpleNamespace(name="bitswap", notify_new_blocks=lambda cids: None)
    finder = SimpleNamespace(name="routing")
    online = SimpleNamespace(services={"bitswap": bitswap, "routing": SimpleNamespace(finder=finder)},
                             node=SimpleNamespace(blocks=MemoryBlockstore(), defaults=Defaults()))
    assert _retrieval(online, routed=False).sources == [bitswap]
    assert _retrieval(online).sources == [bitswap, finder]
