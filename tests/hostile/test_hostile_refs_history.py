"""A hostile refs peer (`/jzfs/refs/1.0.0`) answering the `history` operation (versioning/sync.py):
an answer stuffed with objects nobody asked for, untrusted commits in place of the asked ones,
an answer over VersioningLimits.max_sync_message_bytes, and a peer that never answers. The clone
either completes with exactly the asked, verified history (nothing else stored) or fails with one
clear JzfsError within VersioningLimits.sync_timeout_s and leaves no repo. Malformed answers:
test_hostile_history.py::test_hostile_history_answers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import trio

from jiaozi_node.errors import JzfsError, Timeout
from jiaozi_node.identity import Identity
from jiaozi_node.ipld import dagcbor
from jiaozi_node.node import Node
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import Author, Commit

SERVICES = ("jiaozi_node.bitswap.service", "jiaozi_node.versioning.sync")
LOOP = ["/ip4/127.0.0.1/tcp/0"]


async def _pair(tmp_path: Path, run) -> None:
    """Node a serves `ds` (two commits); `run(a, b, refs, client, addr, heads)` plays the hostile
    history answer through a's refs service and clones into b."""
    from jiaozi_node.versioning.sync import SyncClient

    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    try:
        data = tmp_path / "d"
        data.mkdir()
        (data / "f").write_bytes(b"1")
        a.versioning.create_repo("ds", now=1)
        first = a.versioning.commit("ds", data, branch="main", message="one", now=10).cid
        (data / "f").write_bytes(b"2")
        head = a.versioning.commit("ds", data, branch="main", message="two", now=11).cid
        async with a.online(listen=LOOP, services=SERVICES, peering=False, bootstrap=False) as oa, \
                b.online(listen=LOOP, services=SERVICES, peering=False, bootstrap=False) as ob:
            client = SyncClient(ob)
            client.limits = replace(client.limits, sync_timeout_s=1.0)
            await run(a, b, oa.services["refs"], client, oa.host.addrs()[0], (first, head))
    finally:
        a.close()
        b.close()


def _nothing_left(b: Node) -> None:
    assert b.versioning.list_repos() == [] and "origin" not in b.settings.remotes


async def test_stuffed_and_substituted_answers_store_nothing_unasked(tmp_path: Path) -> None:
    """Objects the walk did not ask for — untrusted commits claiming the same parents, the asked
    commits re-encoded (other bytes, other hash), plain junk CBOR — are never stored; the clone
    takes the real history (over Bitswap) and completes."""
    async def run(a, b, refs, client, addr, heads) -> None:
        first, head = heads
        mallory = Identity.generate()
        real = a.versioning.load_commit(head)
        evil = signing.sign(Commit(real.root, (first,), Author("m", mallory.peer_id, None), "evil", 12),
                            mallory)
        self_parent = signing.sign(Commit(real.root, (evil.block().cid,), Author("m", mallory.peer_id, None),
                                          "loop", 13), mallory)
        recoded = dagcbor.encode({"not": "a commit", "parents": [first, head]})
        junk = [evil.block().data, self_parent.block().data, recoded, b"\xa0", b"\x00" * 100]
        stray = [evil.block().cid, self_parent.block().cid]

        async def stuffed(req):
            return {"ok": True, "objects": junk}

        refs._history = stuffed
        with trio.fail_after(20):
            await client.clone(addr, "ds", now=20)
        assert b.versioning.branch_head("ds", "main") == head
        for cid in stray:
            assert not b.blocks.has(cid), cid

    await _pair(tmp_path, run)


async def test_answer_over_the_message_limit_fails_clearly(tmp_path: Path) -> None:
    async def run(a, b, refs, client, addr, heads) -> None:
        big = client.limits.max_sync_message_bytes

        async def huge(req):
            return {"ok": True, "objects": [b"\x00" * (big // 4)] * 5}

        refs._history = huge
        with trio.fail_after(20), pytest.raises(JzfsError, match="over"):
            await client.clone(addr, "ds", now=20)
        _nothing_left(b)

    await _pair(tmp_path, run)


async def test_peer_that_never_answers_history_times_out(tmp_path: Path) -> None:
    """A peer holding the history request open: a Timeout (a clear error, not trio's TooSlowError
    escaping as a traceback) after sync_timeout_s, and no repo."""
    async def run(a, b, refs, client, addr, heads) -> None:
        async def mute(req):
            await trio.sleep_forever()

        refs._history = mute
        with trio.fail_after(client.limits.sync_timeout_s * 10), pytest.raises(Timeout):
            await client.clone(addr, "ds", now=20)
        _nothing_left(b)

    await _pair(tmp_path, run)
