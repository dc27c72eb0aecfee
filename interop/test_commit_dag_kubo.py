"""A jzfs dataset version is an ordinary IPFS DAG: real Kubo 0.22 fetches a commit's whole DAG
(the signed dag-cbor commit, its parents, every dataset tree and file block) from a jzfs node over
Bitswap by the commit's CID alone, and then serves it back to a fresh jzfs node, which verifies
the signatures and checks the data out byte for byte. Loopback only (see interop/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from jiaozi_node.ipld.cid import CID
from jiaozi_node.node import Node
from jiaozi_node.node.retrieval import Retrieval

pytestmark = pytest.mark.trio
SERVICES = ("jiaozi_node.bitswap.service",)
MiB = 1024 * 1024


def _online(node: Node):
    return node.online(listen=["/ip4/127.0.0.1/tcp/0"], services=SERVICES, peering=False, bootstrap=False)


async def test_kubo_fetches_a_commit_dag(kubo, tmp_path: Path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    big = os.urandom(3 * MiB + 5)
    (data / "big.bin").write_bytes(big)
    (data / "sub" / "notes.txt").write_bytes(b"first version\n")
    a = Node.open(tmp_path / "a")
    vs = a.versioning
    vs.create_repo("ds", now=1)
    first = vs.commit("ds", data, branch="main", message="one", now=10)
    (data / "sub" / "notes.txt").write_bytes(b"second version\n")
    head = vs.commit("ds", data, branch="main", message="two", now=20)
    assert str(head.cid).startswith("bafyrei")

    async with _online(a) as oa:
        await kubo.aio.connect(oa.host.addrs()[0])
        # Kubo walks dag-cbor (commit -> parents, root) and dag-pb/raw (trees, files)
        await kubo.aio.pin_cid(str(head.cid), timeout=120)
        pins = str(await kubo.aio.list_pins())
        assert str(head.cid) in pins
        # the OLD version's file came through the parent link: Kubo reads it as UnixFS
        old_notes = vs.load_commit(first.cid).root
        from jiaozi_node.versioning.tree import list_dir

        sub = list_dir(a.blocks.get, old_notes)["sub"].cid
        notes_cid = list_dir(a.blocks.get, sub)["notes.txt"].cid
        out = tmp_path / "kubo-notes.txt"
        assert await kubo.aio.download(str(notes_cid), out, timeout=60) == len(b"first version\n")
        assert out.read_bytes() == b"first version\n"

    # Kubo alone now serves the version to a fresh jzfs node, which verifies it end to end.
    b = Node.open(tmp_path / "b")
    async with _online(b) as ob:
        await ob.host.connect(kubo.multiaddr)
        bs = ob.services["bitswap"]
        r = Retrieval(b.blocks, [bs], on_stored=bs.notify_new_blocks, timeout_s=60)
        with trio.fail_after(120):
            await r.fetch_dag(CID.decode(str(head.cid)))
    b.versioning.trust_add(a.repo.peer_id)
    report = b.versioning.verify(str(head.cid))
    assert report.commits == 2 and report.signers == {a.repo.peer_id: 2}
    b.versioning.create_repo("copy", now=30)
    b.versioning.refs.update_ref("copy", "heads/main", head.cid, expected=None)
    b.versioning.checkout("copy@main", tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == big
    assert (tmp_path / "out" / "sub" / "notes.txt").read_bytes() == b"second version\n"
    a.close()
    b.close()
