"""The one checked writer of trees on disk: `jzfs get` (offline and through a daemon) and
`jzfs checkout` all end here.

    write_tree(entries, Path("out"))      # entries: TreeEntry values, pre-order, root first

Every entry is first checked by the pure plan (`unixfs/tree_plan.py`: unsafe, over-long and
duplicate names, order, depth), then created relative to its parent directory's file descriptor:
directories with mkdir(dir_fd) and reopened with O_DIRECTORY|O_NOFOLLOW, files with
O_CREAT|O_EXCL|O_NOFOLLOW, symlinks with symlink(dir_fd). No path is ever resolved through
something this writer did not just create, so no symlink is followed while writing, whatever the
tree holds. Symlinks are recreated as they are, as Kubo's `ipfs get` does (a link to /etc is
written as a link, never read or followed).

The tree is built in a private temporary directory next to `dest` and renamed into place at the
end (without replacing anything that appeared at `dest` meanwhile): a failure leaves nothing
behind. No archive extractor is involved: the daemon's tree stream is decoded by
`api/tree_stream.py`, which only produces TreeEntry values for this writer.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ..config import IO_TUNING, TREE_LIMITS, TreeLimits
from ..errors import InvalidInput
from ..unixfs.tree_plan import DIRECTORY, FILE, SYMLINK, TreeEntry, TreePlan

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_STAGED = "out"  # the root's name inside the temporary directory


def write_tree(entries: Iterable[TreeEntry], dest: Path | str, *, replace_empty_dir: bool = False,
               on_bytes: Callable[[int], None] | None = None,
               limits: TreeLimits = TREE_LIMITS,
               write_buffer_bytes: int = IO_TUNING.write_buffer_bytes) -> Path:
    """Write the tree `entries` describe at `dest` (which must not exist, or with
    `replace_empty_dir` may be an empty directory). Returns `dest`. Small file chunks are
    gathered up to `write_buffer_bytes` (IoTuning) per write(2).

    InvalidInput/LimitExceeded for a hostile tree, OSError for the filesystem's own refusals;
    either way nothing is left at `dest` or next to it."""
    dest = Path(dest)
    _check_dest(dest, replace_empty_dir)
    parent = dest.parent if str(dest.parent) else Path(".")
    tmp = tempfile.mkdtemp(prefix=f".{dest.name}.jzfs-", dir=parent)
    tmp_fd = os.open(tmp, _DIR_FLAGS)
    done = False
    try:
        _write_entries(entries, tmp_fd, limits, on_bytes, write_buffer_bytes)
        if replace_empty_dir and os.path.isdir(dest) and not os.path.islink(dest):
            os.rmdir(dest)  # OSError (not empty) if something appeared in it meanwhile
        try:
            _rename_noreplace(tmp_fd, _STAGED, dest)
        except FileExistsError:
            raise InvalidInput(f"{dest} already exists") from None
        done = True
    finally:
        try:
            if not done:
                remove_entry(tmp_fd, _STAGED, keep=limits.writer_open_dirs)
        finally:
            os.close(tmp_fd)
            try:
                os.rmdir(tmp)
            except OSError:
                pass
    return dest


def _check_dest(dest: Path, replace_empty_dir: bool) -> None:
    if replace_empty_dir and dest.is_dir() and not dest.is_symlink():
        with os.scandir(dest) as listing:
            empty = next(listing, None) is None
        if not empty:
            raise InvalidInput(f"{dest} exists and is not an empty directory")
        return
    if dest.exists() or dest.is_symlink():
        raise InvalidInput(f"{dest} already exists")


def _write_entries(entries: Iterable[TreeEntry], base_fd: int, limits: TreeLimits,
                   on_bytes: Callable[[int], None] | None, write_buffer_bytes: int) -> None:
    plan = TreePlan(limits)
    chain = DirChain(base_fd, keep=limits.writer_open_dirs)
    placed = False
    try:
        for entry in entries:
            for _ in range(plan.place(entry.path, entry.kind)):
                chain.pop()
            placed = True
            name = entry.path[-1] if entry.path else _STAGED
            if entry.kind == DIRECTORY:
                os.mkdir(name, 0o755, dir_fd=chain.fd())
                chain.push(name)
            elif entry.kind == SYMLINK:
                target = entry.target or ""
                plan.check_symlink_target(entry.path, target)
                os.symlink(target, name, dir_fd=chain.fd())
            else:
                assert entry.kind == FILE
                _write_file(chain.fd(), name, entry.data or (), on_bytes, write_buffer_bytes)
        if not placed:
            raise InvalidInput("nothing to write: the tree has no root entry")
    finally:
        chain.close()


def _write_file(dir_fd: int, name: str, data: Iterable[bytes],
                on_bytes: Callable[[int], None] | None, limit: int) -> None:
    # Small chunks are gathered up to `limit` (write_buffer_bytes) per writev(2), never copied
    # into one buffer (joining them copied every byte once more: ~15% of a daemon-served `get`'s
    # CLI time for 256 KiB leaves); big ones go straight through.
    fd = os.open(name, _FILE_FLAGS, 0o644, dir_fd=dir_fd)
    try:
        pending: list[bytes | memoryview] = []
        size = 0
        for chunk in data:
            n = len(chunk)
            if n == 0:
                continue
            if size + n > limit and pending:
                _write_all(fd, pending)
                pending, size = [], 0
            if n >= limit:
                _write_all(fd, [chunk])
            else:
                pending.append(chunk)
                size += n
            if on_bytes is not None:
                on_bytes(n)
        if pending:
            _write_all(fd, pending)
    finally:
        os.close(fd)


_IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024, 1024)


def _write_all(fd: int, parts: list[bytes | memoryview]) -> None:
    """Write `parts` in order with writev(2), resuming after short writes."""
    views = [memoryview(p).cast("B") for p in parts]
    i = 0
    while i < len(views):
        done = os.writev(fd, views[i:i + _IOV_MAX])
        while i < len(views) and done >= len(views[i]):
            done -= len(views[i])
            i += 1
        if done:
            views[i] = views[i][done:]


class DirChain:
    """The directories from a base descriptor down to the one being written, by name, with at
    most `keep` of their descriptors open (the innermost). A closed ancestor is reopened from the
    nearest open one, one O_DIRECTORY|O_NOFOLLOW step per level, keeping the innermost `keep`."""

    def __init__(self, base_fd: int, *, keep: int) -> None:
        self._names: list[str] = []
        self._fds: list[int | None] = [base_fd]  # level 0: the base (not ours to close)
        self._keep = max(1, keep)

    @property
    def names(self) -> list[str]:
        return self._names

    def fd(self) -> int:
        top = len(self._fds) - 1
        fd = self._fds[top]
        return fd if fd is not None else self._reopen(top)

    def push(self, name: str) -> None:
        fd = os.open(name, _DIR_FLAGS, dir_fd=self.fd())
        self._names.append(name)
        self._fds.append(fd)
        old = len(self._fds) - 1 - self._keep
        if old >= 1 and (ofd := self._fds[old]) is not None:
            os.close(ofd)
            self._fds[old] = None

    def pop(self) -> str:
        fd = self._fds.pop()
        if fd is not None:
            os.close(fd)
        return self._names.pop()

    def close(self) -> None:
        while len(self._fds) > 1:
            self.pop()

    def _reopen(self, level: int) -> int:
        j = level
        while self._fds[j] is None:
            j -= 1
        cur = self._fds[j]
        assert cur is not None
        for i in range(j + 1, level + 1):
            nxt = os.open(self._names[i - 1], _DIR_FLAGS, dir_fd=cur)
            if self._fds[i - 1] != cur:
                os.close(cur)  # opened on the way, not kept
            if i > level - self._keep:
                self._fds[i] = nxt
            cur = nxt
        return cur


def remove_entry(dir_fd: int, name: str, *, keep: int = TREE_LIMITS.writer_open_dirs) -> None:
    """Remove `name` under `dir_fd` and everything below it, iteratively (any depth, bounded
    descriptors), never following a symlink. A missing `name` is fine."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    chain = DirChain(dir_fd, keep=keep)
    chain.push(name)
    pending = [os.listdir(chain.fd())]
    while pending:
        if pending[-1]:
            child = pending[-1].pop()
            fd = chain.fd()
            if stat.S_ISDIR(os.stat(child, dir_fd=fd, follow_symlinks=False).st_mode):
                chain.push(child)
                pending.append(os.listdir(chain.fd()))
            else:
                os.unlink(child, dir_fd=fd)
        else:
            pending.pop()
            done = chain.pop()
            os.rmdir(done, dir_fd=chain.fd())


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _rename_noreplace(src_dir_fd: int, src: str, dst: Path) -> None:
    """rename(2) that fails with FileExistsError instead of replacing `dst` (renameat2 with
    RENAME_NOREPLACE where the kernel and filesystem have it, else check-then-rename)."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is not None:
        rc = fn(src_dir_fd, os.fsencode(src), _AT_FDCWD, os.fsencode(os.fspath(dst)), _RENAME_NOREPLACE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL):
            raise OSError(err, os.strerror(err), str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst, src_dir_fd=src_dir_fd)
