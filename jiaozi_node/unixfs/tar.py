"""A UnixFS tree as a POSIX tar stream (pure): the one tar producer, used by the RPC API's `get`
(Kubo's answer) and the web UI's tar download.

    for chunk in tar_stream(getter, cid, "top"): ...     # entries under top/

Entries come from `unixfs.walk`, the walker every tree producer shares: each name is checked and
placed in a `TreePlan` before its header is written, so an unsafe or duplicate name (the issue-9
symlink `a` followed by a directory `a`) or a too-deep tree ends the stream with the same
InvalidInput/LimitExceeded that offline `get`, the daemon's tree stream and `checkout` raise. A
tar reader that trusts entry order can therefore not be made to write through a symlink. Nothing
is buffered but one chunk of one file; an error met while walking ends the stream early (the
client sees a truncated tar, never a complete-looking one). Pax format, so long and non-ASCII
names survive.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator

from ..config import TREE_LIMITS, TreeLimits
from ..errors import InvalidInput
from ..ipld.cid import CID
from .exporter import read_file, read_symlink
from .exporter_data import BlockGetter
from .walk import walk


def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def tar_stream(getter: BlockGetter, cid: CID, top: str, *, mtime: int = 0,
               limits: TreeLimits = TREE_LIMITS) -> Iterator[bytes]:
    """The tree under `cid` as a tar archive whose entries live under `top/`."""
    for item in walk(getter, cid, limits=limits):
        info = tarfile.TarInfo("/".join((top, *item.path)))
        info.mtime = mtime
        if item.type == "directory":
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            yield _header(info)
        elif item.type == "symlink":
            info.type, info.mode = tarfile.SYMTYPE, 0o777
            info.linkname = read_symlink(getter, item.cid)
            yield _header(info)
        else:
            info.size, info.mode = item.size, 0o644
            yield _header(info)
            written = 0
            for chunk in read_file(getter, item.cid):
                written += len(chunk)
                yield chunk
            if written != item.size:  # a root that lies about its size: stop, never misalign the tar
                raise InvalidInput(f"{'/'.join(item.path) or item.cid}: its blocks hold {written} bytes, "
                                   f"its root says {item.size}")
            pad = (-written) % tarfile.BLOCKSIZE
            if pad:
                yield b"\0" * pad
    yield b"\0" * (2 * tarfile.BLOCKSIZE)
