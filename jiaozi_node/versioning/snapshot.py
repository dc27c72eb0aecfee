"""Snapshotting a working directory into a UnixFS tree (adapter: reads files, writes blocks).

Files whose size/mtime/inode are unchanged since they were last committed or checked out keep
their recorded CID without being read (`StatCache`); every other file goes through the importer
(`unixfs.importer.FileImporter`), and directories are built from the entries with the importer's
`build_directory` (plain or HAMT, as the profile decides). Blocks go to a `BlockSink`: the
blockstore for `commit` (counting the bytes that were really new), or an in-memory overlay for
`status`, which stores nothing.

Symlinks become UnixFS symlink nodes (like Kubo); other special files (sockets, FIFOs, devices)
are skipped. Hidden files are included: a dataset snapshot takes everything.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from array import array
from collections.abc import Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from stat import S_ISDIR, S_ISLNK, S_ISREG

from ..config import VERSIONING_LIMITS, ImportProfile
from ..errors import InvalidInput, NotFound
from ..ipld import dagpb
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB
from ..store.base import Blockstore
from ..unixfs import pb
from .statcache import RACY_WINDOW_NS, Recorded, StatCache, recorded
from .tree import Link

# Threads, read size, inline-hash threshold and put batch: config.VersioningLimits.snapshot_*.


@dataclass
class SnapshotStats:
    files: int = 0
    hashed_files: int = 0  # files actually read (not served by the stat cache)
    hashed_bytes: int = 0
    new_blocks: int = 0
    new_bytes: int = 0
    recorded: list[Recorded] = field(default_factory=list)
    recorded_dirs: list[tuple[str, bytes, Link]] = field(default_factory=list)


class BlockSink:
    """Where snapshot blocks go: written through to `store`, or (`write=False`, for status) kept
    in memory only, with reads falling back to `store`."""

    def __init__(self, store: Blockstore, stats: SnapshotStats, *, write: bool = True) -> None:
        self.store = store
        self.write = write
        self.stats = stats
        self.overlay: dict[CID, bytes] = {}
        self._pending: list[Block] = []

    def put(self, blocks: Iterable[Block], *, keep: bool = True) -> None:
        for b in blocks:
            if not self.write:
                if keep:
                    self.overlay[b.cid] = b.data
                continue
            self._pending.append(b)
            if len(self._pending) >= VERSIONING_LIMITS.snapshot_put_batch_blocks:
                self.flush()

    def flush(self) -> None:
        if not self.write or not self._pending:
            return
        present = has_many(self.store, [b.cid for b in self._pending])
        fresh = [b for b, here in zip(self._pending, present, strict=True) if not here]
        seen: set[bytes] = set()
        for b in fresh:
            if b.cid.multihash not in seen:
                seen.add(b.cid.multihash)
                self.stats.new_blocks += 1
                self.stats.new_bytes += len(b.data)
        if fresh:
            self.store.put_many(fresh)
        self._pending.clear()

    def has(self, cid: CID) -> bool:
        return cid in self.overlay or self.store.has(cid)

    def has_many(self, cids: list[CID]) -> list[bool]:
        stored = has_many(self.store, cids) if cids else []
        return [here or c in self.overlay for c, here in zip(cids, stored, strict=True)]

    def get(self, cid: CID) -> bytes:
        if cid in self.overlay:
            return self.overlay[cid]
        return self.store.get(cid)


def has_many(store: Blockstore, cids: list[CID]) -> list[bool]:
    """`store.has` for many CIDs: one transaction where the engine offers `has_many`."""
    fn = getattr(store, "has_many", None)
    if fn is not None:
        return list(fn(cids))
    return [store.has(c) for c in cids]


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FINGERPRINT_TAG = b"jzfs-dir-fingerprint-2\0"  # a new format never matches an old recorded one


def dir_fingerprint(names: list[str], sizes: list[int], mtimes_ns: list[int], inos: list[int],
                    others: list[tuple[str, str, str | bytes]]) -> bytes:
    """What a directory looked like, as one digest: its files' names, sizes, mtimes and inodes
    (in listing order) and its other entries (kind, name, subdirectory CID or symlink target).

    Packed as arrays rather than `repr`'d tuples: 10 000 files cost one C-level copy each."""
    blob = "\0".join(names).encode("utf-8", "surrogateescape")  # names never contain NUL
    h = hashlib.sha256(_FINGERPRINT_TAG)
    h.update(struct.pack("<QQ", len(names), len(blob)))
    h.update(blob)
    h.update(array("Q", sizes))
    h.update(array("q", mtimes_ns))
    h.update(array("Q", inos))
    h.update(repr(others).encode("utf-8", "surrogateescape"))
    return h.digest()


def cache_key(profile: ImportProfile) -> str:
    """Stat-cache key of a profile: the same bytes give other CIDs under another profile/chunker."""
    return f"{profile.name}/{profile.chunker}/{profile.layout}/{profile.cid_version}/{profile.raw_leaves}"


def import_file(path: str, profile: ImportProfile, sink: BlockSink, stats: SnapshotStats,
                executor: Executor | None = None) -> Link:
    from ..unixfs.importer import FileImporter

    imp = FileImporter(profile, executor=executor)
    with open(path, "rb") as f:
        while chunk := f.read(VERSIONING_LIMITS.snapshot_read_bytes):
            stats.hashed_bytes += len(chunk)
            sink.put(imp.feed(chunk), keep=False)
    root, last = imp.close()
    # The root block is kept in the status overlay: diff reads a file's kind from it.
    sink.put([b for b in last if b.cid != root], keep=False)
    sink.put([b for b in last if b.cid == root])
    return Link(root, imp.tsize)


def build_dir(entries: dict[str, Link], profile: ImportProfile, sink: BlockSink) -> Link:
    from ..unixfs.directory import DirEntry, build_directory

    cid, tsize, blocks = build_directory(
        [DirEntry(name, link.cid, link.tsize) for name, link in entries.items()], profile=profile)
    sink.put(blocks)
    return Link(cid, tsize)


def symlink_node(target: str, sink: BlockSink, profile: ImportProfile) -> Link:
    data = dagpb.encode(dagpb.PBNode((), pb.symlink(os.fsencode(target))))
    block = Block.create(data, codec=DAG_PB, version=profile.cid_version)
    sink.put([block])
    return Link(block.cid, len(data))


def snapshot(root_dir: str, *, profile: ImportProfile, sink: BlockSink, cache: StatCache | None,
             stats: SnapshotStats) -> Link:
    """Snapshot `root_dir`; returns the root directory's link. Blocks go to `sink`.

    Leaves are hashed in a small thread pool owned by this call (hashlib releases the GIL)."""
    if not os.path.isdir(root_dir):
        raise NotFound(f"{root_dir} is not a directory")
    with ThreadPoolExecutor(max_workers=VERSIONING_LIMITS.snapshot_hash_threads) as pool:
        walker = _Walker(profile, sink, cache, stats, pool)
        root = walker.visit(os.path.abspath(root_dir))
    sink.flush()
    return root


class _Walker:
    def __init__(self, profile: ImportProfile, sink: BlockSink, cache: StatCache | None,
                 stats: SnapshotStats, pool: Executor) -> None:
        self.profile, self.sink, self.cache, self.stats, self.pool = profile, sink, cache, stats, pool
        self.key = cache_key(profile)
        if cache is not None:
            cache.preload(self.key)

    def visit(self, path: str) -> Link:
        prefix = path if path.endswith("/") else path + "/"
        # One pass over the directory through a descriptor: list the names, then one fstatat by
        # name each (no path walk per file, no DirEntry objects); the stat gives the kind. Names
        # stay in listing order: the fingerprint needs a fixed order, not a sorted one (an
        # unchanged directory lists in the same order; a reordered listing only costs a rebuild).
        other: list[tuple[str, str, str]] = []  # ("D", name, "") and ("L", name, target)
        fd = os.open(path, _DIR_FLAGS)
        try:
            names = os.listdir(fd)
            stat = os.stat
            sts = [stat(name, dir_fd=fd, follow_symlinks=False) for name in names]
            regular = [S_ISREG(st.st_mode) for st in sts]
            if not all(regular):  # subdirectories, symlinks, special files: set apart
                files = [(n, st) for n, st, reg in zip(names, sts, regular, strict=True) if reg]
                for name, st, reg in zip(names, sts, regular, strict=True):
                    if reg:
                        continue
                    if S_ISDIR(st.st_mode):
                        other.append(("D", name, ""))
                    elif S_ISLNK(st.st_mode):
                        other.append(("L", name, os.readlink(name, dir_fd=fd)))
                names = [n for n, _ in files]
                sts = [st for _, st in files]
        finally:
            os.close(fd)
        subdirs: dict[str, Link] = {}
        links: dict[str, str] = {}
        parts: list[tuple[str, str, str | bytes]] = []
        for kind, name, target in other:
            if kind == "D":
                subdirs[name] = sub = self.visit(prefix + name)
                parts.append((kind, name, sub.cid.buffer))
            else:
                links[name] = target
                parts.append((kind, name, target))
        mtimes = [st.st_mtime_ns for st in sts]
        racy = bool(mtimes) and max(mtimes) >= time.time_ns() - RACY_WINDOW_NS
        fingerprint = dir_fingerprint(names, [st.st_size for st in sts], mtimes, [st.st_ino for st in sts],
                                      parts)
        self.stats.files += len(names)
        if self.cache is not None:
            try:
                recorded_fp, link = self.cache.lookup_dir(path, self.key)
                if recorded_fp == fingerprint and self.sink.has(link.cid):
                    return link
            except KeyError:
                pass
        # Only directories that changed get here: check names before building.
        for name in (*names, *(o[1] for o in other)):
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(f"{prefix + name!r}: file names must be UTF-8 (dag-pb link names are)") from None
        entries: dict[str, Link] = dict(subdirs)
        for name, target in links.items():
            entries[name] = symlink_node(target, self.sink, self.profile)
        hits: list[tuple[str, str, os.stat_result, Link]] = []
        paths = [(prefix + name, st) for name, st in zip(names, sts, strict=True)]
        found = (self.cache.lookup_files(path, paths, self.key) if self.cache is not None and names
                 else [None] * len(names))
        for name, (fpath, st), cached in zip(names, paths, found, strict=True):
            if cached is None:
                entries[name] = self.import_one(fpath, st)
            else:
                hits.append((name, fpath, st, cached))
        # Recorded, but are the blocks here? (another node's checkout, or GC since): one batched
        # check per directory; files whose blocks are gone are imported again.
        for (name, fpath, st, cached), here in zip(hits, self.sink.has_many([h[3].cid for h in hits]),
                                                    strict=True):
            entries[name] = cached if here else self.import_one(fpath, st)
        link = build_dir(entries, self.profile, self.sink)
        if not racy:
            self.stats.recorded_dirs.append((path, fingerprint, link))
        return link

    def import_one(self, path: str, st: os.stat_result) -> Link:
        self.stats.hashed_files += 1
        # Small files hash faster inline than through the pool (a future costs ~30 µs).
        pool = self.pool if st.st_size > VERSIONING_LIMITS.snapshot_pool_min_bytes else None
        link = import_file(path, self.profile, self.sink, self.stats, pool)
        after = os.stat(path, follow_symlinks=False)
        if (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
            self.stats.recorded.append(recorded(path, st, link))
        return link
