"""TreeBuilder: paths in, Kubo's directory DAG and output order out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipld.cid import CID
from jiaozi_node.unixfs.importer import import_bytes
from jiaozi_node.unixfs.tree import TreeBuilder, split_path

TREE = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "kubo_vectors.json").read_text())["tree"]


def content(n: int) -> bytes:
    return hashlib.shake_128(b"jzfs-vectors-v1").digest(n)


def test_vector_tree_and_order() -> None:
    tb = TreeBuilder(UNIXFS_V0_2015)
    files = {"a.txt": b"hello\n", "b.bin": content(1000), "sub/c.txt": b"ipfs\n",
             "sub/deeper/d.bin": content(300000), "sub/empty": b""}
    for path, data in reversed(list(files.items())):  # insertion order does not matter
        cid, _, link = import_bytes(data, UNIXFS_V0_2015)
        tb.add_file(path, cid, link.tsize)
    tb.add_dir("emptydir")
    dirs, blocks = tb.finish()
    assert [p for p, _, _ in dirs] == ["emptydir", "sub/deeper", "sub", ""]
    got = {p: str(c) for p, c, _ in dirs}
    assert got["sub"] == TREE["sub"] and got["sub/deeper"] == TREE["sub/deeper"]
    assert got["emptydir"] == TREE["emptydir"] and got[""] == TREE["root_cid_v0"]
    assert {b.cid for b in blocks} >= {c for _, c, _ in dirs}


def test_empty_root() -> None:
    dirs, _ = TreeBuilder(UNIXFS_V0_2015).finish()
    assert str(dirs[-1][1]) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"


def test_conflicts() -> None:
    tb = TreeBuilder(UNIXFS_V0_2015)
    tb.add_file("a/b", CID.of(b""), 0)
    with pytest.raises(InvalidInput):
        tb.add_file("a/b/c", CID.of(b""), 0)
    with pytest.raises(InvalidInput):
        tb.add_file("a", CID.of(b""), 0)
    with pytest.raises(InvalidInput):
        tb.add_file("", CID.of(b""), 0)


def test_split_path() -> None:
    assert split_path("./a//b/") == ["a", "b"]
    with pytest.raises(InvalidInput):
        split_path("a/../b")
