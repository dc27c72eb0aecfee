"""`/api/v0/add`: same CIDs as `jzfs add` (node/files.py) for the same input and options."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp
from jiaozi_node.node import Node
from jiaozi_node.node.files import add_bytes, add_path

KUBO_VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "kubo_vectors.json").read_text())
DATA = hashlib.shake_128(b"add").digest(3 * 1024 * 1024 + 5)


@pytest.fixture
def node(tmp_path: Path) -> Node:
    n = Node.open(tmp_path / "repo")
    yield n
    n.close()


def client(node: Node) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=RpcApp(ApiContext(node))),
                             base_url="http://127.0.0.1:5001")


def lines(r: httpx.Response) -> list[dict]:
    assert r.status_code == 200, r.text
    return [json.loads(x) for x in r.text.splitlines() if x.strip()]


@pytest.mark.parametrize("params,profile_kw", [
    ({}, {}),
    ({"cid-version": "0"}, {"cid_version": 0}),
    ({"cid-version": "1", "raw-leaves": "false", "chunker": "size-262144"},
     {"cid_version": 1, "raw_leaves": False, "chunker": "size-262144"}),
    ({"profile": "unixfs-v0-2015", "trickle": "true"}, {"profile": "unixfs-v0-2015", "layout": "trickle"}),
])
async def test_single_file_matches_jzfs_add(node: Node, tmp_path: Path, params: dict, profile_kw: dict) -> None:
    from jiaozi_node.config import PROFILES
    from jiaozi_node.node.files import resolve_profile

    name = profile_kw.pop("profile", None)
    base = PROFILES[name] if name else resolve_profile(node, None)
    expected = add_bytes(node, DATA, profile=base.with_overrides(**profile_kw), only_hash=True)
    async with client(node) as http:
        out = lines(await http.post("/api/v0/add", params=params, files={"file": ("data.bin", DATA)}))
    assert out == [{"Name": "data.bin", "Hash": str(expected.cid), "Size": str(expected.size)}]
    assert node.pins.pin_type(expected.cid) == "recursive"  # pinned by default, like Kubo


async def test_cid_version_0_gives_kubos_cidv0(node: Node) -> None:
    # `ipfs add --cid-version 0` through Kubo's RPC: CIDv0, dag-pb leaves, whatever the profile
    kubo = KUBO_VECTORS
    async with client(node) as http:
        out = lines(await http.post("/api/v0/add", params={"cid-version": "0"},
                                    files={"file": ("a.txt", b"hello\n")}))
        assert out[0]["Hash"] == kubo["tree"]["a.txt"]
        out = lines(await http.post("/api/v0/add", params={"cid-version": "0", "raw-leaves": "true"},
                                    files={"file": ("a.txt", b"hello\n")}))
        assert out[0]["Hash"].startswith("bafkrei")


def test_cli_and_rpc_resolve_add_flags_in_one_place() -> None:
    import inspect

    from jiaozi_node.api import h_add
    from jiaozi_node.cli import add_cmd

    for mod in (h_add, add_cmd):
        src = inspect.getsource(mod)
        assert "profile_for_add(" in src and "with_overrides" not in src and "PROFILES[" not in src


async def test_directory_upload_matches_add_r(node: Node, tmp_path: Path) -> None:
    top = tmp_path / "tree"
    (top / "sub" / "deeper").mkdir(parents=True)
    (top / "empty").mkdir()
    (top / "a.txt").write_bytes(b"a")
    (top / "sub" / "b.bin").write_bytes(DATA[:100_000])
    (top / "sub" / "deeper" / "c").write_bytes(b"")
    expected = add_path(node, [top], recursive=True, only_hash=True)
    files = [
        ("file", ("tree", b"", "application/x-directory")),
        ("file", ("tree%2Fa.txt", b"a", "application/octet-stream")),
        ("file", ("tree%2Fempty", b"", "application/x-directory")),
        ("file", ("tree%2Fsub", b"", "application/x-directory")),
        ("file", ("tree%2Fsub%2Fb.bin", DATA[:100_000], "application/octet-stream")),
        ("file", ("tree%2Fsub%2Fdeeper", b"", "application/x-directory")),
        ("file", ("tree%2Fsub%2Fdeeper%2Fc", b"", "application/octet-stream")),
    ]
    async with client(node) as http:
        out = lines(await http.post("/api/v0/add", files=files))
    assert out[-1] == {"Name": "tree", "Hash": str(expected[-1].cid), "Size": str(expected[-1].size)}
    assert {o["Name"]: o["Hash"] for o in out} == {e.path: str(e.cid) for e in expected}
    async with client(node) as http:
        r = await http.post("/api/v0/cat", params={"arg": f"{expected[-1].cid}/sub/b.bin"})
        assert r.content == DATA[:100_000]


async def test_wrap_progress_only_hash(node: Node) -> None:
    async with client(node) as http:
        out = lines(await http.post("/api/v0/add", params={"wrap-with-directory": "true", "progress": "true"},
                                    files=[("file", ("x.bin", DATA)), ("file", ("y.txt", b"y"))]))
        assert any("Bytes" in o for o in out)
        hashes = [o for o in out if "Hash" in o]
        assert [o["Name"] for o in hashes] == ["x.bin", "y.txt", ""]
        r = await http.post("/api/v0/cat", params={"arg": f"{hashes[-1]['Hash']}/y.txt"})
        assert r.content == b"y"
        out = lines(await http.post("/api/v0/add", params={"only-hash": "true"},
                                    files={"file": ("z", b"only hashed, never stored")}))
        r = await http.post("/api/v0/block/stat", params={"arg": out[0]["Hash"]})
        assert r.status_code == 500


async def test_bad_requests(node: Node) -> None:
    async with client(node) as http:
        r = await http.post("/api/v0/add", params={"cid-version": "7"}, files={"file": ("a", b"a")})
        assert r.status_code == 400
        r = await http.post("/api/v0/add", params={"chunker": "size-0x"}, files={"file": ("a", b"a")})
        assert r.status_code in (400, 500) and r.json()["Type"] == "error"
        r = await http.post("/api/v0/add", files={"file": ("../escape", b"a")})
        assert r.status_code in (400, 500) and "'..'" in r.json()["Message"]
        r = await http.post("/api/v0/add", content=b"not multipart", headers={"Content-Type": "text/plain"})
        assert r.status_code == 400


async def test_rpc_add_and_jzfs_add_pin_the_same_way(node: Node, monkeypatch) -> None:
    """One add pipeline (node.files.AddSession): RPC add pins like `jzfs add` does, with
    complete=True (no DAG walk to read back what it just wrote)."""
    calls: list[dict] = []
    real = node.pins.add

    def spy(cid, **kw):
        calls.append(kw)
        return real(cid, **kw)

    monkeypatch.setattr(node.pins, "add", spy)
    async with client(node) as http:
        lines(await http.post("/api/v0/add", files={"file": ("data.bin", DATA[:1000])}))
    add_bytes(node, DATA[:2000], pin=True)
    assert calls == [{"recursive": True, "complete": True}] * 2


def test_the_rpc_handler_has_no_import_pipeline_of_its_own() -> None:
    import inspect

    from jiaozi_node.api import h_add

    src = inspect.getsource(h_add)
    for name in ("import_stream", "BlockBatcher", "ThreadPoolExecutor", "pins.add", "pins.lock"):
        assert name not in src, name


async def test_progress_lines_follow_the_nodes_io_tuning(tmp_path: Path) -> None:
    from dataclasses import replace

    from jiaozi_node.config import Defaults, IoTuning

    counts = []
    for every in (1 << 30, 1):  # never (only the final line) / after every read of the part
        with Node.open(tmp_path / str(every), defaults=replace(Defaults(), io=IoTuning(add_progress_every_bytes=every))) as n:
            async with client(n) as http:
                out = lines(await http.post("/api/v0/add", params={"progress": "true"},
                                            files={"file": ("x.bin", DATA)}))
        counts.append(sum("Bytes" in o for o in out))
    assert counts[0] == 1 and counts[1] > 1, counts


async def test_rpc_add_uses_the_nodes_add_tuning(tmp_path: Path, monkeypatch) -> None:
    from dataclasses import replace

    from jiaozi_node.config import AddTuning, Defaults
    from jiaozi_node.node import files

    tuning = AddTuning(read_bytes=4096)
    seen = []
    real = files.AddSession.__init__

    def init(self, node, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw["tuning"])
        real(self, node, **kw)

    monkeypatch.setattr(files.AddSession, "__init__", init)
    with Node.open(tmp_path / "r", defaults=replace(Defaults(), add=tuning)) as n:
        async with client(n) as http:
            assert lines(await http.post("/api/v0/add", files={"file": ("x", b"x")}))
    assert seen == [tuning]
