"""Walking a whole UnixFS tree (pure), for `get`, `checkout` and anything that copies a tree out.

Entries come pre-order (a directory before its contents), children in link order (HAMT shards in
shard order), with no Python recursion however deep the tree. Every link name is checked before it
is yielded (`tree_plan.name_problem`: `..`, `.`, empty, `/`, `\\`, NUL, longer than NAME_MAX), then
placed in a `tree_plan.TreePlan` (a name used twice in one directory, e.g. the issue-9 symlink `a`
followed by a directory `a`, is refused), and nesting deeper than TreeLimits.max_tree_depth stops
the walk with an error naming that limit. This is the one walker of every tree producer (offline
`get`, the daemon's tree stream and RPC tar, the web UI's tar, `checkout`), so they all refuse the
same trees with the same words.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..config import TREE_LIMITS, TreeLimits
from ..errors import InvalidInput
from ..ipld.cid import CID
from .exporter import entry_type, list_node
from .exporter_data import BlockGetter, get_node
from .tree_plan import TreePlan, name_problem, too_deep


@dataclass(frozen=True, slots=True)
class WalkItem:
    """One node of a tree: `path` is relative to the walk's root (() for the root itself)."""

    path: tuple[str, ...]
    cid: CID
    type: str  # "file", "directory", "symlink"
    size: int  # file bytes, symlink target length, 0 for directories
    tsize: int = 0  # Tsize recorded by the parent's link (0 for the root)


def check_name(name: str, parent: CID) -> str:
    """Return `name` if it is safe as one filesystem path component, else raise InvalidInput."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidInput(f"refusing unsafe link name {name!r} in directory {parent}: it {problem}")
    return name


def walk(getter: BlockGetter, cid: CID, *, limits: TreeLimits = TREE_LIMITS) -> Iterator[WalkItem]:
    """Yield every file, directory and symlink under `cid` (itself first), pre-order, each one
    checked by a TreePlan before it is yielded (InvalidInput/LimitExceeded for a hostile tree)."""
    max_depth = limits.max_tree_depth
    plan = TreePlan(limits)
    root = get_node(getter, cid)
    kind = entry_type(root)
    size = root.file_size if kind == "file" else len(root.data) if kind == "symlink" else 0
    plan.place((), kind)
    yield WalkItem((), cid, kind, size)
    if kind != "directory":
        return
    # Stack of iterators over directories being listed: content addressing rules out cycles and
    # max_depth bounds the stack; no Python recursion.
    stack: list[tuple[tuple[str, ...], CID, Iterator]] = [((), cid, list_node(getter, root))]
    while stack:
        prefix, dir_cid, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        path = (*prefix, check_name(entry.name, dir_cid))
        if entry.type == "directory" and len(path) > max_depth:
            raise too_deep(len(path), max_depth)
        plan.place(path, entry.type)
        yield WalkItem(path, entry.cid, entry.type, entry.size, entry.tsize)
        if entry.type == "directory":
            stack.append((path, entry.cid, list_node(getter, get_node(getter, entry.cid))))
