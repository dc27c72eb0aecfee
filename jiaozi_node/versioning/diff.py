"""Diff two dataset trees by CID, skipping identical subtrees (pure, over a sync block getter).

Cost grows with the change, not with the dataset: two directories with the same CID are never
opened; inside two HAMT-sharded directories with the same fanout, shards with the same CID are
skipped slot by slot, so a change in a 100 000-entry directory reads a handful of shard blocks.
A child's kind (file/directory) is read only when both sides have it with different CIDs.

Paths are relative to the dataset root, `/`-separated. Files and symlinks are reported; an empty
directory that appears or disappears is reported as `path/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import TREE_LIMITS
from ..ipld.cid import CID
from ..unixfs.tree_plan import too_deep
from .tree import (
    DIR,
    DirNode,
    Getter,
    Link,
    hamt_slot_entries,
    kind_of,
    list_dir,
    read_dir_node,
    walk_files,
)

ADDED = "added"
REMOVED = "removed"
MODIFIED = "modified"


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    change: str  # ADDED | REMOVED | MODIFIED
    old: CID | None
    new: CID | None

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "change": self.change}


def diff_trees(get: Getter, a: CID, b: CID, *,
               max_depth: int = TREE_LIMITS.max_tree_depth) -> list[Change]:
    """Changes that turn tree `a` into tree `b`, sorted by path.

    Iterative: a work list of directory pairs (and HAMT shard pairs) replaces recursion, so any
    depth up to `max_depth` directories works and deeper raises LimitExceeded naming
    TreeLimits.max_tree_depth."""
    out: list[Change] = []
    if a == b:
        return out
    d = _Differ(get, out, max_depth)
    d.todo.append(("dirs", a, b, "", 0))
    while d.todo:
        task = d.todo.pop()
        if task[0] == "dirs":
            _, x, y, prefix, depth = task
            d.dirs(x, y, prefix, depth)
        else:
            _, na, nb, prefix, depth = task
            d.hamt(na, nb, prefix, depth)
    out.sort(key=lambda c: c.path)
    return out


def _full(get: Getter, node: DirNode) -> dict[str, Link]:
    entries = dict(node.entries)
    for shard in node.shards.values():
        entries.update(list_dir(get, shard))
    return entries


class _Differ:
    def __init__(self, get: Getter, out: list[Change], max_depth: int) -> None:
        self.get, self.out, self.max_depth = get, out, max_depth
        self.todo: list[tuple] = []

    def dirs(self, a: CID, b: CID, prefix: str, depth: int) -> None:
        get = self.get
        na, nb = read_dir_node(get, a), read_dir_node(get, b)
        if na.hamt and nb.hamt and na.fanout == nb.fanout:
            self.hamt(na, nb, prefix, depth)
        else:
            self.entries(_full(get, na), _full(get, nb), prefix, depth)

    def hamt(self, na: DirNode, nb: DirNode, prefix: str, depth: int) -> None:
        get = self.get
        slots = set(na.shards) | set(na.entry_slots) | set(nb.shards) | set(nb.entry_slots)
        for slot in sorted(slots):
            sa, sb = na.shards.get(slot), nb.shards.get(slot)
            if sa is not None and sb is not None:
                if sa != sb:  # a sub-shard: same directory, same depth (shards are finite DAGs)
                    self.todo.append(("hamt", read_dir_node(get, sa), read_dir_node(get, sb), prefix, depth))
                continue
            self.entries(hamt_slot_entries(get, na, slot), hamt_slot_entries(get, nb, slot), prefix, depth)

    def all(self, cid: CID, path: str, change: str, depth: int) -> None:
        get, out = self.get, self.out
        kind = kind_of(get, cid)
        if kind != DIR:
            out.append(Change(path, change, cid if change == REMOVED else None, cid if change == ADDED else None))
            return
        found = False
        for sub, c, _k in walk_files(get, cid, path + "/", max_depth=self.max_depth - depth - 1):
            found = True
            out.append(Change(sub, change, c if change == REMOVED else None, c if change == ADDED else None))
        if not found:
            out.append(Change(path + "/", change, cid if change == REMOVED else None, cid if change == ADDED else None))

    def entries(self, ea: dict[str, Link], eb: dict[str, Link], prefix: str, depth: int) -> None:
        get = self.get
        for name in sorted(ea.keys() | eb.keys()):
            x, y = ea.get(name), eb.get(name)
            if x is not None and y is not None and x.cid == y.cid:
                continue
            path = prefix + name
            if x is None:
                assert y is not None
                self.all(y.cid, path, ADDED, depth)
            elif y is None:
                self.all(x.cid, path, REMOVED, depth)
            else:
                kx, ky = kind_of(get, x.cid), kind_of(get, y.cid)
                if kx == DIR and ky == DIR:
                    if depth + 1 > self.max_depth:
                        raise too_deep(depth + 1, self.max_depth)
                    self.todo.append(("dirs", x.cid, y.cid, path + "/", depth + 1))
                elif kx == DIR or ky == DIR:
                    self.all(x.cid, path, REMOVED, depth)
                    self.all(y.cid, path, ADDED, depth)
                else:
                    self.out.append(Change(path, MODIFIED, x.cid, y.cid))


def stat(changes: Iterable[Change]) -> dict[str, int]:
    """Counts per kind of change (for `jzfs diff --stat`)."""
    counts = {ADDED: 0, REMOVED: 0, MODIFIED: 0}
    for c in changes:
        counts[c.change] += 1
    return counts
