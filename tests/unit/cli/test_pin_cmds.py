from __future__ import annotations

import json

import pytest

from jiaozi_node.cli.main import main
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import DAG_PB, RAW
from jiaozi_node.ipld.dagpb import PBLink, PBNode, encode
from jiaozi_node.node.core import Node


@pytest.fixture
def dag(tmp_path, monkeypatch):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    leaves = [Block.create(b"leaf%d" % i, codec=RAW) for i in range(2)]
    root = Block.create(encode(PBNode(links=tuple(PBLink(lf.cid, "", 5) for lf in leaves))), codec=DAG_PB, version=0)
    with Node.open(tmp_path / "r") as node:
        node.blocks.put_many([*leaves, root])
    return root.cid, [lf.cid for lf in leaves], tmp_path / "r"


def test_add_ls_rm(dag, capsys):
    root, leaves, _ = dag
    capsys.readouterr()
    assert main(["pin", "add", str(root)]) == 0
    assert capsys.readouterr().out == f"pinned {root} recursively\n"
    assert main(["pin", "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{root} recursive" and sorted(lines[1:]) == sorted(f"{c} indirect" for c in leaves)
    assert main(["pin", "ls", "--type", "recursive", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"Keys": {str(root): {"Type": "recursive"}}}
    assert main(["pin", "ls", "-q", "-t", "indirect"]) == 0
    assert sorted(capsys.readouterr().out.split()) == sorted(map(str, leaves))
    assert main(["pin", "ls", str(leaves[0])]) == 0
    assert capsys.readouterr().out == f"{leaves[0]} indirect\n"
    assert main(["pin", "verify"]) == 0
    assert main(["pin", "rm", str(root)]) == 0
    capsys.readouterr()
    assert main(["pin", "ls"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["pin", "ls", str(root)]) == 1
    assert "not pinned" in capsys.readouterr().err


def test_direct_pin(dag, capsys):
    root, leaves, _ = dag
    assert main(["pin", "add", "-r=false", str(leaves[0])]) == 0
    capsys.readouterr()
    assert main(["pin", "ls", "--type", "direct"]) == 0
    assert capsys.readouterr().out == f"{leaves[0]} direct\n"


def test_add_incomplete_dag_names_missing_block(dag, capsys):
    root, leaves, path = dag
    with Node.open(path) as node:
        node.blocks.delete(leaves[1])
    assert main(["pin", "add", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and str(leaves[1]) in err


def test_verify_reports_broken_pin(dag, capsys):
    root, leaves, path = dag
    assert main(["pin", "add", str(root)]) == 0
    with Node.open(path) as node:
        node.blocks.delete(leaves[0])
    capsys.readouterr()
    assert main(["pin", "verify"]) == 1
    assert str(leaves[0]) in capsys.readouterr().out
