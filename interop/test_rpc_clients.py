"""Independent RPC clients against `jzfs daemon`'s Kubo-compatible API.

- the official JS client `kubo-rpc-client` (npm, pinned in interop/helia/package.json);
- PyPI `ipfshttpclient` 0.7.0. Its `connect()` refuses daemons whose version is outside
  [0.4.23, 0.8.0); constructing `ipfshttpclient.Client(addr)` directly skips that check (the
  library documents this), which is what we do: our `/api/v0/version` reports jzfs's own version.

Every answer is checked against what jzfs itself computes (CIDs from `jzfs add`'s importer, bytes
by hash).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jzfs_interop.helia import HELIA_DIR
from jzfs_interop.vectors import content

from jiaozi_node.config import DEFAULT_PROFILE
from jiaozi_node.node import Node
from jiaozi_node.node.files import add_bytes
from jiaozi_node.repo import Repo

DATA = content(2 * 1024 * 1024 + 3)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("rpc")
    repo = Repo.init(base / "repo")
    repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Swarm", ["/ip4/127.0.0.1/tcp/0"])
    env = {**os.environ, "JZFS_PATH": str(base / "repo"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "jiaozi_node.cli.main", "daemon"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        text = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            text += line
            if "Daemon is ready" in line:
                break
        m = re.search(r"RPC API server listening on (/ip4/[\d.]+/tcp/(\d+))", text)
        assert m, text
        yield {"maddr": m.group(1), "url": f"http://127.0.0.1:{m.group(2)}", "repo": base / "repo",
               "peer_id": repo.peer_id, "base": base}
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def expected_cid(repo: Path, data: bytes, **kw: object) -> str:
    """The CID `jzfs add` gives these bytes with these options (only hashing, nothing stored)."""
    with Node.open(repo, create=False) as node:
        return str(add_bytes(node, data, only_hash=True, **kw).cid)


JS = r"""
import { create } from 'kubo-rpc-client'
import { createHash } from 'node:crypto'
const ipfs = create({ url: process.argv[1] })
const sha = (b) => createHash('sha256').update(b).digest('hex')
const cat = async (p, o = {}) => { const parts = []; for await (const c of ipfs.cat(p, o)) parts.push(c); return Buffer.concat(parts) }
const out = {}
const data = (await import('node:fs')).readFileSync(process.argv[2])
out.id = (await ipfs.id()).id.toString()
out.version = (await ipfs.version()).version
const added = await ipfs.add(data)
out.add = { cid: added.cid.toString(), size: added.size }
out.catSha = sha(await cat(added.cid))
out.catRange = (await cat(added.cid, { offset: 5, length: 10 })).length
const v0 = await ipfs.add(data, { cidVersion: 0 })
out.addV0 = v0.cid.toString()
const files = []
for await (const f of ipfs.addAll([
  { path: 'dir/a.txt', content: Buffer.from('aaa') },
  { path: 'dir/sub/b.txt', content: Buffer.from('bbb') }
], { wrapWithDirectory: true })) files.push({ path: f.path, cid: f.cid.toString() })
out.addAll = files
const root = files[files.length - 1].cid
out.ls = []
for await (const e of ipfs.ls(`${root}/dir`)) out.ls.push({ name: e.name, type: e.type, size: e.size, cid: e.cid.toString() })
out.catNested = (await cat(`/ipfs/${root}/dir/sub/b.txt`)).toString()
const bcid = await ipfs.block.put(Buffer.from('raw block bytes'))
out.blockPut = bcid.toString()
out.blockGet = Buffer.from(await ipfs.block.get(bcid)).toString()
const st = await ipfs.block.stat(bcid)
out.blockStat = { cid: st.cid.toString(), size: st.size }
const dcid = await ipfs.dag.put({ hello: 'world', link: bcid }, { storeCodec: 'dag-cbor' })
out.dagPut = dcid.toString()
out.dagGet = (await ipfs.dag.get(dcid, { path: 'hello' })).value
await ipfs.pin.add(bcid)
out.pins = []
for await (const p of ipfs.pin.ls({ type: 'recursive' })) out.pins.push(p.cid.toString())
out.pinRm = (await ipfs.pin.rm(bcid)).toString()
out.peers = (await ipfs.swarm.peers()).length
out.tarBytes = 0
for await (const c of ipfs.get(root)) out.tarBytes += c.length
let err = null
try { await cat('QmNotACid') } catch (e) { err = String(e.message) }
out.badCid = err
console.log(JSON.stringify(out))
"""


def test_kubo_rpc_client_js(daemon: dict, tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(DATA)
    r = subprocess.run(["node", "--input-type=module", "-e", JS, daemon["url"],
                        str(tmp_path / "data.bin")], cwd=HELIA_DIR, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["id"] == daemon["peer_id"]
    assert out["add"]["cid"] == expected_cid(daemon["repo"], DATA)  # node default profile
    assert out["addV0"] == expected_cid(daemon["repo"], DATA,
                                        profile=DEFAULT_PROFILE.with_overrides(cid_version=0))
    assert out["catSha"] == hashlib.sha256(DATA).hexdigest() and out["catRange"] == 10
    assert [f["path"] for f in out["addAll"]] == ["dir/a.txt", "dir/sub/b.txt", "dir/sub", "dir", ""]
    assert {e["name"]: e["type"] for e in out["ls"]} == {"a.txt": "file", "sub": "dir"}
    assert out["catNested"] == "bbb"
    assert out["blockGet"] == "raw block bytes" and out["blockStat"]["size"] == 15
    assert out["blockPut"] == out["blockStat"]["cid"]
    assert out["dagPut"].startswith("bafyrei") and out["dagGet"] == "world"
    assert out["blockPut"] in out["pins"] and out["pinRm"] == out["blockPut"]
    assert out["peers"] == 0 and out["tarBytes"] > 0
    assert out["badCid"]


def test_ipfshttpclient_python(daemon: dict, tmp_path: Path) -> None:
    import ipfshttpclient  # in the [interop] extras of pyproject.toml
    client = ipfshttpclient.Client(daemon["maddr"] + "/http")
    try:
        assert client.id()["ID"] == daemon["peer_id"]
        assert client.version()["Version"]
        cid = client.add_bytes(DATA)
        assert cid == expected_cid(daemon["repo"], DATA)
        assert client.cat(cid) == DATA
        assert client.cat(cid, offset=100, length=50) == DATA[100:150]
        src = tmp_path / "tree"
        (src / "sub").mkdir(parents=True)
        (src / "a.txt").write_bytes(b"a text\n")
        (src / "sub" / "b.bin").write_bytes(DATA[:300_000])
        res = client.add(str(src), recursive=True)
        root = res[-1]["Hash"]
        assert res[-1]["Name"] == "tree"
        # ipfshttpclient's add() always sends raw-leaves=false (its `nocopy` default): the same
        # option given to `jzfs add` must give the same root
        with Node.open(daemon["base"] / "check") as other:
            from jiaozi_node.config import DEFAULT_PROFILE
            from jiaozi_node.node.files import add_path

            profile = DEFAULT_PROFILE.with_overrides(raw_leaves=False)
            assert str(add_path(other, [src], recursive=True, only_hash=True, profile=profile)[-1].cid) == root
        links = {lk["Name"]: lk for lk in client.ls(root)["Objects"][0]["Links"]}
        assert links["a.txt"]["Size"] == 7 and links["sub"]["Type"] == 1
        out = tmp_path / "out"
        out.mkdir()
        client.get(root, target=str(out))
        assert (out / root / "sub" / "b.bin").read_bytes() == DATA[:300_000]
        bk = client.block.put(io.BytesIO(b"block via python"))
        assert client.block.get(bk["Key"]) == b"block via python"
        assert client.block.stat(bk["Key"])["Size"] == 16
        client.pin.add(bk["Key"])
        assert bk["Key"] in client.pin.ls(type="recursive")["Keys"]
        client.pin.rm(bk["Key"])
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse):
            client.cat("QmNotACid")
    finally:
        client.close()
