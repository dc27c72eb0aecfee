"""Walking a whole UnixFS tree (pure), for `get` and anything that copies a tree out.

Entries come pre-order (a directory before its contents), children in link order (HAMT shards in
shard order). Every link name is checked before it is yielded: names that could escape the
destination when written to a filesystem (`..`, `.`, empty, containing `/` or NUL) raise
InvalidInput, so a hostile DAG cannot make `jzfs get` write outside its target directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InvalidInput
from ..ipld.cid import CID
from .exporter import entry_type, list_node
from .exporter_data import BlockGetter, get_node


@dataclass(frozen=True, slots=True)
class WalkItem:
    """One node of a tree: `path` is relative to the walk's root (() for the root itself)."""

    path: tuple[str, ...]
    cid: CID
    type: str  # "file", "directory", "symlink"
    size: int  # file bytes, symlink target length, 0 for directories


def check_name(name: str, parent: CID) -> str:
    """Return `name` if it is safe as one filesystem path component, else raise InvalidInput."""
    if name in ("", ".", "..") or "/" in name or "\0" in name or "\\" in name:
        raise InvalidInput(f"refusing unsafe link name {name!r} in directory {parent}")
    return name


def walk(getter: BlockGetter, cid: CID) -> Iterator[WalkItem]:
    """Yield every file, directory and symlink under `cid` (itself first), pre-order."""
    root = get_node(getter, cid)
    kind = entry_type(root)
    size = root.file_size if kind == "file" else len(root.data) if kind == "symlink" else 0
    yield WalkItem((), cid, kind, size)
    if kind != "directory":
        return
    # Stack of iterators over directories being listed: depth is bounded by the DAG itself
    # (content addressing rules out cycles) and uses no Python recursion.
    stack: list[tuple[tuple[str, ...], CID, Iterator]] = [((), cid, list_node(getter, root))]
    while stack:
        prefix, dir_cid, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        path = (*prefix, check_name(entry.name, dir_cid))
        yield WalkItem(path, entry.cid, entry.type, entry.size)
        if entry.type == "directory":
            stack.append((path, entry.cid, list_node(getter, get_node(getter, entry.cid))))
