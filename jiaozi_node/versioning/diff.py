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

from ..ipld.cid import CID
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


def diff_trees(get: Getter, a: CID, b: CID) -> list[Change]:
    """Changes that turn tree `a` into tree `b`, sorted by path."""
    out: list[Change] = []
    if a != b:
        _diff_dirs(get, a, b, "", out)
    out.sort(key=lambda c: c.path)
    return out


def _full(get: Getter, node: DirNode) -> dict[str, Link]:
    entries = dict(node.entries)
    for shard in node.shards.values():
        entries.update(list_dir(get, shard))
    return entries


def _diff_dirs(get: Getter, a: CID, b: CID, prefix: str, out: list[Change]) -> None:
    na, nb = read_dir_node(get, a), read_dir_node(get, b)
    if na.hamt and nb.hamt and na.fanout == nb.fanout:
        _diff_hamt(get, na, nb, prefix, out)
    else:
        _diff_entries(get, _full(get, na), _full(get, nb), prefix, out)


def _diff_hamt(get: Getter, na: DirNode, nb: DirNode, prefix: str, out: list[Change]) -> None:
    slots = set(na.shards) | set(na.entry_slots) | set(nb.shards) | set(nb.entry_slots)
    for slot in sorted(slots):
        sa, sb = na.shards.get(slot), nb.shards.get(slot)
        if sa is not None and sb is not None:
            if sa != sb:
                _diff_hamt(get, read_dir_node(get, sa), read_dir_node(get, sb), prefix, out)
            continue
        _diff_entries(get, hamt_slot_entries(get, na, slot), hamt_slot_entries(get, nb, slot), prefix, out)


def _all(get: Getter, cid: CID, path: str, change: str, out: list[Change]) -> None:
    kind = kind_of(get, cid)
    if kind != DIR:
        out.append(Change(path, change, cid if change == REMOVED else None, cid if change == ADDED else None))
        return
    found = False
    for sub, c, _k in walk_files(get, cid, path + "/"):
        found = True
        out.append(Change(sub, change, c if change == REMOVED else None, c if change == ADDED else None))
    if not found:
        out.append(Change(path + "/", change, cid if change == REMOVED else None, cid if change == ADDED else None))


def _diff_entries(get: Getter, ea: dict[str, Link], eb: dict[str, Link], prefix: str,
                  out: list[Change]) -> None:
    for name in sorted(ea.keys() | eb.keys()):
        x, y = ea.get(name), eb.get(name)
        if x is not None and y is not None and x.cid == y.cid:
            continue
        path = prefix + name
        if x is None:
            assert y is not None
            _all(get, y.cid, path, ADDED, out)
        elif y is None:
            _all(get, x.cid, path, REMOVED, out)
        else:
            kx, ky = kind_of(get, x.cid), kind_of(get, y.cid)
            if kx == DIR and ky == DIR:
                _diff_dirs(get, x.cid, y.cid, path + "/", out)
            elif kx == DIR or ky == DIR:
                _all(get, x.cid, path, REMOVED, out)
                _all(get, y.cid, path, ADDED, out)
            else:
                out.append(Change(path, MODIFIED, x.cid, y.cid))


def stat(changes: Iterable[Change]) -> dict[str, int]:
    """Counts per kind of change (for `jzfs diff --stat`)."""
    counts = {ADDED: 0, REMOVED: 0, MODIFIED: 0}
    for c in changes:
        counts[c.change] += 1
    return counts
