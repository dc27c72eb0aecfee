"""Snapshotting a working directory into a UnixFS tree (adapter: reads files, writes blocks).

Files whose size/mtime/inode are unchanged since they were last committed or checked out keep
their recorded CID without being read (`StatCache`); every other file goes through the importer
(`unixfs.importer.FileImporter`), and directories are built from the entries with the importer's
`build_directory` (plain or HAMT, as the profile decides). Blocks go to a `SnapshotSink`: the
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
from collections.abc import Generator, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import Any

from ..config import ADD_TUNING, VERSIONING_LIMITS, AddTuning, ImportProfile, VersioningLimits
from ..errors import InvalidInput, NotFound
from ..ipld import multihash, varint
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB
from ..store.base import Blockstore
from ..unixfs import pb
from ..unixfs.tree_plan import run_nested
from .statcache import (
    RACY_WINDOW_NS,
    Recorded,
    RecordedDir,
    StatCache,
    pack_dir_files,
    recorded,
    stored_cid,
)
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
    recorded_dirs: list[RecordedDir] = field(default_factory=list)


class SnapshotSink:
    """Where snapshot blocks go: written through to `store`, or (`write=False`, for status) kept
    in memory only, with reads falling back to `store`."""

    def __init__(self, store: Blockstore, stats: SnapshotStats, *, write: bool = True,
                 limits: VersioningLimits = VERSIONING_LIMITS) -> None:
        self.store = store
        self.batch_blocks = limits.snapshot_put_batch_blocks
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
            if len(self._pending) >= self.batch_blocks:
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


class _FileBlocks:
    """The add pipeline's sink (`node.files.ImportSink`) for one file of a snapshot: every block
    goes to the SnapshotSink; the last one, the file's root (a DAG's root is built last), is also
    kept in the status overlay, where diff reads a file's kind from it."""

    def __init__(self, sink: SnapshotSink) -> None:
        self.sink = sink
        self.store = sink.store
        self._held: Block | None = None

    def put(self, blocks: Iterable[Block]) -> None:
        for b in blocks:
            if self._held is not None:
                self.sink.put([self._held], keep=False)
            self._held = b

    def close(self, root: CID) -> None:
        if self._held is not None:
            self.sink.put([self._held], keep=self._held.cid == root)
            self._held = None


def import_file(path: str, profile: ImportProfile, sink: SnapshotSink, stats: SnapshotStats,
                executor: Executor | None = None, *, tuning: AddTuning = ADD_TUNING) -> Link:
    """One file through the add pipeline's importer (`node.files.import_stream`, as `jzfs add`)."""
    from ..node.files import import_stream

    blocks = _FileBlocks(sink)

    def hashed(n: int) -> None:
        stats.hashed_bytes += n

    with open(path, "rb", buffering=0) as f:
        root, tsize = import_stream(f, profile, blocks, executor=executor,
                                    tuning=tuning, progress=hashed)
    blocks.close(root)
    return Link(root, tsize)


def build_dir(entries: dict[str, Link], profile: ImportProfile, sink: SnapshotSink) -> Link:
    from ..unixfs.directory import DirEntry, build_directory

    cid, tsize, blocks = build_directory(
        [DirEntry(name, link.cid, link.tsize) for name, link in entries.items()], profile=profile)
    sink.put(blocks)
    return Link(cid, tsize)


def _uvarint(value: int) -> bytes:
    return bytes((value,)) if value < 0x80 else varint.encode(value)


_DIR_DATA_FIELD = b"\x0a" + _uvarint(len(pb.DIRECTORY_DATA)) + pb.DIRECTORY_DATA


def plain_dir_block(items: list[tuple[bytes, bytes, int]], profile: ImportProfile) -> Block | None:
    """The node `build_directory` makes of (UTF-8 name, CID bytes, Tsize) entries, when it is a
    plain directory, encoded straight from those bytes (no CID or link objects: a directory
    where one file of 100 changed re-encodes 99 recorded links). None when the profile's HAMT
    rule could shard it, or estimates sizes in a way not known here: build_directory decides.

    The same bytes as unixfs.directory.plain_directory + ipld.dagpb.encode (links sorted by name
    bytes, each Hash/Name/Tsize, then the Data field); test_snapshot checks it against them."""
    mode = profile.hamt_size_estimation
    if mode not in ("block", "links"):
        return None
    items = sorted(items, key=_first)
    parts: list[bytes] = []
    for name, cid, tsize in items:
        link = b"".join((b"\x0a", _uvarint(len(cid)), cid, b"\x12", _uvarint(len(name)), name,
                         b"\x18", _uvarint(tsize)))
        parts.append(b"\x12" + _uvarint(len(link)) + link)
    parts.append(_DIR_DATA_FIELD)
    data = b"".join(parts)
    # "block": the estimate is this block's size; "links": names + CIDs (directory.estimated_size)
    estimate = len(data) if mode == "block" else sum(len(name) + len(cid) for name, cid, _ in items)
    if profile.hamt_threshold_bytes > 0 and estimate > profile.hamt_threshold_bytes:
        return None
    mh = multihash.digest(multihash.code_of(profile.hash_function), data)
    return Block(CID(profile.cid_version, DAG_PB, mh), data)


def _first(item: tuple[bytes, bytes, int]) -> bytes:
    return item[0]


def symlink_node(target: str, sink: SnapshotSink, profile: ImportProfile) -> Link:
    """The add pipeline's symlink node (`node.files.symlink_block`: the profile's hash too)."""
    from ..node.files import symlink_block

    block = symlink_block(os.fsencode(target), profile)
    sink.put([block])
    return Link(block.cid, len(block.data))


def snapshot(root_dir: str, *, profile: ImportProfile, sink: SnapshotSink, cache: StatCache | None,
             stats: SnapshotStats, limits: VersioningLimits = VERSIONING_LIMITS,
             tuning: AddTuning = ADD_TUNING) -> Link:
    """Snapshot `root_dir`; returns the root directory's link. Blocks go to `sink`. Files are
    read and chunked as `jzfs add` does (`tuning`: the node's `Defaults.add`).

    Leaves are hashed in a small thread pool owned by this call (hashlib releases the GIL)."""
    if not os.path.isdir(root_dir):
        raise NotFound(f"{root_dir} is not a directory")
    with ThreadPoolExecutor(max_workers=limits.snapshot_hash_threads) as pool:
        walker = _Walker(profile, sink, cache, stats, pool, pool_min_bytes=limits.snapshot_pool_min_bytes,
                         tuning=tuning)
        root = run_nested(walker.visit(os.path.abspath(root_dir)))  # no recursion: any depth
    sink.flush()
    return root


class _Walker:
    def __init__(self, profile: ImportProfile, sink: SnapshotSink, cache: StatCache | None,
                 stats: SnapshotStats, pool: Executor, *, pool_min_bytes: int, tuning: AddTuning) -> None:
        self.profile, self.sink, self.cache, self.stats, self.pool = profile, sink, cache, stats, pool
        self.pool_min_bytes = pool_min_bytes
        self.tuning = tuning
        self.key = cache_key(profile)
        if cache is not None:
            cache.preload(self.key)

    def visit(self, path: str) -> Generator[Any, Link, Link]:
        """One directory's link; a generator run by `run_nested` (`yield` = visit a subdirectory)."""
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
                subdirs[name] = sub = yield self.visit(prefix + name)
                parts.append((kind, name, sub.cid.buffer))
            else:
                links[name] = target
                parts.append((kind, name, target))
        sizes = [st.st_size for st in sts]
        mtimes = [st.st_mtime_ns for st in sts]
        inos = [st.st_ino for st in sts]
        racy = bool(mtimes) and max(mtimes) >= time.time_ns() - RACY_WINDOW_NS
        fingerprint = dir_fingerprint(names, sizes, mtimes, inos, parts)
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
        # Files as they were when this directory's node was last built keep the link that node
        # holds (it is in the store, and so is what it links to); the others are looked up in
        # the stat cache or read.
        kept = self.kept_files(path, names, sizes, mtimes, inos)
        todo = [(name, prefix + name, st) for name, st in zip(names, sts, strict=True) if name not in kept]
        if self.cache is None or not todo:
            found: list[Link | None] = [None] * len(todo)
        elif kept:  # a few files: a point query each
            found = [self.cached(fpath, st) for _, fpath, st in todo]
        else:
            found = self.cache.lookup_files(path, [(fpath, st) for _, fpath, st in todo], self.key)
        hits: list[tuple[str, str, os.stat_result, Link]] = []
        for (name, fpath, st), cached in zip(todo, found, strict=True):
            if cached is None:
                entries[name] = self.import_one(fpath, st)
            else:
                hits.append((name, fpath, st, cached))
        # Recorded, but are the blocks here? (another node's checkout, or GC since): one batched
        # check per directory; files whose blocks are gone are imported again.
        if hits:
            for (name, fpath, st, cached), here in zip(hits, self.sink.has_many([h[3].cid for h in hits]),
                                                        strict=True):
                entries[name] = cached if here else self.import_one(fpath, st)
        block = None
        if kept:  # most links as bytes already: encode the node directly
            items = [(n.encode("utf-8"), cid, tsize) for n, (cid, tsize) in kept.items()]
            items += [(n.encode("utf-8"), lk.cid.buffer, lk.tsize) for n, lk in entries.items()]
            block = plain_dir_block(items, self.profile)
        if block is not None:
            self.sink.put([block])
            link = Link(block.cid, len(block.data) + sum(tsize for _, _, tsize in items))
        else:
            entries.update((n, Link(stored_cid(cid), tsize)) for n, (cid, tsize) in kept.items())
            link = build_dir(entries, self.profile, self.sink)
        if not racy:
            file_links = [kept[n] if n in kept else (entries[n].cid.buffer, entries[n].tsize) for n in names]
            files = pack_dir_files(names, sizes, mtimes, inos, [c for c, _ in file_links],
                                   [t for _, t in file_links])
            self.stats.recorded_dirs.append(RecordedDir(path, fingerprint, link, files))
        return link

    def cached(self, path: str, st: os.stat_result) -> Link | None:
        if self.cache is None:
            return None
        try:
            return self.cache.lookup(path, st, self.key)
        except KeyError:
            return None

    def kept_files(self, path: str, names: list[str], sizes: list[int], mtimes: list[int],
                   inos: list[int]) -> dict[str, tuple[bytes, int]]:
        """name -> (CID bytes, Tsize) of the files whose size, mtime and inode are those recorded
        with the directory's last node, when that node is still in the store."""
        if self.cache is None or not names:
            return {}
        rec = self.cache.lookup_dir_files(path, self.key)
        if rec is None or not self.sink.has(rec.node):
            return {}
        old = (rec.sizes, rec.mtimes_ns, rec.inos, rec.cids, rec.tsizes)
        if rec.names != names:  # files added, removed or listed in another order: align by name
            index = {n: i for i, n in enumerate(rec.names)}
            at = [index.get(n, -1) for n in names]
            old = tuple([col[i] if i >= 0 else None for i in at] for col in old)
        return {name: (cid, tsize) for name, size, mtime, ino, osize, omtime, oino, cid, tsize
                in zip(names, sizes, mtimes, inos, *old, strict=True)
                if size == osize and mtime == omtime and ino == oino}

    def import_one(self, path: str, st: os.stat_result) -> Link:
        self.stats.hashed_files += 1
        # Small files hash faster inline than through the pool (a future costs ~30 µs).
        pool = self.pool if st.st_size > self.pool_min_bytes else None
        link = import_file(path, self.profile, self.sink, self.stats, pool, tuning=self.tuning)
        after = os.stat(path, follow_symlinks=False)
        if (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
            self.stats.recorded.append(recorded(path, st, link))
        return link
