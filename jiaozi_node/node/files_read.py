"""Reading UnixFS content out of a node: resolve, cat, ls, stat, get (the `jzfs cat/get/ls` side).

    reader = FilesReader.for_node(node)                  # local blockstore
    reader = FilesReader.for_node(node, getter=session)  # any `get(cid) -> bytes` (e.g. bitswap)
    for chunk in reader.cat("/ipfs/bafy…/dir/file.txt", offset=10, length=100): ...
    reader.get("bafy…/dir", Path("out"))                 # byte-identical copy of a file or tree

The block getter is injected, so fetching from the network later is a change of getter, not of
this code. Everything under `unixfs/` is pure; this module adds the filesystem writes of `get`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..config import IO_TUNING, TREE_LIMITS, TreeLimits
from ..ipld.cid import CID
from ..unixfs.exporter import Entry, Stat, list_dir, read_file, read_symlink, stat
from ..unixfs.exporter_data import BlockGetter
from ..unixfs.resolve import parse_path, resolve
from ..unixfs.tree_plan import TreeEntry
from ..unixfs.walk import walk
from .tree_writer import write_tree


class FilesReader:
    def __init__(self, getter: BlockGetter, *, tree_limits: TreeLimits = TREE_LIMITS,
                 write_buffer_bytes: int = IO_TUNING.write_buffer_bytes) -> None:
        self.getter = getter
        self.tree_limits = tree_limits  # walking and writing trees (`get`)
        self.write_buffer_bytes = write_buffer_bytes

    @classmethod
    def for_node(cls, node: Any, getter: BlockGetter | None = None) -> FilesReader:
        """A reader over `node`'s local blockstore, or over `getter` when one is given, with the
        node's limits (`node.defaults.tree`, `.io`)."""
        return cls(getter if getter is not None else node.blocks, tree_limits=node.defaults.tree,
                   write_buffer_bytes=node.defaults.io.write_buffer_bytes)

    # ------------------------------------------------------------------ queries

    def resolve(self, path: str | CID) -> CID:
        """The CID that `CID[/path]` or `/ipfs/CID[/path]` names (NotFound if absent)."""
        if isinstance(path, CID):
            return path
        root, segments = parse_path(path)
        return resolve(self.getter, root, segments)

    def stat(self, path: str | CID) -> Stat:
        return stat(self.getter, self.resolve(path))

    def cat(self, path: str | CID, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes of a file, in order (InvalidInput for a directory or symlink)."""
        return read_file(self.getter, self.resolve(path), offset, length)

    def ls(self, path: str | CID, *, resolve_children: bool = True) -> list[Entry]:
        """A directory's entries; for a file or symlink, the one entry naming it (like `ls`)."""
        cid = self.resolve(path)
        st = stat(self.getter, cid)
        if st.type != "directory":
            name = path.rstrip("/").rsplit("/", 1)[-1] if isinstance(path, str) else str(cid)
            return [Entry(name, cid, st.size, st.type)]
        return list(list_dir(self.getter, cid, resolve=resolve_children))

    # ------------------------------------------------------------------ get

    def get(self, path: str | CID, dest: Path | str, *,
            on_bytes: Callable[[int], None] | None = None, limits: TreeLimits | None = None) -> Path:
        """Write the file, symlink or directory tree at `path` to `dest` (which must not exist).

        Written by the one checked tree writer (`node/tree_writer.py`): unsafe or duplicate names
        are refused, nothing is created through a symlink, symlinks are recreated as they are
        (never followed), and a failure (missing block, malformed DAG, hostile tree) leaves
        nothing at `dest`. `on_bytes(n)` is called as file bytes are written. `limits`: the
        reader's `tree_limits` unless given.
        """
        cid = self.resolve(path)
        limits = self.tree_limits if limits is None else limits
        return write_tree(tree_entries(self.getter, cid, limits=limits), dest, on_bytes=on_bytes,
                          limits=limits, write_buffer_bytes=self.write_buffer_bytes)


def tree_entries(getter: BlockGetter, cid: CID, *,
                 limits: TreeLimits = TREE_LIMITS) -> Iterator[TreeEntry]:
    """The tree under `cid` as the writer's entries (file bytes read lazily, as each is written)."""
    for item in walk(getter, cid, limits=limits):
        if item.type == "directory":
            yield TreeEntry(item.path, "directory")
        elif item.type == "symlink":
            yield TreeEntry(item.path, "symlink", target=read_symlink(getter, item.cid))
        else:
            yield TreeEntry(item.path, item.type, data=read_file(getter, item.cid))
