"""api/h_files.py: cat, ls, get (tar) in Kubo's shapes."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from jiaozi_node.ipld import CID
from jiaozi_node.node import Node

# the same bytes as conftest.tree's big.bin
API_DATA = hashlib.shake_128(b"api").digest(200_000)


async def test_cat_ls_get(api, node: Node, tree: dict[str, CID]) -> None:
    root = tree["root"]
    async with api(node) as http:
        r = await http.post("/api/v0/cat", params={"arg": f"/ipfs/{root}/big.bin"})
        assert r.status_code == 200 and r.content == API_DATA
        assert r.headers["x-stream-output"] == "1"
        r = await http.post("/api/v0/cat", params={"arg": str(tree["big"]), "offset": 100, "length": 50})
        assert r.content == API_DATA[100:150]
        r = await http.post("/api/v0/ls", params={"arg": str(root)})
        obj = r.json()["Objects"][0]
        assert obj["Hash"] == str(root)
        links = {lk["Name"]: lk for lk in obj["Links"]}
        assert links["big.bin"] == {"Name": "big.bin", "Hash": str(tree["big"]), "Size": len(API_DATA),
                                    "Type": 2, "Target": ""}
        assert links["sub"]["Type"] == 1 and links["ln"]["Type"] == 4 and links["ln"]["Target"] == "big.bin"
        r = await http.post("/api/v0/get", params={"arg": str(root)})
        with tarfile.open(fileobj=io.BytesIO(r.content)) as tf:
            names = tf.getnames()
            assert f"{root}/sub/inner.txt" in names
            assert tf.extractfile(f"{root}/big.bin").read() == API_DATA
            assert tf.getmember(f"{root}/ln").linkname == "big.bin"


async def test_get_tree_stream_matches_offline_get(api, node: Node, tree: dict[str, CID], tmp_path) -> None:
    from jiaozi_node.api.tree_stream import FORMAT, decode_tree
    from jiaozi_node.node.files_read import FilesReader
    from jiaozi_node.node.tree_writer import write_tree

    root = tree["root"]
    async with api(node) as http:
        r = await http.post("/api/v0/get", params={"arg": str(root), "format": FORMAT})
        assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.jzfs.tree"
        body = r.content
        r = await http.post("/api/v0/get", params={"arg": str(root), "format": "zip"})
        assert r.status_code == 400 and "unknown get format" in r.json()["Message"]
    write_tree(decode_tree([body[i:i + 999] for i in range(0, len(body), 999)]), tmp_path / "daemon")
    FilesReader(node.blocks).get(root, tmp_path / "offline")
    for sub in ("big.bin", "sub/inner.txt"):
        assert (tmp_path / "daemon" / sub).read_bytes() == (tmp_path / "offline" / sub).read_bytes()
    assert (tmp_path / "daemon" / "ln").readlink() == (tmp_path / "offline" / "ln").readlink()


async def test_get_tar_refuses_duplicate_names(api, node: Node, tmp_path) -> None:
    # Kubo-style clients still get a tar; a tree with two entries of one name ends it early
    # (a truncated tar) instead of handing a tar extractor a symlink-then-directory pair.
    from jiaozi_node.ipld import dagpb
    from jiaozi_node.unixfs import pb
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    dag = DagBuilder()
    links = (dagpb.PBLink(dag.symlink("/tmp"), "a", 1), dagpb.PBLink(dag.directory({}), "a", 1))
    root = dag.raw_node(dagpb.PBNode(links, pb.DIRECTORY_DATA))
    for c in dag.store.cids():
        node.blocks.put(c, dag.store.get(c))
    async with api(node) as http:
        r = await http.post("/api/v0/get", params={"arg": str(root)})
    assert r.status_code != 200 or b"a/" not in r.content


async def test_ls_fetches_the_entries_with_many_in_flight(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """RPC ls of a directory the daemon does not have: the entries' root blocks (read for their
    types and sizes) are fetched all at once, not one after another."""
    import httpx
    import trio

    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.api.server import RpcApp
    from jiaozi_node.node import Node
    from jiaozi_node.node.retrieval import Retrieval
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    dag = DagBuilder()
    root = dag.directory({f"f{i}.txt": dag.raw(f"file {i}\n".encode()) for i in range(20)})
    blocks = {c.multihash: dag.store.get(c) for c in dag.store.cids()}
    state = {"now": 0, "max": 0}

    class Slow:
        name = "slow"

        async def fetch(self, cid):  # type: ignore[no-untyped-def]
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            try:
                await trio.sleep(0.002)
                return blocks[cid.multihash]
            finally:
                state["now"] -= 1

    with Node.open(tmp_path / "n") as node:
        r = Retrieval(node.blocks, [Slow()])
        app = RpcApp(ApiContext(node, fetch=r.get, retrieval=r))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:5001") as http:
            out = (await http.post("/api/v0/ls", params={"arg": str(root)})).json()
    assert sorted(lk["Name"] for lk in out["Objects"][0]["Links"]) == sorted(f"f{i}.txt" for i in range(20))
    assert state["max"] > 4


async def test_get_tree_stream_walks_with_the_nodes_tree_limits(api, tmp_path) -> None:
    from dataclasses import replace

    from jiaozi_node.api.tree_stream import FORMAT, decode_tree
    from jiaozi_node.config import Defaults, TreeLimits
    from jiaozi_node.errors import JzfsError
    from jiaozi_node.ipld import Block
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    dag = DagBuilder()
    root = dag.directory({"d": dag.directory({"f": dag.raw(b"x")})})
    with Node.open(tmp_path / "r", defaults=replace(Defaults(), tree=TreeLimits(max_tree_depth=0))) as n:
        n.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])
        async with api(n) as http:
            r = await http.post("/api/v0/get", params={"arg": str(root), "format": FORMAT})
    with pytest.raises(JzfsError, match="deep"):  # reported in-band by the daemon's walk
        list(decode_tree([r.content]))


async def test_get_fetch_format_fetches_into_the_store_and_says_done(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`get?format=jzfs-fetch` (what the jzfs CLI on the same repo asks for): the daemon makes
    the DAG local and answers NDJSON, the resolved CID and its blockstore's directory first,
    `Done` once every block is stored; no file bytes over HTTP. A block no source has ends it
    with a Kubo-style error object carrying the fetch's own message."""
    import json

    import httpx
    import trio

    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.api.h_files import FETCH_FORMAT
    from jiaozi_node.api.server import RpcApp
    from jiaozi_node.ipld import codecs
    from jiaozi_node.node import Node
    from jiaozi_node.node.retrieval import Retrieval
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    dag = DagBuilder()
    big = dag.chunked(API_DATA, chunk=30_000, width=4)
    sub = dag.directory({"x": dag.raw(b"x\n")})
    root = dag.directory({"big.bin": big, "sub": sub})
    blocks = {c.multihash: dag.store.get(c) for c in dag.store.cids()}
    lost = DagBuilder()
    gone = lost.directory({"never.bin": lost.raw(b"nobody has this")})
    blocks[gone.multihash] = lost.store.get(gone)

    class Src:
        name = "src"

        async def fetch(self, cid):  # type: ignore[no-untyped-def]
            await trio.sleep(0.001)
            if cid.multihash not in blocks:
                await trio.sleep_forever()
            return blocks[cid.multihash]

    with Node.open(tmp_path / "n") as node:
        r = Retrieval(node.blocks, [Src()], timeout_s=0.5)
        app = RpcApp(ApiContext(node, fetch=r.get, retrieval=r))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:5001") as http:
            out = await http.post("/api/v0/get", params={"arg": f"/ipfs/{root}/big.bin", "format": FETCH_FORMAT})
            assert out.status_code == 200 and b"\n" in out.content
            lines = [json.loads(x) for x in out.content.splitlines()]
            assert lines == [{"Cid": str(big), "Store": str((node.blocks.root).resolve())}, {"Done": True}]
            under, todo = set(), [big]
            while todo:
                c = todo.pop()
                under.add(c)
                todo.extend(codecs.links(c, dag.store.get(c)))
            assert len(under) > 4 and all(node.blocks.has(c) for c in under)
            assert not node.blocks.has(sub)  # only what the path names
            out = await http.post("/api/v0/get", params={"arg": str(gone), "format": FETCH_FORMAT})
            lines = [json.loads(x) for x in out.content.splitlines()]
            assert lines[0]["Cid"] == str(gone) and len(lines) == 2
            assert lines[1]["Type"] == "error" and "not found" in lines[1]["Message"]


async def test_get_fetch_format_stores_blocks_while_it_fetches(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The reader in the other process must not wait for a full store batch (8 MiB): while it
    fetches for `format=jzfs-fetch`, the daemon stores what it holds back every
    IoTuning.daemon_fetch_flush_s."""
    from dataclasses import replace

    import httpx
    import trio

    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.api.h_files import FETCH_FORMAT
    from jiaozi_node.api.server import RpcApp
    from jiaozi_node.node import Node
    from jiaozi_node.node.retrieval import Retrieval
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    dag = DagBuilder()
    big = dag.chunked(API_DATA, chunk=10_000, width=30)
    order = {c.multihash: i for i, c in enumerate(dag.store.cids())}
    blocks = {c.multihash: dag.store.get(c) for c in dag.store.cids()}

    class Slow:
        name = "slow"

        async def fetch(self, cid):  # type: ignore[no-untyped-def]
            await trio.sleep(0.005 * order[cid.multihash])  # arrivals spread over ~0.1 s
            return blocks[cid.multihash]

    stored: list[int] = []
    with Node.open(tmp_path / "n") as node:
        node.defaults = replace(node.defaults, io=replace(node.defaults.io, daemon_fetch_flush_s=0.01))
        r = Retrieval(node.blocks, [Slow()], batch_bytes=1 << 30,  # batching alone: one store at the end
                      on_stored=lambda cids: stored.append(len(cids)))
        app = RpcApp(ApiContext(node, fetch=r.get, retrieval=r))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:5001") as http:
            out = await http.post("/api/v0/get", params={"arg": str(big), "format": FETCH_FORMAT})
        assert out.content.splitlines()[-1] == b'{"Done":true}'
    assert sum(stored) == len(blocks) and len(stored) >= 3, stored
