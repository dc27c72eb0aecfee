"""TreeBuilder (pure): files and directories by relative path in, directory DAG out.

    tb = TreeBuilder(profile)
    tb.add_file("sub/c.txt", cid, tsize)     # any order; parents are created implicitly
    tb.add_dir("emptydir")                   # explicit (possibly empty) directories
    dirs, blocks = tb.finish()               # dirs: [(path, cid, tsize)], children before
                                             # parents, siblings by name; the root ("") last

Directories are built with `directory.build_directory` (plain or HAMT as the profile decides). The
order of `dirs` is Kubo's `ipfs add -r` output order for directories (its `outputDirs`: post-order,
entries in name order). For HAMT-sharded directories Kubo lists children in hash order; we keep
name order there (output lines only; the CIDs do not depend on it).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ..config import ImportProfile
from ..errors import InvalidInput
from ..ipld.block import Block
from ..ipld.cid import CID
from .directory import DirEntry, build_directory
from .tree_plan import run_nested


class _Dir:
    __slots__ = ("children",)

    def __init__(self) -> None:
        self.children: dict[str, _Dir | DirEntry] = {}


def split_path(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInput(f"path {path!r} may not contain '..'")
    return parts


class TreeBuilder:
    def __init__(self, profile: ImportProfile) -> None:
        self.profile = profile
        self.root = _Dir()

    def _dir(self, parts: list[str]) -> _Dir:
        d = self.root
        for name in parts:
            child = d.children.get(name)
            if child is None:
                child = d.children[name] = _Dir()
            elif not isinstance(child, _Dir):
                raise InvalidInput(f"{'/'.join(parts)}: {name!r} is a file, not a directory")
            d = child
        return d

    def add_dir(self, path: str) -> None:
        self._dir(split_path(path))

    def add_file(self, path: str, cid: CID, tsize: int) -> None:
        """Add a file (or symlink, or any existing DAG) under `path`."""
        parts = split_path(path)
        if not parts:
            raise InvalidInput("a file needs a name")
        parent = self._dir(parts[:-1])
        name = parts[-1]
        if isinstance(parent.children.get(name), _Dir):
            raise InvalidInput(f"{path}: a directory already has that name")
        parent.children[name] = DirEntry(name, cid, tsize)

    def finish(self) -> tuple[list[tuple[str, CID, int]], list[Block]]:
        dirs: list[tuple[str, CID, int]] = []
        blocks: list[Block] = []

        def build(d: _Dir, path: str) -> Generator[Any, tuple[CID, int], tuple[CID, int]]:
            entries: list[DirEntry] = []
            for name in sorted(d.children, key=lambda n: n.encode("utf-8")):
                child = d.children[name]
                if isinstance(child, _Dir):
                    sub = f"{path}/{name}" if path else name
                    cid, tsize = yield build(child, sub)  # run_nested: no recursion
                    dirs.append((sub, cid, tsize))
                    entries.append(DirEntry(name, cid, tsize))
                else:
                    entries.append(child)
            cid, tsize, new = build_directory(entries, profile=self.profile)
            blocks.extend(new)
            return cid, tsize

        cid, tsize = run_nested(build(self.root, ""))
        dirs.append(("", cid, tsize))
        return dirs, blocks
