"""Hostile nesting (issue 9, defect 3): deep DAG-JSON/DAG-CBOR refused by the decoders with an
error naming IpldLimits.max_decode_depth (CLI: one line; RPC: 400, nothing logged as an internal
error), and trees deeper than Python's recursion limit diffed/merged/checked out by iterative
walks, with TreeLimits.max_tree_depth named when it is hit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jiaozi_node.config import TreeLimits
from jiaozi_node.errors import CodecError, LimitExceeded
from jiaozi_node.ipld import dagcbor, dagjson
from jiaozi_node.ipld.block import Block
from jiaozi_node.node.core import Node
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.versioning.diff import diff_trees
from jiaozi_node.versioning.merge import merge_trees
from jiaozi_node.versioning.tree import Link

DEEP_JSON = ("[" * 1000 + "1" + "]" * 1000).encode()
DEEP_CBOR = b"\x81" * 1000 + b"\x01"
DEEP_MAP_JSON = ('{"a":' * 1000 + "1" + "}" * 1000).encode()


def _jzfs(env: dict, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env, input=stdin,
                          capture_output=True, timeout=120)


@pytest.mark.parametrize("data,codec", [(DEEP_JSON, "dag-json"), (DEEP_MAP_JSON, "dag-json"),
                                        (DEEP_CBOR, "dag-cbor")])
def test_decoders_refuse_deep_nesting(data: bytes, codec: str) -> None:
    decode = dagjson.decode if codec == "dag-json" else dagcbor.decode
    with pytest.raises(CodecError, match="IpldLimits.max_decode_depth"):
        decode(data)


def test_dag_put_deep_json_offline_and_through_daemon(jzfs_daemon: dict, tmp_path: Path) -> None:
    offline = {**os.environ, "JZFS_PATH": str(tmp_path / "offline")}
    _jzfs(offline, "init")
    for env in (offline, jzfs_daemon["env"]):
        for args, data in ((("dag", "put"), DEEP_JSON), (("dag", "put", "--input-codec", "dag-cbor"), DEEP_CBOR),
                           (("dag", "put", "--store-codec", "dag-json"), DEEP_MAP_JSON)):
            r = _jzfs(env, *args, stdin=data)
            err = r.stderr.decode()
            assert r.returncode == 1 and err.startswith("Error: ") and err.count("\n") == 1, err
            assert "IpldLimits.max_decode_depth" in err and "Traceback" not in err
    ok = ("[" * 200 + "]" * 200).encode()
    assert _jzfs(offline, "dag", "put", stdin=ok).returncode == 0
    r = httpx.post(f"{jzfs_daemon['api']}/api/v0/dag/put", files={"file": ("f", DEEP_JSON)})
    assert r.status_code == 400 and "IpldLimits.max_decode_depth" in r.json()["Message"]


async def test_rpc_dag_put_deep_is_a_400_not_an_internal_error(tmp_path: Path, caplog) -> None:
    from jiaozi_node.api.common import ApiContext
    from jiaozi_node.api.server import RpcApp

    node = Node.open(tmp_path / "repo")
    try:
        app = RpcApp(ApiContext(node))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:5001") as http:
            with caplog.at_level(logging.DEBUG):
                for data, codec in ((DEEP_JSON, "dag-json"), (DEEP_CBOR, "dag-cbor")):
                    r = await http.post("/api/v0/dag/put", params={"input-codec": codec},
                                        files={"file": ("f", data)})
                    assert r.status_code == 400, r.text
                    assert "IpldLimits.max_decode_depth" in r.json()["Message"]
        assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR or rec.exc_info]
    finally:
        node.close()


def _chain(dag: DagBuilder, levels: int, leaf: bytes) -> object:
    cid = dag.directory({"leaf.txt": dag.raw(leaf)})
    for _ in range(levels - 1):
        cid = dag.directory({"d": cid})
    return cid


def test_diff_and_merge_1200_deep_trees() -> None:
    dag = DagBuilder()
    base = _chain(dag, 1200, b"base")
    ours = _chain(dag, 1200, b"ours")
    theirs = dag.directory({"d": dagjson_free_child(dag, base), "new.txt": dag.raw(b"n")})
    changes = diff_trees(dag.store.get, base, ours)
    assert [c.path for c in changes] == ["d/" * 1199 + "leaf.txt"]
    changes = diff_trees(dag.store.get, ours, theirs)
    assert "new.txt" in {c.path for c in changes}

    blocks: dict = {}

    def build(entries: dict[str, Link]) -> Link:
        from jiaozi_node.ipld import dagpb
        from jiaozi_node.unixfs import pb

        links = tuple(dagpb.PBLink(v.cid, k, v.tsize) for k, v in sorted(entries.items()))
        cid = dag.raw_node(dagpb.PBNode(links, pb.DIRECTORY_DATA))
        blocks[cid] = True
        return Link(cid, 1)

    two = _chain(dag, 1200, b"ours")
    result = merge_trees(dag.store.get, base, two, theirs, build_dir=build)
    assert result.conflicts == [] and result.root.cid != two
    merged = diff_trees(dag.store.get, base, result.root.cid)
    assert {c.path for c in merged} == {"d/" * 1199 + "leaf.txt", "new.txt"}


def dagjson_free_child(dag: DagBuilder, root: object) -> object:
    """`root`'s only child (the `d` below it)."""
    from jiaozi_node.versioning.tree import list_dir

    return list_dir(dag.store.get, root)["d"].cid  # type: ignore[arg-type]


def test_tree_limit_named_by_diff_merge_and_walks() -> None:
    dag = DagBuilder()
    a, b = _chain(dag, 30, b"a"), _chain(dag, 30, b"b")
    with pytest.raises(LimitExceeded, match="TreeLimits.max_tree_depth"):
        diff_trees(dag.store.get, a, b, max_depth=10)
    with pytest.raises(LimitExceeded, match="TreeLimits.max_tree_depth"):
        diff_trees(dag.store.get, dag.directory({}), b, max_depth=10)  # all added: walk_files
    with pytest.raises(LimitExceeded, match="TreeLimits.max_tree_depth"):
        merge_trees(dag.store.get, None, a, b, build_dir=lambda e: Link(a, 0), max_depth=10)  # type: ignore[arg-type]
    assert len(diff_trees(dag.store.get, a, b, max_depth=30)) == 1
    assert TreeLimits().max_tree_depth == 2048


def test_cli_diff_of_1200_deep_commits(tmp_path: Path) -> None:
    from jiaozi_node.versioning import signing
    from jiaozi_node.versioning.objects import Author, Commit

    dag = DagBuilder()
    a = _chain(dag, 1200, b"a")
    b = _chain(dag, 1200, b"b")
    repo = tmp_path / "repo"
    with Node.open(repo) as node:
        node.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])
        ident = node.repo.identity
        cids = [node.versioning.store_object(signing.sign(Commit(r, (), Author("t", ident.peer_id, None), "m", 1),
                                                          ident)) for r in (a, b)]
    r = _jzfs({**os.environ, "JZFS_PATH": str(repo)}, "diff", str(cids[0]), str(cids[1]), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"path": "d/" * 1199 + "leaf.txt", "change": "modified"}]


def test_commit_add_checkout_of_a_1200_deep_local_directory(tmp_path: Path) -> None:
    # Local input, not a peer's, but a crash is a crash: snapshot, add's planner and the tree
    # builder walk without Python recursion (unixfs/tree_plan.run_nested).
    from jiaozi_node.node.tree_writer import remove_entry

    top = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.mkdir("t", dir_fd=top)
        fd = os.open("t", os.O_RDONLY | os.O_DIRECTORY, dir_fd=top)
        for _ in range(1200):
            os.mkdir("d", dir_fd=fd)
            nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        leaf = os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"deep")
        os.close(leaf)
        os.close(fd)
        env = {**os.environ, "JZFS_PATH": str(tmp_path / "repo")}
        assert _jzfs(env, "repo", "create", "ds").returncode == 0
        for args in (("commit", "ds", str(tmp_path / "t"), "-b", "main", "-m", "deep"),
                     ("add", "-r", "-Q", str(tmp_path / "t")),
                     ("checkout", "ds@main", "-o", str(tmp_path / "co"))):
            r = _jzfs(env, *args)
            assert r.returncode == 0 and b"Traceback" not in r.stderr, (args, r.stderr)
        r = _jzfs(env, "status", "ds", str(tmp_path / "co"))
        assert r.returncode == 0 and b"clean" in r.stdout, r.stdout
    finally:
        try:  # pytest's cleanup (shutil.rmtree) recurses per level on Python 3.11
            for name in ("t", "co"):
                remove_entry(top, name)
        finally:
            os.close(top)
