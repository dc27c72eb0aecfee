"""Hostile UnixFS trees through every writer: offline `jzfs get`, `jzfs get` through a daemon and
`jzfs checkout` (issue 9, defects 1-2). The blocks are built by hand (dag-pb), stored in the repo,
and the same command is run with and without a daemon: both must refuse or write the same thing,
and nothing may appear outside DEST."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.cid import CID, DAG_PB
from jiaozi_node.node.core import Node
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder


def _store(repo: Path, dag: DagBuilder) -> None:
    with Node.open(repo) as node:
        for cid in dag.store.cids():
            node.blocks.put(cid, dag.store.get(cid))


def _dir(dag: DagBuilder, links: list[tuple[str, CID]]) -> CID:
    """A plain UnixFS directory with links exactly as given (duplicates, any order)."""
    return dag.raw_node(dagpb.PBNode(tuple(dagpb.PBLink(c, n, 1) for n, c in links), pb.DIRECTORY_DATA))


def _jzfs(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _trees(outside: Path) -> dict[str, tuple[DagBuilder, CID]]:
    trees = {}
    # symlink `a` -> a sibling of DEST, then a directory `a` holding a file: the CVE-2025-4517 shape
    dag = DagBuilder()
    evil = dag.directory({"pwned.txt": dag.raw(b"pwned")})
    trees["symlink-then-dir"] = dag, _dir(dag, [("a", dag.symlink(str(outside))), ("a", evil)])
    dag = DagBuilder()
    evil = dag.directory({"pwned.txt": dag.raw(b"pwned")})
    trees["relative-symlink-then-dir"] = dag, _dir(dag, [("a", dag.symlink("../outside")), ("a", evil)])
    dag = DagBuilder()
    trees["duplicate-files"] = dag, _dir(dag, [("f", dag.raw(b"first")), ("f", dag.raw(b"second"))])
    dag = DagBuilder()
    trees["symlink-then-file"] = dag, _dir(dag, [("a", dag.symlink(str(outside / "x"))), ("a", dag.raw(b"x"))])
    return trees


REFUSED = ["symlink-then-dir", "relative-symlink-then-dir", "duplicate-files", "symlink-then-file"]


@pytest.fixture
def daemon_env(jzfs_daemon: dict) -> dict:
    return jzfs_daemon


def _run_get(env: dict, cwd: Path, root: CID, dest: Path) -> subprocess.CompletedProcess:
    return _jzfs(env, cwd, "get", str(root), "-o", str(dest))


@pytest.mark.parametrize("case", REFUSED)
def test_hostile_tree_refused_offline_and_through_daemon(case: str, jzfs_daemon: dict, tmp_path: Path) -> None:
    work = tmp_path / "work"
    outside = work / "outside"
    outside.mkdir(parents=True)
    dag, root = _trees(outside)[case]
    _store(Path(jzfs_daemon["repo"]), dag)
    offline_repo = tmp_path / "offline"
    _store(offline_repo, dag)
    results = {}
    for mode, env in (("daemon", jzfs_daemon["env"]),
                      ("offline", {**os.environ, "JZFS_PATH": str(offline_repo)})):
        dest = work / f"dest-{mode}"
        r = _run_get(env, work, root, dest)
        assert r.returncode == 1, (mode, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
        assert not dest.exists() and not dest.is_symlink()
        assert list(outside.iterdir()) == []
        assert sorted(p.name for p in work.iterdir()) == ["outside"]  # no temp dirs left either
        results[mode] = r.stderr
    assert results["daemon"] == results["offline"]
