"""`jzfs get/cat CID --peer MULTIADDR` in a subprocess against a jzfs peer on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import trio

from jiaozi_node.bitswap.service import BitswapService
from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.node import Node
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.importer import import_bytes


async def _serve(nursery: trio.Nursery, store: MemoryBlockstore) -> str:
    host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(host.run)
    await nursery.start(BitswapService(host, store).run)
    return host.addrs()[0]


async def _jzfs(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "JZFS_PATH": str(repo)}
    return await trio.run_process([sys.executable, "-m", "jiaozi_node.cli.main", "--offline", *args],
                                  env=env, capture_stdout=True, capture_stderr=True, check=False)


async def test_get_and_cat_with_peer(nursery, tmp_path):
    store = MemoryBlockstore()
    data = os.urandom(2 * 1024 * 1024 + 5)
    root, blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    store.put_many(blocks)
    addr = await _serve(nursery, store)
    repo = tmp_path / "repo"
    out = tmp_path / "out.bin"
    with trio.fail_after(60):
        res = await _jzfs(repo, "get", str(root), "-o", str(out), "--peer", addr)
    assert res.returncode == 0, res.stderr.decode()
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    with Node.open(repo) as node:  # stored, verified and pinned
        assert node.blocks.has(root)
        assert node.pins.pin_type(root) == "recursive"
    repo2 = tmp_path / "repo2"
    with trio.fail_after(60):
        res = await _jzfs(repo2, "cat", str(root), "--peer", addr)
    assert res.returncode == 0 and res.stdout == data
    with trio.fail_after(60):
        res = await _jzfs(tmp_path / "repo3", "cat", str(root), "--peer", addr,
                          "--offset", "300000", "--length", "1000")
    assert res.returncode == 0 and res.stdout == data[300000:301000]


async def test_nobody_has_it_fails_after_timeout(nursery, tmp_path):
    addr = await _serve(nursery, MemoryBlockstore())
    missing = Block.create(b"absent " + os.urandom(4), codec=RAW)
    with trio.fail_after(30):
        res = await _jzfs(tmp_path / "repo", "cat", str(missing.cid), "--peer", addr, "--timeout", "1")
    assert res.returncode == 1
    assert b"within 1s" in res.stderr and b"Error: " in res.stderr
    assert b"Traceback" not in res.stderr and b"+---" not in res.stderr


async def test_unreachable_peer_is_a_clear_error(tmp_path):
    pid = Identity.generate().peer_id
    with trio.fail_after(30):
        res = await _jzfs(tmp_path / "repo", "cat", "bafkqaaa", "--peer",
                          f"/ip4/127.0.0.1/tcp/1/p2p/{pid}", "--timeout", "2")
    assert res.returncode == 1 and b"Error: cannot connect" in res.stderr
    assert b"Traceback" not in res.stderr and b"+---" not in res.stderr
    # one line, nothing logged first
    lines = [ln for ln in res.stderr.splitlines() if not ln.startswith(b"initialized a new")]
    assert len(lines) == 1 and lines[0].startswith(b"Error: cannot connect"), res.stderr
    # --debug: the same error; the dial is the lean client's (a plain TCP address never brings
    # in py-libp2p, whose transport used to log here)
    with trio.fail_after(30):
        res = await _jzfs(tmp_path / "repo", "--debug", "cat", "bafkqaaa", "--peer",
                          f"/ip4/127.0.0.1/tcp/1/p2p/{pid}", "--timeout", "2")
    assert res.returncode == 1 and b"Error: cannot connect" in res.stderr
    assert b"libp2p.transport" not in res.stderr
