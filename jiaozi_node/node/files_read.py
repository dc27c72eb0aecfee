"""Reading UnixFS content out of a node: resolve, cat, ls, stat, get (the `jzfs cat/get/ls` side).

    reader = FilesReader.for_node(node)                  # local blockstore
    reader = FilesReader.for_node(node, getter=session)  # any `get(cid) -> bytes` (e.g. bitswap)
    for chunk in reader.cat("/ipfs/bafy…/dir/file.txt", offset=10, length=100): ...
    reader.get("bafy…/dir", Path("out"))                 # byte-identical copy of a file or tree

The block getter is injected, so fetching from the network later is a change of getter, not of
this code. Everything under `unixfs/` is pure; this module adds the filesystem writes of `get`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..config import IO_TUNING
from ..errors import InvalidInput
from ..ipld.cid import CID
from ..unixfs.exporter import Entry, Stat, list_dir, read_file, read_symlink, stat
from ..unixfs.exporter_data import BlockGetter
from ..unixfs.resolve import parse_path, resolve
from ..unixfs.walk import walk


class FilesReader:
    def __init__(self, getter: BlockGetter) -> None:
        self.getter = getter

    @classmethod
    def for_node(cls, node: Any, getter: BlockGetter | None = None) -> FilesReader:
        """A reader over `node`'s local blockstore, or over `getter` when one is given."""
        return cls(getter if getter is not None else node.blocks)

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
            on_bytes: Callable[[int], None] | None = None) -> Path:
        """Write the file, symlink or directory tree at `path` to `dest` (which must not exist).

        The tree is built in a temporary sibling of `dest` and renamed into place at the end, so
        a failure (missing block, malformed DAG, unsafe link name) leaves nothing at `dest`.
        Link names are checked (`unixfs.walk.check_name`) and files are created with O_EXCL and
        O_NOFOLLOW, so a hostile DAG cannot write outside `dest`. Symlinks are recreated as they
        are (never followed). `on_bytes(n)` is called as file bytes are written.
        """
        cid = self.resolve(path)
        dest = Path(dest)
        if dest.exists() or dest.is_symlink():
            raise InvalidInput(f"{dest} already exists")
        parent = dest.parent if str(dest.parent) else Path(".")
        tmp = Path(tempfile.mkdtemp(prefix=".jzfs-get-", dir=parent))
        try:
            staging = tmp / "out"
            for item in walk(self.getter, cid):
                target = staging.joinpath(*item.path)
                if item.type == "directory":
                    os.mkdir(target, 0o755)
                elif item.type == "symlink":
                    os.symlink(read_symlink(self.getter, item.cid), target)
                elif item.type == "file":
                    self._write_file(item.cid, target, on_bytes)
                else:  # pragma: no cover - walk only yields the three kinds
                    raise InvalidInput(f"cannot write a {item.type} node")
            os.rename(staging, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def _write_file(self, cid: CID, target: Path,
                    on_bytes: Callable[[int], None] | None) -> None:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb", buffering=IO_TUNING.write_buffer_bytes) as f:
            for chunk in read_file(self.getter, cid):
                f.write(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
