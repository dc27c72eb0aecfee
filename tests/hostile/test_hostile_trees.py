"""Hostile UnixFS trees through every writer: offline `jzfs get`, `jzfs get` through a daemon and
`jzfs checkout` (issue 9, defects 1-2). The blocks are built by hand (dag-pb) and stored in the
repos; the same command runs with and without a daemon: both must refuse with the same one-line
error, or write the same thing, and nothing may appear outside DEST."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaozi_node.config import TreeLimits
from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.cid import CID
from jiaozi_node.node.core import Node
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import Author, Commit


def _store(repo: Path, dag: DagBuilder) -> None:
    from jiaozi_node.ipld.block import Block

    with Node.open(repo) as node:
        node.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])


def _dir(dag: DagBuilder, links: list[tuple[str, CID]]) -> CID:
    """A plain UnixFS directory with links exactly as given (duplicates, any order, any name)."""
    return dag.raw_node(dagpb.PBNode(tuple(dagpb.PBLink(c, n, 1) for n, c in links), pb.DIRECTORY_DATA))


def _jzfs(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _deep(dag: DagBuilder, levels: int) -> CID:
    cid = dag.directory({"leaf.txt": dag.raw(b"bottom")})
    for _ in range(levels - 1):
        cid = dag.directory({"d": cid})
    return cid


def _refused_trees(outside: Path) -> dict[str, tuple[DagBuilder, CID, str]]:
    """name -> (blocks, root, a word the error must contain)"""
    trees = {}
    dag = DagBuilder()  # the attack: symlink `a` to a sibling of DEST, then directory `a`
    evil = dag.directory({"pwned.txt": dag.raw(b"pwned")})
    trees["symlink-then-dir"] = dag, _dir(dag, [("a", dag.symlink(str(outside))), ("a", evil)]), "duplicate"
    dag = DagBuilder()
    evil = dag.directory({"pwned.txt": dag.raw(b"pwned")})
    trees["relative-symlink-then-dir"] = (dag, _dir(dag, [("a", dag.symlink("../outside")), ("a", evil)]),
                                          "duplicate")
    dag = DagBuilder()
    trees["duplicate-files"] = dag, _dir(dag, [("f", dag.raw(b"first")), ("f", dag.raw(b"second"))]), "duplicate"
    dag = DagBuilder()
    trees["symlink-then-file"] = (dag, _dir(dag, [("a", dag.symlink(str(outside / "x"))), ("a", dag.raw(b"x"))]),
                                  "duplicate")
    dag = DagBuilder()
    sub = _dir(dag, [("x", dag.raw(b"1")), ("x", dag.raw(b"2"))])
    trees["nested-duplicate"] = dag, dag.directory({"sub": sub}), "duplicate"
    dag = DagBuilder()
    trees["hamt-duplicate"] = (dag, _dir(dag, [("h", dag.hamt({"a": dag.raw(b"1"), "b": dag.raw(b"2")})),
                                               ("h", dag.raw(b"3"))]), "duplicate")
    for label, name in (("dotdot", ".."), ("dot", "."), ("empty", ""), ("slash", "../../x"),
                        ("nul", "a\0b"), ("backslash", "..\\x"), ("long", "n" * 256)):
        dag = DagBuilder()
        trees[f"name-{label}"] = dag, _dir(dag, [("ok", dag.raw(b"ok")), (name, dag.raw(b"x"))]), "unsafe"
    dag = DagBuilder()  # tests run with max_tree_depth=40 (at 2048 this fs needs seconds to clean up)
    trees["too-deep"] = dag, _deep(dag, 42), "TreeLimits.max_tree_depth"
    return trees


SMALL = TreeLimits(max_tree_depth=40)


def _check_nothing_written(work: Path, outside: Path, dest: Path) -> None:
    assert not dest.exists() and not dest.is_symlink()
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in work.iterdir()) == ["outside"]  # no temp dirs left either


def _daemon_path(getter: object, root: CID, dest: Path) -> None:
    """What `jzfs get` through a daemon runs, in one process: the daemon's encoder over the same
    walk, the CLI's decoder, the writer (the HTTP transport is covered by the CLI test below)."""
    from jiaozi_node.api.tree_stream import decode_tree, encode_tree
    from jiaozi_node.node.files_read import tree_entries
    from jiaozi_node.node.tree_writer import write_tree

    data = b"".join(encode_tree(tree_entries(getter, root, limits=SMALL)))
    write_tree(decode_tree(data[i:i + 1000] for i in range(0, len(data), 1000)), dest, limits=SMALL)


def test_every_hostile_tree_refused_alike_in_process(tmp_path: Path) -> None:
    from jiaozi_node.errors import JzfsError
    from jiaozi_node.node.files_read import FilesReader

    work = tmp_path / "work"
    outside = work / "outside"
    outside.mkdir(parents=True)
    for case, (dag, root, word) in _refused_trees(outside).items():
        errors = {}
        for mode, run in (("offline", lambda d, s=dag.store, r=root: FilesReader(s).get(r, d, limits=SMALL)),
                          ("daemon", lambda d, s=dag.store, r=root: _daemon_path(s, r, d))):
            with pytest.raises(JzfsError) as info:
                run(work / "dest")
            assert word in str(info.value), (case, mode, info.value)
            _check_nothing_written(work, outside, work / "dest")
            errors[mode] = str(info.value)
        assert errors["daemon"] == errors["offline"], case


def test_every_tree_producer_refuses_alike(tmp_path: Path) -> None:
    """One walker with the checks behind every producer: offline `get`, the daemon's tree stream
    (its in-band error frame), and the one tar producer (RPC `get` and the web UI's download) refuse
    each hostile tree with the same message, and the tar ends before any entry of the bad name."""
    import io
    import tarfile

    from jiaozi_node.api.tree_stream import StreamError, decode_tree, encode_tree
    from jiaozi_node.errors import JzfsError
    from jiaozi_node.node.files_read import FilesReader, tree_entries
    from jiaozi_node.unixfs.tar import tar_stream

    outside = tmp_path / "outside"
    outside.mkdir()
    for case, (dag, root, word) in _refused_trees(outside).items():
        with pytest.raises(JzfsError) as offline:
            FilesReader(dag.store).get(root, tmp_path / "dest", limits=SMALL)
        with pytest.raises(StreamError) as streamed:
            for _ in decode_tree(encode_tree(tree_entries(dag.store, root, limits=SMALL)), limits=SMALL):
                pass
        chunks: list[bytes] = []
        with pytest.raises(JzfsError) as tarred:
            for chunk in tar_stream(dag.store, root, "top", limits=SMALL):
                chunks.append(chunk)
        assert word in str(offline.value), (case, offline.value)
        assert str(streamed.value) == str(tarred.value) == str(offline.value), case
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks) + b"\0" * 1024)) as tf:
            names = tf.getnames()  # what was sent before the refusal: no name twice, nothing unsafe
        assert len(names) == len(set(names)), (case, names)


CLI_CASES = ["symlink-then-dir", "duplicate-files", "name-dotdot"]


def test_hostile_trees_refused_offline_and_through_daemon(jzfs_daemon: dict, tmp_path: Path) -> None:
    work = tmp_path / "work"
    outside = work / "outside"
    outside.mkdir(parents=True)
    offline_repo = tmp_path / "offline"
    offline_env = {**os.environ, "JZFS_PATH": str(offline_repo)}
    for case, (dag, root, word) in _refused_trees(outside).items():
        if case not in CLI_CASES:
            continue
        _store(Path(jzfs_daemon["repo"]), dag)
        _store(offline_repo, dag)
        errors = {}
        for mode, env in (("daemon", jzfs_daemon["env"]), ("offline", offline_env)):
            dest = work / "dest"
            r = _jzfs(env, work, "get", str(root), "-o", str(dest))
            assert r.returncode == 1, (case, mode, r.stdout, r.stderr)
            assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, (case, mode, r.stderr)
            assert word in r.stderr, (case, mode, r.stderr)
            _check_nothing_written(work, outside, dest)
            errors[mode] = r.stderr
        assert errors["daemon"] == errors["offline"], case


def _kept_trees() -> tuple[DagBuilder, dict[str, CID]]:
    dag = DagBuilder()
    trees = {
        "symlinks": dag.directory({"etc": dag.symlink("/etc"), "up": dag.symlink("../../x"),
                                   "file": dag.raw(b"data"), "sub": dag.directory({"self": dag.symlink(".")})}),
        "root-symlink": dag.symlink("/etc/passwd"),
        "root-relative-symlink": dag.symlink("../outside"),
        "hamt": dag.hamt({f"f{i}": dag.raw(b"%d" % i) for i in range(40)}, fanout=16),
    }
    return dag, trees


def _snapshot(path: Path) -> dict[str, object]:
    if path.is_symlink():
        return {"": ("link", os.readlink(path))}
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(path))
            out[rel] = ("link", os.readlink(p)) if p.is_symlink() else ("dir",) if p.is_dir() else p.read_bytes()
    return out


def test_symlinks_recreated_alike_offline_and_through_daemon(jzfs_daemon: dict, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "outside").mkdir(parents=True)
    dag, trees = _kept_trees()
    offline_repo = tmp_path / "offline"
    _store(Path(jzfs_daemon["repo"]), dag)
    _store(offline_repo, dag)
    for case, root in trees.items():
        got = {}
        for mode, env in (("daemon", jzfs_daemon["env"]),
                          ("offline", {**os.environ, "JZFS_PATH": str(offline_repo)})):
            dest = work / f"{case}-{mode}"
            r = _jzfs(env, work, "get", str(root), "-o", str(dest))
            assert r.returncode == 0 and r.stderr == "", (case, mode, r.stderr)
            got[mode] = _snapshot(dest)
        assert got["daemon"] == got["offline"], case
    assert _snapshot(work / "symlinks-offline")["etc"] == ("link", "/etc")
    assert _snapshot(work / "symlinks-offline")["up"] == ("link", "../../x")
    assert os.readlink(work / "root-symlink-daemon") == "/etc/passwd"
    assert list((work / "outside").iterdir()) == []


def _signed_commit(node: Node, root: CID) -> CID:
    ident = node.repo.identity
    commit = signing.sign(Commit(root, (), Author("t", ident.peer_id, None), "hostile", 1), ident)
    return node.versioning.store_object(commit)


def test_checkout_refuses_hostile_trees_like_get(tmp_path: Path) -> None:
    work = tmp_path / "work"
    outside = work / "outside"
    outside.mkdir(parents=True)
    repo = tmp_path / "repo"
    env = {**os.environ, "JZFS_PATH": str(repo)}
    for case, (dag, root, word) in _refused_trees(outside).items():
        if case not in CLI_CASES:
            continue
        _store(repo, dag)
        with Node.open(repo) as node:
            commit = _signed_commit(node, root)
        dest = work / "dest"
        r = _jzfs(env, work, "checkout", str(commit), "-o", str(dest))
        assert r.returncode == 1, (case, r.stdout, r.stderr)
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1 and word in r.stderr, (case, r.stderr)
        get = _jzfs(env, work, "get", str(root), "-o", str(dest))
        assert get.stderr == r.stderr, case  # one writer, one message
        _check_nothing_written(work, outside, dest)


def test_checkout_of_a_1200_deep_tree(tmp_path: Path) -> None:
    from jiaozi_node.node.tree_writer import remove_entry

    dag = DagBuilder()
    a = _deep(dag, 1200)
    repo = tmp_path / "repo"
    _store(repo, dag)
    with Node.open(repo) as node:
        ca = _signed_commit(node, a)
    env = {**os.environ, "JZFS_PATH": str(repo)}
    r = _jzfs(env, tmp_path, "checkout", str(ca), "-o", str(tmp_path / "deep"))
    assert r.returncode == 0, r.stderr
    fd = os.open(tmp_path / "deep", os.O_RDONLY | os.O_DIRECTORY)
    try:  # walk down by descriptors: the full path is longer than most tools like
        for _ in range(1199):
            nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        leaf = os.open("leaf.txt", os.O_RDONLY, dir_fd=fd)
        assert os.read(leaf, 100) == b"bottom"
        os.close(leaf)
    finally:
        os.close(fd)
        top = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        try:  # shutil.rmtree (pytest's cleanup) recurses per level on Python 3.11
            remove_entry(top, "deep")
        finally:
            os.close(top)


# ------------------------------------------------------------------ generated hostile trees


_NAMES = st.sampled_from(["a", "b", "a", "..", ".", "", "x/y", "c\0", "é", "l"])
_TARGETS = st.sampled_from(["/etc", "../../x", "a", ".", "../outside", "b/../.."])


def _node(draw_tree: dict, dag: DagBuilder) -> CID:
    kind = draw_tree["kind"]
    if kind == "file":
        return dag.raw(draw_tree["data"])
    if kind == "symlink":
        return dag.symlink(draw_tree["target"])
    return _dir(dag, [(name, _node(child, dag)) for name, child in draw_tree["children"]])


_trees = st.recursive(
    st.one_of(st.fixed_dictionaries({"kind": st.just("file"), "data": st.binary(max_size=20)}),
              st.fixed_dictionaries({"kind": st.just("symlink"), "target": _TARGETS})),
    lambda inner: st.fixed_dictionaries({"kind": st.just("dir"),
                                         "children": st.lists(st.tuples(_NAMES, inner), max_size=4)}),
    max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_trees)
def test_generated_trees_written_alike_or_refused_alike(tmp_path: Path, tree: dict) -> None:
    from jiaozi_node.errors import JzfsError
    from jiaozi_node.node.files_read import FilesReader
    from jiaozi_node.node.tree_writer import remove_entry

    dag = DagBuilder()
    root = _node(tree, dag)
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    outside = work / "outside"
    outside.mkdir()
    outcome = {}
    for mode, run in (("offline", lambda d: FilesReader(dag.store).get(root, d, limits=SMALL)),
                      ("daemon", lambda d: _daemon_path(dag.store, root, d))):
        dest = work / mode
        try:
            run(dest)
            outcome[mode] = ("ok", _snapshot(dest))
        except JzfsError as exc:
            assert not dest.exists() and not dest.is_symlink()
            outcome[mode] = ("refused", str(exc))
        assert list(outside.iterdir()) == []
        assert {p.name for p in work.iterdir()} <= {"outside", "offline", "daemon"}  # no temp dirs
    assert outcome["daemon"] == outcome["offline"]
    fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in ("offline", "daemon", "outside"):
            remove_entry(fd, name)
    finally:
        os.close(fd)
