"""jzfs Bitswap against real Kubo 0.22 (RSA identity unless stated), loopback only.

Kubo -> jzfs (small, multi-chunk, 100 MiB), jzfs -> Kubo (Download and PinCID; CIDv0 and CIDv1
raw leaves), a Kubo peer leaving mid-fetch while a second Kubo has the data, DONT_HAVE for
missing blocks. Bytes are compared by SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
import trio
from jzfs_interop.cli import imported_libp2p, run_jzfs

from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.errors import Timeout
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, RAW
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.importer import import_bytes

pytestmark = pytest.mark.trio
MiB = 1024 * 1024


class Jzfs:
    def __init__(self) -> None:
        self.host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
        self.store = MemoryBlockstore()
        self.bs = BitswapService(self.host, self.store)
        self.retrieval = Retrieval(self.store, [self.bs], on_stored=self.bs.notify_new_blocks,
                                   timeout_s=30)

    async def start(self, nursery: trio.Nursery) -> Jzfs:
        await nursery.start(self.host.run)
        await nursery.start(self.bs.run)
        return self


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file(tmp: Path, size: int, name: str = "f.bin") -> tuple[Path, bytes]:
    data = os.urandom(size)
    p = tmp / name
    p.write_bytes(data)
    return p, data


@pytest.mark.parametrize("size", [700, 5 * MiB + 3])
async def test_kubo_to_jzfs(kubo, tmp_path, nursery, size):
    path, data = _file(tmp_path, size)
    cid = CID.decode(await kubo.aio.add_file(path))
    assert cid.version == 0
    j = await Jzfs().start(nursery)
    await j.host.connect(kubo.multiaddr)
    with trio.fail_after(60):
        await j.retrieval.fetch_dag(cid)
    assert _sha(b"".join(read_file(j.store, cid))) == _sha(data)
    assert j.bs.client.stats["unwanted"] == 0


@pytest.mark.slow
async def test_kubo_to_jzfs_100mib(kubo, tmp_path, nursery):
    path, data = _file(tmp_path, 100 * MiB)
    cid = CID.decode(await kubo.aio.add_file(path))
    j = await Jzfs().start(nursery)
    await j.host.connect(kubo.multiaddr)
    t0 = time.perf_counter()
    with trio.fail_after(300):
        await j.retrieval.fetch_dag(cid)
    dt = time.perf_counter() - t0
    print(f"Kubo -> jzfs 100 MiB: {100 * MiB / dt / 1e6:.1f} MB/s")
    assert _sha(b"".join(read_file(j.store, cid))) == _sha(data)


@pytest.mark.slow
async def test_jzfs_to_kubo_100mib_cidv1(kubo, tmp_path, nursery):
    data = os.urandom(100 * MiB)
    root, blocks, _ = import_bytes(data, UNIXFS_V1_2025)
    j = await Jzfs().start(nursery)
    j.store.put_many(blocks)
    await kubo.aio.connect(j.host.addrs()[0])
    t0 = time.perf_counter()
    with trio.fail_after(300):
        await kubo.aio.pin_cid(str(root), timeout=280)
    print(f"jzfs -> Kubo 100 MiB (PinCID): {100 * MiB / (time.perf_counter() - t0) / 1e6:.1f} MB/s")
    dest = tmp_path / "out.bin"
    await kubo.aio.download(str(root), dest, timeout=120)
    assert _sha(dest.read_bytes()) == _sha(data)


@pytest.mark.parametrize("profile", [UNIXFS_V0_2015, UNIXFS_V1_2025])
async def test_jzfs_to_kubo(kubo, tmp_path, nursery, profile):
    data = os.urandom(3 * MiB + 17)
    root, blocks, _ = import_bytes(data, profile)
    j = await Jzfs().start(nursery)
    j.store.put_many(blocks)
    await kubo.aio.connect(j.host.addrs()[0])
    dest = tmp_path / "out.bin"
    with trio.fail_after(90):
        await kubo.aio.download(str(root), dest, timeout=60)
    assert _sha(dest.read_bytes()) == _sha(data)
    # a second file through PinCID (Kubo's parallel DAG fetch)
    data2 = os.urandom(2 * MiB + 5)
    root2, blocks2, _ = import_bytes(data2, profile)
    j.store.put_many(blocks2)
    with trio.fail_after(90):
        await kubo.aio.pin_cid(str(root2), timeout=60)
    dest2 = tmp_path / "out2.bin"
    await kubo.aio.download(str(root2), dest2, timeout=30)
    assert _sha(dest2.read_bytes()) == _sha(data2)
    assert j.bs.stats["bad_messages"] == 0


async def test_jzfs_to_kubo_ed25519_tiny_block(kubo_ed25519, tmp_path, nursery):
    """A raw block <= 1024 bytes: Kubo's want-have is answered with the block itself."""
    blk = Block.create(b"tiny raw block", codec=RAW)
    j = await Jzfs().start(nursery)
    j.store.put(blk.cid, blk.data)
    await kubo_ed25519.aio.connect(j.host.addrs()[0])
    dest = tmp_path / "tiny"
    with trio.fail_after(60):
        await kubo_ed25519.aio.download(str(blk.cid), dest, timeout=30)
    assert dest.read_bytes() == blk.data


async def test_kubo_peer_leaves_mid_fetch_second_kubo_completes(kubo_factory, tmp_path, nursery):
    path, data = _file(tmp_path, 24 * MiB)
    k1, k2 = kubo_factory(), kubo_factory()
    cid = CID.decode(await k1.aio.add_file(path))
    assert str(cid) == await k2.aio.add_file(path)
    j = await Jzfs().start(nursery)
    await j.host.connect(k1.multiaddr)
    await j.host.connect(k2.multiaddr)
    seen: list[CID] = []
    k1_gone = trio.Event()
    j.host.on_disconnected(lambda peer: k1_gone.set() if peer == k1.peer_id else None)

    def on_block(c: CID, n: int) -> None:
        seen.append(c)
        if len(seen) == 10:
            # The first peer goes away for good (its process stops: it cannot dial back in),
            # after having served part of the DAG.
            nursery.start_soon(trio.to_thread.run_sync, k1.stop)

    with trio.fail_after(120):
        await j.retrieval.fetch_dag(cid, on_block=on_block)
    with trio.fail_after(30):
        await k1_gone.wait()
    assert k1.peer_id not in j.host.peers()
    assert _sha(b"".join(read_file(j.store, cid))) == _sha(data)


async def test_missing_block_times_out_cleanly(kubo, nursery):
    j = await Jzfs().start(nursery)
    await j.host.connect(kubo.multiaddr)
    missing = Block.create(b"no one has this " + os.urandom(8), codec=RAW)
    with pytest.raises(Timeout):
        await j.retrieval.get(missing.cid, timeout_s=2)
    assert j.host.is_connected(kubo.peer_id)


async def test_jzfs_to_kubo_directory_tree(kubo, tmp_path, nursery):
    """A tree added the way `jzfs add -r` does (Kubo's layout), downloaded by Kubo."""
    from jiaozi_node.node import Node
    from jiaozi_node.node.files import add_path

    src = tmp_path / "tree"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "a.txt").write_bytes(b"hello kubo\n")
    (src / "sub" / "big.bin").write_bytes(os.urandom(2 * MiB + 1))
    (src / "sub" / "deeper" / "small.bin").write_bytes(os.urandom(700))
    node = Node.open(tmp_path / "jzfs-repo")
    try:
        root = add_path(node, [src], recursive=True, profile=UNIXFS_V0_2015)[-1].cid
        j = Jzfs()
        j.store = node.blocks
        j.bs = BitswapService(j.host, j.store)
        await j.start(nursery)
        await kubo.aio.connect(j.host.addrs()[0])
        with trio.fail_after(90):
            await kubo.aio.pin_cid(str(root), timeout=60)
            await kubo.aio.download(str(root), tmp_path / "out", timeout=60)
        for rel in ("a.txt", "sub/big.bin", "sub/deeper/small.bin"):
            assert _sha((tmp_path / "out" / rel).read_bytes()) == _sha((src / rel).read_bytes())
        assert (tmp_path / "out" / "empty").is_dir()
    finally:
        node.close()


async def test_cli_get_and_cat_from_kubo(kubo, tmp_path):
    """`jzfs get/cat CID --peer <Kubo>` as a user runs it (subprocess, fresh repo), over the
    dial-only LiteHost: byte-identical output, and py-libp2p is never imported."""
    import sys

    path, data = _file(tmp_path, 3 * MiB + 11)
    cid = await kubo.aio.add_file(path)
    env = {**os.environ, "JZFS_PATH": str(tmp_path / "repo")}
    base = [sys.executable, "-m", "jiaozi_node.cli.main", "--offline"]
    out = tmp_path / "got.bin"
    with trio.fail_after(120):
        code, _, err = await run_jzfs(["--offline", "get", cid, "-o", str(out), "--peer",
                                       kubo.multiaddr], env)
        assert code == 0, err.decode()[-2000:]
        assert out.read_bytes() == data
        assert imported_libp2p(err) == []
        env2 = {**env, "JZFS_PATH": str(tmp_path / "repo2")}
        res = await trio.run_process([*base, "cat", cid, "--peer", kubo.multiaddr], env=env2,
                                     capture_stdout=True, capture_stderr=True, check=False)
        assert res.returncode == 0 and _sha(res.stdout) == _sha(data)
