"""git's `~N`/`^N` suffixes: parsing and the walk over a fake history (pure)."""

from __future__ import annotations

import pytest

from jiaozi_node.config import VERSIONING_LIMITS
from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.versioning.revspec import split_ancestry, walk_ancestry


def test_split_ancestry():
    assert split_ancestry("main") == ("main", ())
    assert split_ancestry("main~") == ("main", ((1, 1),))
    assert split_ancestry("main~3^2^") == ("main", ((1, 3), (2, 1), (1, 1)))
    assert split_ancestry("feature/x^0") == ("feature/x", ((0, 1),))
    assert split_ancestry("~1") == ("~1", ())  # nothing before the suffix: not a suffix
    with pytest.raises(InvalidInput):
        split_ancestry(f"main~{VERSIONING_LIMITS.max_ancestry_steps + 1}")


def test_walk_ancestry_first_and_nth_parents():
    # m is a merge of a (first parent) and b; a -> root, b -> root
    parents = {"m": ("a", "b"), "a": ("root",), "b": ("root",), "root": ()}
    walk = lambda start, spec: walk_ancestry(parents.__getitem__, start, split_ancestry(spec)[1], spec=spec)  # noqa: E731
    assert walk("m", "m~1") == "a" and walk("m", "m^2") == "b" and walk("m", "m^2~1") == "root"
    assert walk("m", "m^0") == "m" and walk("m", "m~2") == "root"
    with pytest.raises(NotFound, match="no parent number 3"):
        walk("m", "m^3")
    with pytest.raises(NotFound, match="past the first commit"):
        walk("m", "m~3")
