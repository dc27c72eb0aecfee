"""Planning the write of a tree to disk (pure): which names are safe, in which order entries may
come, and when a tree is too deep. The filesystem half is `node/tree_writer.py`; every writer of
trees (`jzfs get` offline and through a daemon, `jzfs checkout`) goes through both.

    plan = TreePlan()
    plan.place((), "directory")            # the root (the destination itself)
    plan.place(("a",), "directory")        # -> 0: nothing to close first
    plan.place(("a", "x"), "file")         # -> 0
    plan.place(("b",), "symlink")          # -> 1: close directory a first
    plan.place(("a",), "file")             # InvalidInput: duplicate name 'a'

Entries come pre-order (a directory before its contents) and a directory's entries before its
next sibling's: exactly what a DAG walk or a tar stream of one yields. A name is refused once,
here, whatever the source: empty, `.`, `..`, containing `/`, `\\` or NUL, longer than a
filesystem name may be (NAME_MAX), or already used in the same directory (the first `a` could be
a symlink that a second `a` would write through). Depth is bounded (TreeLimits.max_tree_depth).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..config import TREE_LIMITS, TreeLimits
from ..errors import InvalidInput, LimitExceeded

DIRECTORY = "directory"
FILE = "file"
SYMLINK = "symlink"
KINDS = (DIRECTORY, FILE, SYMLINK)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One node of a tree to write (`node/tree_writer.write_tree`) or to stream (`api/tree_stream`).
    `path` is relative to the root (() is the root itself); files carry `data` (an iterable of
    byte chunks, consumed once, in order), symlinks their `target`."""

    path: tuple[str, ...]
    kind: str  # "directory" | "file" | "symlink"
    data: Iterable[bytes] | None = None
    target: str | None = None


def name_problem(name: str, *, max_bytes: int = TREE_LIMITS.max_name_bytes) -> str | None:
    """Why `name` cannot be one path component on disk, or None if it can."""
    if name in ("", ".", ".."):
        return "is empty, '.' or '..'"
    if "/" in name or "\0" in name or "\\" in name:
        return "contains '/', '\\\\' or NUL"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if size > max_bytes:
        return f"is longer than {max_bytes} bytes (TreeLimits.max_name_bytes)"
    return None


def too_deep(depth: int, limit: int) -> LimitExceeded:
    """The one error for a tree nested deeper than TreeLimits.max_tree_depth."""
    return LimitExceeded(f"tree nested deeper than {limit} directory levels (depth {depth}); "
                         "refusing (limit: TreeLimits.max_tree_depth)")


def display(path: tuple[str, ...]) -> str:
    return "/".join(path) if path else "the root"


def _where(parent: tuple[str, ...]) -> str:
    return f"directory {'/'.join(parent)}" if parent else "the root directory"


class TreePlan:
    """Checks each entry of a tree as it arrives; `place` returns how many open directories the
    writer must close before creating it (pre-order: the parent is always open)."""

    def __init__(self, limits: TreeLimits = TREE_LIMITS) -> None:
        self.limits = limits
        self._open: list[str] = []  # names of the open directories below the root
        self._names: list[set[str]] = []  # names used so far in each open directory (root first)
        self._root: str | None = None  # kind of the root, once placed

    @property
    def depth(self) -> int:
        """Open directories below the root."""
        return len(self._open)

    def place(self, path: tuple[str, ...], kind: str) -> int:
        if kind not in KINDS:
            raise InvalidInput(f"{display(path)}: cannot write a {kind} node")
        if not path:
            if self._root is not None:
                raise InvalidInput("the tree has a second root entry")
            self._root = kind
            if kind == DIRECTORY:
                self._names.append(set())
            return 0
        if self._root != DIRECTORY:
            raise InvalidInput(f"{display(path)}: an entry below a root that is not a directory")
        parent = path[:-1]
        n = len(parent)
        if n > len(self._open) or tuple(self._open[:n]) != parent:
            raise InvalidInput(f"{display(path)}: its directory is not open here (entries out of order)")
        closes = len(self._open) - n
        del self._open[n:]
        del self._names[n + 1:]
        name = path[-1]
        problem = name_problem(name, max_bytes=self.limits.max_name_bytes)
        if problem is not None:
            raise InvalidInput(f"refusing unsafe name {name!r} in {_where(parent)}: it {problem}")
        used = self._names[-1]
        if name in used:
            raise InvalidInput(f"refusing duplicate name {name!r} in {_where(parent)} "
                               "(a second entry could write through the first)")
        used.add(name)
        if kind == DIRECTORY:
            if len(path) > self.limits.max_tree_depth:
                raise too_deep(len(path), self.limits.max_tree_depth)
            self._open.append(name)
            self._names.append(set())
        return closes

    def check_symlink_target(self, path: tuple[str, ...], target: str) -> None:
        """Symlinks are recreated as they are (never followed), but the target must be
        something symlink(2) can store."""
        if not target or "\0" in target:
            raise InvalidInput(f"symlink {display(path)}: empty target or target with NUL")
        if len(target.encode("utf-8", "surrogateescape")) > self.limits.max_symlink_target_bytes:
            raise InvalidInput(f"symlink {display(path)}: target longer than "
                               f"{self.limits.max_symlink_target_bytes} bytes "
                               "(TreeLimits.max_symlink_target_bytes)")


def run_nested(gen: Generator[Generator[Any, Any, Any], Any, T], *,
               max_depth: int = TREE_LIMITS.max_tree_depth) -> T:
    """Run a recursive tree algorithm without Python recursion.

    `gen` is a generator written like the recursive function, except that where it would call
    itself it does `result = yield sub_generator`; it returns its value with `return`. The
    generators are driven from an explicit stack, so a directory nested 2000 levels deep costs
    2000 suspended generators, not 2000 interpreter frames (Python's limit is ~1000). Nesting
    beyond `max_depth` raises LimitExceeded naming TreeLimits.max_tree_depth.
    """
    stack: list[Generator[Any, Any, Any]] = [gen]
    value: Any = None
    try:
        while True:
            try:
                sub = stack[-1].send(value)
            except StopIteration as stop:
                stack.pop()
                if not stack:
                    return stop.value  # type: ignore[no-any-return]
                value = stop.value
                continue
            if len(stack) > max_depth:
                sub.close()
                raise too_deep(len(stack), max_depth)
            stack.append(sub)
            value = None
    finally:
        for g in reversed(stack):
            g.close()
