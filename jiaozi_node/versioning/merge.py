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

from ..config import TREE_LIMITS
from ..errors import InvalidInput
from ..ipld.cid import CID
from ..unixfs.tree_plan import too_deep
from .tree import DIR, Getter, Link, kind_of, list_dir

BuildDir = Callable[[dict[str, Link]], Link]


@dataclass
class MergeResult:
    root: Link
    conflicts: list[str] = field(default_factory=list)


def merge_trees(get: Getter, base: CID | None, ours: CID, theirs: CID, *, build_dir: BuildDir,
                strategy: str | None = None, root_tsize: int = 0,
                max_depth: int = TREE_LIMITS.max_tree_depth) -> MergeResult:
    """Merge root directories `ours` and `theirs` against `base` (None: no common ancestor).

    Iterative (an explicit stack of directories being merged), so any depth up to `max_depth`
    directories works; deeper raises LimitExceeded naming TreeLimits.max_tree_depth."""
    if strategy not in (None, "ours", "theirs"):
        raise InvalidInput(f"unknown merge strategy {strategy!r} (ours | theirs)")
    m = _Merger(get, build_dir, strategy, max_depth)
    root = m.merge_dir(base, Link(ours, root_tsize), Link(theirs, root_tsize), "")
    return MergeResult(root, m.conflicts)


def _trivial(base: CID | None, ours: Link, theirs: Link) -> Link | None:
    if ours.cid == theirs.cid:
        return ours
    if base == ours.cid:
        return theirs
    if base == theirs.cid:
        return ours
    return None


class _Frame:
    """One directory being merged: its three listings, the names left, the merged entries."""

    __slots__ = ("ours", "theirs", "prefix", "depth", "eb", "eo", "et", "names", "merged", "pending")

    def __init__(self, get: Getter, base: CID | None, ours: Link, theirs: Link, prefix: str,
                 depth: int) -> None:
        self.ours, self.theirs, self.prefix, self.depth = ours, theirs, prefix, depth
        self.eb = list_dir(get, base) if base is not None else {}
        self.eo = list_dir(get, ours.cid)
        self.et = list_dir(get, theirs.cid)
        self.names = sorted(self.eb.keys() | self.eo.keys() | self.et.keys(), reverse=True)
        self.merged: dict[str, Link] = {}
        self.pending = ""  # the name whose sub-directory is being merged above this frame


class _Merger:
    def __init__(self, get: Getter, build_dir: BuildDir, strategy: str | None, max_depth: int) -> None:
        self.get = get
        self.build_dir = build_dir
        self.strategy = strategy
        self.max_depth = max_depth
        self.conflicts: list[str] = []

    def merge_dir(self, base: CID | None, ours: Link, theirs: Link, prefix: str) -> Link:
        quick = _trivial(base, ours, theirs)
        if quick is not None:
            return quick
        stack = [_Frame(self.get, base, ours, theirs, prefix, 0)]
        while True:
            f = stack[-1]
            if f.names:
                name = f.names.pop()
                sub = self.merge_entry(f.eb.get(name), f.eo.get(name), f.et.get(name), f.prefix + name)
                if isinstance(sub, tuple):  # both sides changed a directory: merge it first
                    sbase, so, st = sub
                    if f.depth + 1 > self.max_depth:
                        raise too_deep(f.depth + 1, self.max_depth)
                    f.pending = name
                    stack.append(_Frame(self.get, sbase, so, st, f.prefix + name + "/", f.depth + 1))
                elif sub is not None:
                    f.merged[name] = sub
                continue
            stack.pop()
            done = f.ours if f.merged == f.eo else f.theirs if f.merged == f.et else self.build_dir(f.merged)
            if not stack:
                return done
            stack[-1].merged[stack[-1].pending] = done

    def _is_dir(self, link: Link | None) -> bool:
        return link is not None and kind_of(self.get, link.cid) == DIR

    def merge_entry(self, b: Link | None, o: Link | None, t: Link | None,
                    path: str) -> Link | None | tuple[CID | None, Link, Link]:
        """The merged entry, or (base dir, ours, theirs) when two directories must be merged."""
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
            quick = _trivial(base_dir, o, t)
            return quick if quick is not None else (base_dir, o, t)
        self.conflicts.append(path)
        return o if self.strategy == "ours" else t
