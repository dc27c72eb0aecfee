"""Balanced layout: same tree as a direct port of boxo's recursive builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.unixfs.importer import import_bytes
from jiaozi_node.unixfs.layout_balanced import BalancedLayout


def _load_shape():  # tests/ is not a package (importlib import mode): load the helper by path
    import importlib.util

    spec = importlib.util.spec_from_file_location("jzfs_unixfs_dagshape", Path(__file__).with_name("_dagshape.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.shape


shape = _load_shape()


def boxo_balanced(leaves: list[bytes], max_links: int) -> Any:
    """boxo balanced.Layout, transcribed: nested lists of leaves."""
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

    def fill(node: list[Any], depth: int) -> list[Any]:
        while len(node) < max_links and not done():
            node.append(take() if depth == 1 else fill([], depth - 1))
        return node

    if done():
        return b""
    root: Any = take()
    depth = 1
    while not done():
        root = fill([root], depth)
        depth += 1
    return root


@pytest.mark.parametrize("max_links", [2, 3, 5])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 8, 9, 10, 26, 27, 28, 40])
def test_same_tree_as_boxo(max_links: int, n: int) -> None:
    payload = bytes(range(n))
    profile = UNIXFS_V0_2015.with_overrides(chunker="size-1", max_links=max_links)
    for raw in (False, True):
        p = profile.with_overrides(raw_leaves=raw)
        root, blocks, link = import_bytes(payload, p)
        leaves = [payload[i : i + 1] for i in range(n)]
        assert shape(root, blocks) == boxo_balanced(leaves, max_links)
        assert link.filesize == n


def test_push_emits_full_nodes_early() -> None:
    from jiaozi_node.unixfs.nodes import raw_leaf

    lay = BalancedLayout(max_links=3, cid_version=1)
    emitted = [len(lay.push(raw_leaf(bytes([i]))[1])) for i in range(9)]
    assert emitted == [0, 0, 1, 0, 0, 1, 0, 0, 2]  # a level-1 node every 3 leaves, level-2 at 9
    root, rest = lay.finish()
    assert rest == [] and root.filesize == 9
