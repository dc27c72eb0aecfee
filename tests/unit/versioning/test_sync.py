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
