"""Trickle layout: same tree as a direct port of boxo's fillTrickleRec; recorded Helia CIDs
(Helia run with boxo's semantics: Raw-type leaves, no single-leaf collapse)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.unixfs.importer import import_bytes


def _load_shape():  # tests/ is not a package (importlib import mode): load the helper by path
    import importlib.util

    spec = importlib.util.spec_from_file_location("jzfs_unixfs_dagshape", Path(__file__).with_name("_dagshape.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shape


shape = _load_shape()

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "add_vectors.json"


def boxo_trickle(leaves: list[bytes], max_links: int, repeat: int = 4) -> Any:
    it = iter(leaves)
    pending: list[bytes] = []

    def done() -> bool:
        if pending:
            return False
        try:
            pending.append(next(it))
        except StopIteration:
            return True
        return False

    def take() -> bytes:
        done()
        return pending.pop()

    def fill(max_depth: int) -> list[Any]:
        node: list[Any] = []
        while len(node) < max_links and not done():
            node.append(take())
        depth = 1
        while max_depth == -1 or depth < max_depth:
            if done():
                break
            r = 0
            while r < repeat and not done():
                node.append(fill(depth))
                r += 1
            depth += 1
        return node

    return fill(-1)


@pytest.mark.parametrize("max_links", [2, 3])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 11, 12, 13, 30, 31, 64, 100])
def test_same_tree_as_boxo(max_links: int, n: int) -> None:
    payload = bytes(i % 256 for i in range(n))
    profile = UNIXFS_V0_2015.with_overrides(chunker="size-1", max_links=max_links, layout="trickle")
    for raw in (False, True):
        root, blocks, link = import_bytes(payload, profile.with_overrides(raw_leaves=raw))
        leaves = [payload[i : i + 1] for i in range(n)]
        got = shape(root, blocks)
        assert got == boxo_trickle(leaves, max_links)
        assert link.filesize == n


def test_empty_file_is_a_node_not_a_leaf() -> None:
    p = UNIXFS_V0_2015.with_overrides(layout="trickle")
    assert str(import_bytes(b"", p)[0]) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    # CIDv1 + raw leaves: still the dag-pb empty File node, not the empty raw block.
    assert str(import_bytes(b"", p.with_overrides(cid_version=1))[0]) == (
        "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y")


def test_dag_pb_leaves_are_type_raw() -> None:
    from jiaozi_node.ipld import dagpb
    from jiaozi_node.unixfs import pb

    p = UNIXFS_V0_2015.with_overrides(layout="trickle")
    root, blocks, _ = import_bytes(b"abc", p)
    leaf = next(b for b in blocks if b.cid != root)
    fs = pb.decode(dagpb.decode(leaf.data).data or b"")
    assert fs.type == pb.DataType.Raw and fs.data == b"abc"


@pytest.mark.parametrize("n", ["1", "262144", "262145", "2883591", "52428803"])
def test_recorded_helia_vectors(n: str) -> None:
    vec = json.loads(VECTORS.read_text())["trickle"][n]
    payload = hashlib.shake_128(b"jzfs-vectors-v1").digest(int(n))
    p = UNIXFS_V0_2015.with_overrides(layout="trickle")
    assert str(import_bytes(payload, p)[0]) == vec["v0"]
    assert str(import_bytes(payload, p.with_overrides(cid_version=1))[0]) == vec["kubo_v1"]
