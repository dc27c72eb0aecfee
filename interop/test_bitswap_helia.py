"""jzfs Bitswap against real Helia 7 (@helia/bitswap 4), loopback only.

Helia -> jzfs: files in Helia's default profile (CIDv1, raw leaves, 1 MiB chunks) and Kubo's
(CIDv0), and a directory tree; jzfs -> Helia: a file (both profiles) and a directory tree added
with `jzfs add -r` semantics. Bytes compared by SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import trio
from jzfs_interop.cli import imported_libp2p, run_jzfs
from jzfs_interop.helia import KUBO_V0

from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.node import Node
from jiaozi_node.node.files import add_path
from jiaozi_node.node.files_read import FilesReader
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.importer import import_bytes

pytestmark = pytest.mark.trio
MiB = 1024 * 1024


class Jzfs:
    def __init__(self, store=None) -> None:
        self.host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
        self.store = store if store is not None else MemoryBlockstore()
        self.bs = BitswapService(self.host, self.store)
        self.retrieval = Retrieval(self.store, [self.bs], on_stored=self.bs.notify_new_blocks,
                                   timeout_s=30)

    async def start(self, nursery: trio.Nursery) -> Jzfs:
        await nursery.start(self.host.run)
        await nursery.start(self.bs.run)
        return self


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = _sha(p.read_bytes()) if p.is_file() else "dir"
    return out


def _make_tree(base: Path) -> Path:
    d = base / "tree"
    (d / "sub" / "deeper").mkdir(parents=True)
    (d / "empty").mkdir()
    (d / "a.txt").write_bytes(b"hello helia\n")
    (d / "sub" / "big.bin").write_bytes(os.urandom(3 * MiB + 1))
    (d / "sub" / "deeper" / "small.bin").write_bytes(os.urandom(900))
    return d


@pytest.mark.parametrize("options", [None, KUBO_V0], ids=["helia-default", "kubo-v0"])
async def test_helia_to_jzfs_file(helia, tmp_path, nursery, options):
    data = os.urandom(5 * MiB + 99)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    cid = CID.decode(await helia.aio.add_file(p, options))
    j = await Jzfs().start(nursery)
    await j.host.connect(helia.multiaddr)
    with trio.fail_after(60):
        await j.retrieval.fetch_dag(cid)
    assert _sha(b"".join(read_file(j.store, cid))) == _sha(data)
    assert j.bs.client.stats["unwanted"] == 0


async def test_cli_get_from_helia(helia, tmp_path):
    """`jzfs get CID -o DEST --peer <Helia>` (subprocess, no daemon) over the dial-only LiteHost:
    byte-identical output, py-libp2p never imported."""
    data = os.urandom(3 * MiB + 5)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    cid = await helia.aio.add_file(p, None)
    out = tmp_path / "got.bin"
    env = {**os.environ, "JZFS_PATH": str(tmp_path / "repo")}
    with trio.fail_after(120):
        code, _, err = await run_jzfs(["--offline", "get", cid, "-o", str(out), "--peer",
                                       helia.multiaddr], env)
    assert code == 0, err.decode()[-2000:]
    assert out.read_bytes() == data
    assert imported_libp2p(err) == []


async def test_helia_to_jzfs_directory_tree(helia, tmp_path, nursery):
    src = _make_tree(tmp_path)
    cid = CID.decode((await helia.aio.add_dir(src))["cid"])
    j = await Jzfs().start(nursery)
    await j.host.connect(helia.multiaddr)
    with trio.fail_after(60):
        await j.retrieval.fetch_dag(cid)
    out = FilesReader(j.store).get(cid, tmp_path / "out")
    assert _tree(out) == _tree(src)


@pytest.mark.parametrize("profile", [UNIXFS_V1_2025, UNIXFS_V0_2015], ids=["v1", "v0"])
async def test_jzfs_to_helia_file(helia, tmp_path, nursery, profile):
    data = os.urandom(4 * MiB + 3)
    root, blocks, _ = import_bytes(data, profile)
    j = await Jzfs().start(nursery)
    j.store.put_many(blocks)
    await helia.aio.dial(j.host.addrs()[0])
    dest = tmp_path / "out.bin"
    with trio.fail_after(90):
        await helia.aio.cat(str(root), dest, timeout=60)
    assert _sha(dest.read_bytes()) == _sha(data)
    assert j.bs.stats["bad_messages"] == 0


async def test_jzfs_to_helia_directory_tree(helia, tmp_path, nursery):
    src = _make_tree(tmp_path)
    node = Node.open(tmp_path / "jzfs-repo")
    try:
        events = add_path(node, [src], recursive=True)
        root = events[-1].cid
        j = await Jzfs(store=node.blocks).start(nursery)
        await helia.aio.dial(j.host.addrs()[0])
        with trio.fail_after(90):
            await helia.aio.get(str(root), tmp_path / "out", timeout=60)
        assert _tree(tmp_path / "out") == _tree(src)
    finally:
        node.close()


@pytest.mark.slow
async def test_helia_to_jzfs_and_back_100mib(helia_factory, tmp_path, nursery):
    """100 MiB in Helia's default profile: Helia -> jzfs, then jzfs -> a second Helia."""
    h1, h2 = helia_factory(), helia_factory()
    data = os.urandom(100 * MiB)
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    cid = CID.decode(await h1.aio.add_file(p))
    j = await Jzfs().start(nursery)
    await j.host.connect(h1.multiaddr)
    with trio.fail_after(300):
        await j.retrieval.fetch_dag(cid)
    assert _sha(b"".join(read_file(j.store, cid))) == _sha(data)
    await j.host.disconnect(h1.peer_id)
    await h2.aio.dial(j.host.addrs()[0])
    dest = tmp_path / "back.bin"
    with trio.fail_after(300):
        await h2.aio.cat(str(cid), dest, timeout=280)
    assert _sha(dest.read_bytes()) == _sha(data)
