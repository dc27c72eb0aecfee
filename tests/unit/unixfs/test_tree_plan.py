"""unixfs/tree_plan.py: the name, order, duplicate and depth checks every tree writer applies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaozi_node.config import TreeLimits
from jiaozi_node.errors import InvalidInput, LimitExceeded
from jiaozi_node.unixfs.tree_plan import TreePlan, name_problem


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/", "a\0b", "..\\x", "x" * 256, "é" * 128])
def test_unsafe_names(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["...", "a b", "naïve.txt", ".hidden", "x" * 255, "é" * 127, "\x1b[31m"])
def test_safe_names(name: str) -> None:
    assert name_problem(name) is None


@given(st.text(min_size=1, max_size=300))
def test_name_problem_matches_what_one_component_on_disk_is(name: str) -> None:
    # A name is accepted exactly when it is one non-special path component that fits NAME_MAX.
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        size = None
    ok = (name not in (".", "..") and not any(c in name for c in "/\\\0")
          and size is not None and size <= 255)
    assert (name_problem(name) is None) == ok


def test_order_and_closes() -> None:
    p = TreePlan()
    assert p.place((), "directory") == 0
    assert p.place(("a",), "directory") == 0
    assert p.place(("a", "b"), "directory") == 0
    assert p.place(("a", "b", "f"), "file") == 0
    assert p.place(("c",), "symlink") == 2  # close b and a
    assert p.place(("d",), "directory") == 0
    assert p.depth == 1


def test_duplicates_refused_per_directory() -> None:
    p = TreePlan()
    p.place((), "directory")
    p.place(("a",), "symlink")
    with pytest.raises(InvalidInput, match="duplicate name 'a' in the root directory"):
        p.place(("a",), "directory")
    p.place(("d",), "directory")
    p.place(("d", "a"), "file")  # same name, another directory: fine
    with pytest.raises(InvalidInput, match="duplicate name 'a' in directory d"):
        p.place(("d", "a"), "file")


def test_closed_directory_cannot_be_reopened() -> None:
    p = TreePlan()
    p.place((), "directory")
    p.place(("a",), "directory")
    p.place(("b",), "file")
    with pytest.raises(InvalidInput, match="out of order"):
        p.place(("a", "late"), "file")
    with pytest.raises(InvalidInput, match="out of order"):
        p.place(("nope", "x"), "file")


def test_root_rules() -> None:
    p = TreePlan()
    p.place((), "file")
    with pytest.raises(InvalidInput, match="not a directory"):
        p.place(("x",), "file")
    with pytest.raises(InvalidInput, match="second root"):
        p.place((), "file")
    with pytest.raises(InvalidInput, match="not a directory"):
        TreePlan().place(("x",), "file")  # no root at all
    with pytest.raises(InvalidInput, match="cannot write a hamt"):
        TreePlan().place((), "hamt")


def test_depth_limit_names_itself() -> None:
    p = TreePlan(TreeLimits(max_tree_depth=3))
    p.place((), "directory")
    for path in (("a",), ("a", "b"), ("a", "b", "c")):
        p.place(path, "directory")
    p.place(("a", "b", "c", "file"), "file")  # files at the last level are fine
    with pytest.raises(LimitExceeded, match="TreeLimits.max_tree_depth"):
        p.place(("a", "b", "c", "d"), "directory")


def test_symlink_targets() -> None:
    p = TreePlan(TreeLimits(max_symlink_target_bytes=10))
    p.check_symlink_target(("l",), "/etc")
    p.check_symlink_target(("l",), "../../x")
    for bad in ("", "a\0b", "x" * 11):
        with pytest.raises(InvalidInput):
            p.check_symlink_target(("l",), bad)


names = st.sampled_from(["a", "b", "..", "", "c/d", "e"])


@given(st.lists(st.tuples(st.lists(names, max_size=3).map(tuple),
                          st.sampled_from(["file", "directory", "symlink"])), max_size=12))
def test_accepted_sequences_have_unique_safe_paths(entries: list) -> None:
    # Whatever arrives: what is accepted has unique paths, made of safe names, under open dirs.
    p = TreePlan()
    accepted: dict[tuple[str, ...], str] = {}
    for path, kind in [((), "directory"), *entries]:
        try:
            p.place(path, kind)
        except (InvalidInput, LimitExceeded):
            continue
        assert path not in accepted
        assert all(name_problem(n) is None for n in path)
        assert path == () or accepted.get(path[:-1]) == "directory"
        accepted[path] = kind


def test_run_nested_has_no_recursion_limit_but_the_tree_limit() -> None:
    from jiaozi_node.unixfs.tree_plan import run_nested

    def depth_of(n: int):
        if n == 0:
            return 0
        below = yield depth_of(n - 1)
        return below + 1

    assert run_nested(depth_of(5000), max_depth=6000) == 5000  # far past sys.getrecursionlimit()
    with pytest.raises(LimitExceeded, match="TreeLimits.max_tree_depth"):
        run_nested(depth_of(100), max_depth=50)
    closed = []

    def failing(n: int):
        try:
            if n == 0:
                raise InvalidInput("bottom")
            yield failing(n - 1)
        finally:
            closed.append(n)

    with pytest.raises(InvalidInput, match="bottom"):
        run_nested(failing(10))
    assert sorted(closed) == list(range(11))  # every suspended level cleaned up
