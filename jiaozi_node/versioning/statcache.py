"""The stat cache: which CID a working-directory file had when we last committed or checked it out.

`status` and `commit` skip re-hashing a file whose (size, mtime_ns, inode) are unchanged since it
was recorded, like git's index. Keyed by the file's absolute path and the import profile (the same
bytes give different CIDs under different profiles). SQLite at `$JZFS_PATH/statcache.db`.

Racy-clean guard (as git's): a file whose mtime is within RACY_WINDOW_NS of the moment its entry
was recorded may have been modified again within the same timestamp tick without its mtime
changing, so such an entry is not trusted and the file is hashed again.

Directories: a fingerprint of each directory's listing (names, sizes, mtimes, inodes, subdirectory
CIDs) with the node it gave, so an unchanged directory is taken whole; and the files of that node
(`DirFiles`: each file's stat and link, as listed), so a directory where a few files changed is
rebuilt from the recorded links of the others without a stat-cache row or a CID object each. Both
are recorded only when none of the directory's files was racily new.
"""

from __future__ import annotations

import marshal
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..config import VERSIONING_LIMITS
from ..ipld.cid import CID
from .tree import Link

FILE_NAME = "statcache.db"
# Linux stamps mtimes from the coarse clock (one scheduler tick, 1-10 ms) even on filesystems
# with ns fields; 100 ms covers that with a wide margin. (FAT's 2 s granularity is not covered.)
RACY_WINDOW_NS = 100_000_000


@dataclass(frozen=True, slots=True)
class Recorded:
    path: str
    size: int
    mtime_ns: int
    ino: int
    link: Link


def recorded(path: str, st: os.stat_result, link: Link) -> Recorded:
    return Recorded(path, st.st_size, st.st_mtime_ns, st.st_ino, link)


class RecordedDir(NamedTuple):
    path: str
    fingerprint: bytes
    link: Link
    files: bytes | None = None  # pack_dir_files() of the files of `link`'s node, if known


@dataclass(frozen=True, slots=True)
class DirFiles:
    """The files of a recorded directory node, in the order they were listed: the stat each had
    and the link (CID bytes, Tsize) the node holds for it."""

    node: CID
    names: list[str]
    sizes: list[int]
    mtimes_ns: list[int]
    inos: list[int]
    cids: list[bytes]
    tsizes: list[int]


def pack_dir_files(names: list[str], sizes: list[int], mtimes_ns: list[int], inos: list[int],
                   cids: list[bytes], tsizes: list[int]) -> bytes:
    """One BLOB for `DirFiles` (marshal: C-speed both ways; only this cache reads it back)."""
    return marshal.dumps((names, sizes, mtimes_ns, inos, cids, tsizes))


def _unpack_dir_files(node: bytes, blob: bytes) -> DirFiles | None:
    try:
        cols = marshal.loads(blob)
        names, sizes, mtimes, inos, cids, tsizes = cols
        n = len(names)
        if not (isinstance(cols, tuple) and all(isinstance(c, list) and len(c) == n for c in cols)):
            return None
        return DirFiles(stored_cid(node), names, sizes, mtimes, inos, cids, tsizes)
    except (ValueError, TypeError, EOFError):
        return None  # written by another Python's marshal, or damaged: only costs a rebuild


def stored_cid(raw: bytes) -> CID:
    """A CID as this cache stored it: the common CIDv1 + sha2-256 shape is split directly (half the
    cost of the general parser; a changed directory looks up every one of its files)."""
    if len(raw) == 36 and raw[0] == 1 and raw[1] < 0x80 and raw[2] == 0x12 and raw[3] == 0x20:
        return CID(1, raw[1], raw[2:])
    return CID.from_bytes(raw)


class StatCache:
    def __init__(self, path: Path | str, *,
                 busy_timeout_s: float = VERSIONING_LIMITS.stat_cache_busy_timeout_s) -> None:
        self._db = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A cache: losing the last transactions in a power cut only costs re-hashing.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS stat (path TEXT NOT NULL, profile TEXT NOT NULL, size INTEGER,"
            " mtime_ns INTEGER, ino INTEGER, cid BLOB, tsize INTEGER, recorded_ns INTEGER,"
            " PRIMARY KEY (path, profile))")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dirs (path TEXT NOT NULL, profile TEXT NOT NULL,"
            " fingerprint BLOB, cid BLOB, tsize INTEGER, PRIMARY KEY (path, profile))")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dir_files (path TEXT NOT NULL, profile TEXT NOT NULL,"
            " node BLOB, files BLOB, PRIMARY KEY (path, profile))")
        self._preloaded: dict[str, dict[str, tuple]] = {}
        self._dirs: dict[str, dict[str, tuple[bytes, Link]]] = {}

    def load_dir(self, directory: str, profile: str) -> None:
        """Read the entries of the files in `directory` in one range query, for `lookup`."""
        self._preloaded.setdefault(profile, {}).update(self._rows_under(directory, profile))

    def _rows_under(self, directory: str, profile: str) -> dict[str, tuple]:
        """Rows of the files directly in `directory` (one index range; deeper files are skipped
        in SQLite, not turned into Python rows)."""
        lo, hi = directory.rstrip("/") + "/", directory.rstrip("/") + "0"  # "0" sorts right after "/"
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, ino, cid, tsize, recorded_ns FROM stat"
            " WHERE path > ? AND path < ? AND profile = ? AND instr(substr(path, ?), '/') = 0",
            (lo, hi, profile, len(lo) + 1)).fetchall()
        return {r[0]: r[1:] for r in rows}

    def lookup_files(self, directory: str, files: list[tuple[str, os.stat_result]],
                     profile: str) -> list[Link | None]:
        """`lookup` for the files of one directory (full paths under `directory`, with their
        stat) in one range query: the recorded link of each unchanged file, None for the others."""
        rows = self._rows_under(directory, profile)
        out: list[Link | None] = []
        for path, st in files:
            row = rows.get(path)
            if (row is None or row[0] != st.st_size or row[1] != st.st_mtime_ns or row[2] != st.st_ino
                    or st.st_mtime_ns >= row[5] - RACY_WINDOW_NS):
                out.append(None)
            else:
                out.append(Link(stored_cid(row[3]), row[4]))
        return out

    def preload(self, profile: str) -> None:
        """Read every directory fingerprint of `profile` in one query."""
        rows = self._db.execute("SELECT path, fingerprint, cid, tsize FROM dirs WHERE profile = ?",
                                (profile,)).fetchall()
        self._dirs[profile] = {r[0]: (r[1], Link(stored_cid(r[2]), r[3])) for r in rows}

    def lookup_dir_files(self, path: str, profile: str) -> DirFiles | None:
        """The files recorded for the directory node last built at `path`, or None."""
        row = self._db.execute("SELECT node, files FROM dir_files WHERE path = ? AND profile = ?",
                               (path, profile)).fetchone()
        return None if row is None else _unpack_dir_files(row[0], row[1])

    def lookup_dir(self, path: str, profile: str) -> tuple[bytes, Link]:
        """(fingerprint, link) recorded for a directory; KeyError if none (call `preload` first)."""
        return self._dirs.get(profile, {})[path]

    def lookup(self, path: str, st: os.stat_result, profile: str) -> Link:
        """The recorded link if the file is unchanged; raises KeyError otherwise."""
        table = self._preloaded.get(profile)
        if table is not None and path in table:
            row = table[path]
        else:
            row = self._db.execute(
                "SELECT size, mtime_ns, ino, cid, tsize, recorded_ns FROM stat WHERE path = ? AND profile = ?",
                (path, profile)).fetchone()
        if row is None:
            raise KeyError(path)
        size, mtime_ns, ino, cid, tsize, recorded_ns = row
        if (size, mtime_ns, ino) != (st.st_size, st.st_mtime_ns, st.st_ino):
            raise KeyError(path)
        if st.st_mtime_ns >= recorded_ns - RACY_WINDOW_NS:
            raise KeyError(path)  # racily clean: could have changed within the same tick
        return Link(stored_cid(cid), tsize)

    def record(self, entries: Iterable[Recorded], profile: str, *, now_ns: int,
               dirs: Iterable[RecordedDir | tuple[str, bytes, Link]] = ()) -> None:
        """Remember files (and directory fingerprints and files, recorded only when none of their
        files was racily clean) as they were committed or checked out."""
        rows = [(e.path, profile, e.size, e.mtime_ns, e.ino, e.link.cid.buffer, e.link.tsize, now_ns)
                for e in entries]
        dirs = [RecordedDir(*d) for d in dirs]
        dir_rows = [(d.path, profile, d.fingerprint, d.link.cid.buffer, d.link.tsize) for d in dirs]
        file_rows = [(d.path, profile, d.link.cid.buffer, d.files) for d in dirs if d.files is not None]
        if not rows and not dir_rows:
            return
        self._preloaded.clear()
        self._dirs.clear()
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.executemany("INSERT OR REPLACE INTO dirs VALUES (?, ?, ?, ?, ?)", dir_rows)
            self._db.executemany("INSERT OR REPLACE INTO dir_files VALUES (?, ?, ?, ?)", file_rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
