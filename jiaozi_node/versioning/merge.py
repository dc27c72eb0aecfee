"""Three-way merge of dataset trees at path level (pure, over a block getter and a dir builder).

For every entry name in base / ours / theirs:

* same CID on both sides → kept (including "deleted on both");
* changed on one side only (the other equals base) → that side wins;
* a directory changed on both sides → merged recursively (against the base directory, or an empty
  one if the base had no directory there);
* anything else (file changed differently on both sides, modify/delete, add/add, file vs dir) is a
  CONFLICT. Without a strategy, conflicts are reported and nothing is decided; with
  `strategy="ours"|"theirs"` that side's entry (possibly "deleted") is taken, and the conflict is
  still listed so the caller can tell the user.

Directories that differ from both sides are rebuilt with `build_dir(entries) -> Link`, which the
adapter implements with the importer's `build_directory` (plain or HAMT, as the profile decides)
and which may buffer the new blocks until the merge is known to succeed. Untouched subtrees are
reused by CID, so the cost grows with the change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..ipld.cid import CID
from .tree import DIR, Getter, Link, kind_of, list_dir

BuildDir = Callable[[dict[str, Link]], Link]


@dataclass
class MergeResult:
    root: Link
    conflicts: list[str] = field(default_factory=list)


def merge_trees(get: Getter, base: CID | None, ours: CID, theirs: CID, *, build_dir: BuildDir,
                strategy: str | None = None, root_tsize: int = 0) -> MergeResult:
    """Merge root directories `ours` and `theirs` against `base` (None: no common ancestor)."""
    if strategy not in (None, "ours", "theirs"):
        raise InvalidInput(f"unknown merge strategy {strategy!r} (ours | theirs)")
    m = _Merger(get, build_dir, strategy)
    root = m.merge_dir(base, Link(ours, root_tsize), Link(theirs, root_tsize), "")
    return MergeResult(root, m.conflicts)


class _Merger:
    def __init__(self, get: Getter, build_dir: BuildDir, strategy: str | None) -> None:
        self.get = get
        self.build_dir = build_dir
        self.strategy = strategy
        self.conflicts: list[str] = []

    def merge_dir(self, base: CID | None, ours: Link, theirs: Link, prefix: str) -> Link:
        if ours.cid == theirs.cid:
            return ours
        if base == ours.cid:
            return theirs
        if base == theirs.cid:
            return ours
        eb = list_dir(self.get, base) if base is not None else {}
        eo = list_dir(self.get, ours.cid)
        et = list_dir(self.get, theirs.cid)
        merged: dict[str, Link] = {}
        for name in sorted(eb.keys() | eo.keys() | et.keys()):
            result = self.merge_entry(eb.get(name), eo.get(name), et.get(name), prefix + name)
            if result is not None:
                merged[name] = result
        if merged == eo:
            return ours
        if merged == et:
            return theirs
        return self.build_dir(merged)

    def _is_dir(self, link: Link | None) -> bool:
        return link is not None and kind_of(self.get, link.cid) == DIR

    def merge_entry(self, b: Link | None, o: Link | None, t: Link | None, path: str) -> Link | None:
        cb = b.cid if b else None
        co = o.cid if o else None
        ct = t.cid if t else None
        if co == ct:
            return o
        if cb == co:
            return t
        if cb == ct:
            return o
        if o is not None and t is not None and self._is_dir(o) and self._is_dir(t):
            base_dir = cb if self._is_dir(b) else None
            return self.merge_dir(base_dir, o, t, path + "/")
        self.conflicts.append(path)
        return o if self.strategy == "ours" else t
