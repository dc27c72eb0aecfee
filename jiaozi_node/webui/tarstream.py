"""A UnixFS tree as a tar stream (pure: a generator over a block getter, nothing buffered but
one leaf at a time). POSIX pax format, so long and non-ASCII names survive; names are checked by
`unixfs.walk` (no `..`, `/` or NUL), so extracting the archive cannot write outside its folder."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator

from ..ipld.cid import CID
from ..unixfs.exporter import read_file, read_symlink
from ..unixfs.exporter_data import BlockGetter
from ..unixfs.walk import walk

BLOCK = 512


def tar_stream(getter: BlockGetter, cid: CID, top: str, *, mtime: int = 0) -> Iterator[bytes]:
    """The tree under `cid` as a tar archive whose entries live under `top/`."""
    for item in walk(getter, cid):
        info = tarfile.TarInfo("/".join((top, *item.path)))
        info.mtime = mtime
        if item.type == "directory":
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        elif item.type == "symlink":
            info.type, info.mode = tarfile.SYMTYPE, 0o777
            info.linkname = read_symlink(getter, item.cid)
            yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        else:
            info.size, info.mode = item.size, 0o644
            yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            written = 0
            for chunk in read_file(getter, item.cid):
                written += len(chunk)
                yield chunk
            if written % BLOCK:
                yield b"\0" * (BLOCK - written % BLOCK)
    yield b"\0" * (2 * BLOCK)
