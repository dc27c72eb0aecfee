"""Engine (d), the default: append-only pack files plus a log-structured index.

Why: a B-tree keyed by hashes (LMDB, SQLite) dirties one random page per new block, so batched
writes of small blocks slow down ~10-20x as the store grows to a million blocks
(docs/blockstore.md). Here a commit appends its blocks and a table of their index entries to the
active pack (sequential writes, two fdatasyncs); recent entries are looked up from those tables
(the *tail*, held in a dict) and every `pack_tail_entries` they are written out as a sorted *run*;
runs are merged geometrically (`pack_merge_ratio`), so a lookup searches ~log2(N / 64k) mapped
runs and every index entry is rewritten ~as often, never the block data.

Crash safety: a batch counts only once its trailer is complete and its CRC matches, and its body
is fsynced before its table is written, so a killed writer leaves at most an unfinished batch that
no reader indexes and the next writer truncates. Runs are fsynced before the manifest names them;
the manifest is replaced atomically (rename + directory fsync). A block's bytes are verified
against its hash on every read.

Processes: readers take no lock. Writers serialise on an flock of `write.lock`, held for one commit
(and for the flush or compaction that may follow it), and bump a change counter in the shared,
memory-mapped `CHANGES` file after each; every operation compares that counter (a memory read, no
system call) with the last one it saw and, if it moved, re-reads the manifest and scans the
active pack's new batches.

Deletes append tombstones; `compact()` (run after `repo gc`) rewrites sealed packs that are mostly
dead and removes them, so GC gives disk space back.
"""

from __future__ import annotations

import fcntl
import json
import mmap
import os
import struct
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ...config import STORE_LIMITS, StoreLimits
from ...errors import CorruptBlock, RepoError
from ...ipld.block import Block
from ...ipld.cid import CID
from ..keys import check_stored, cid_of_key, identity_data, is_identity, key_of, not_found
from .format import (
    HEADER,
    MAX_BATCH_ENTRIES,
    TOMBSTONE,
    TRAILER,
    BatchHeader,
    Row,
    check_key,
    decode_header,
    decode_table,
    encode_header,
    encode_table,
    key_hash,
    parse_manifest,
)
from .runs import Run
from .upkeep import Upkeep, fsync_dir

if TYPE_CHECKING:
    from .entries import Entries

MANIFEST = "MANIFEST"
LOCK_FILE = "write.lock"
CHANGES_FILE = "CHANGES"
_COUNTER = struct.Struct("<Q")
# Starts writeback of a range's dirty pages on Linux (see PackBlockstore._write_body); None where
# posix_fadvise is missing (macOS): the commit's fdatasync then does all the waiting, as before.
_START_WRITEBACK = getattr(os, "POSIX_FADV_DONTNEED", None) if sys.platform.startswith("linux") else None
Loc = tuple[int, int, int, int]  # pack, offset, length, flags


class PackBlockstore(Upkeep):
    name = "pack"
    # put_many writes each block's bytes (any buffer) with pwritev and keeps no reference to them
    # once it returns, so a caller may then reuse its buffers (node.leaf_ring, `jzfs add`).
    put_copies_data = True

    def __init__(self, root: Path | str, *, verify_on_read: bool = True, sync: bool = True,
                 max_batch_bytes: int = STORE_LIMITS.max_batch_bytes,
                 limits: StoreLimits = STORE_LIMITS) -> None:
        self.root = Path(root)
        self._packs_dir = self.root / "packs"
        self._runs_dir = self.root / "runs"
        self._packs_dir.mkdir(parents=True, exist_ok=True)
        self._runs_dir.mkdir(exist_ok=True)
        self._verify, self._sync, self._max_batch, self._lim = verify_on_read, sync, max_batch_bytes, limits
        self._mutex = threading.RLock()
        self._lockfd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        self._changes = self._map_changes()
        self._seen = -1
        self._fds: OrderedDict[int, int] = OrderedDict()  # pack -> fd (read-only), LRU
        self._wfd: tuple[int, int] | None = None  # (pack, fd) opened for appending
        self._runs: dict[int, Run] = {}
        self._run_list: list[Run] = []
        self._manifest: dict = {}
        self._msig: bytes | None = None
        self._active = self._tail_start = self._scan_pos = -1
        self._tail: dict[bytes, Loc] = {}
        self._tail_batches = 0
        self._closed = False
        if not (self.root / MANIFEST).exists():
            with self._writing(create=True):
                pass
        with self._mutex:
            self._refresh()

    # ------------------------------------------------------------------ view of the store

    def _map_changes(self) -> mmap.mmap:
        fd = os.open(self.root / CHANGES_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < _COUNTER.size:
                os.ftruncate(fd, _COUNTER.size)  # zero-filled; racing creators both write zeros
            return mmap.mmap(fd, _COUNTER.size)
        finally:
            os.close(fd)

    def _changed(self) -> None:
        """Tell every store object on these files (in any process) to look again."""
        _COUNTER.pack_into(self._changes, 0, (_COUNTER.unpack_from(self._changes)[0] + 1) % (1 << 64))

    def _pack_path(self, pack: int) -> Path:
        return self._packs_dir / f"{pack:08d}.pack"

    def _fd(self, pack: int) -> int:
        fd = self._fds.get(pack)
        if fd is not None:
            self._fds.move_to_end(pack)
            return fd
        fd = os.open(self._pack_path(pack), os.O_RDONLY)
        self._fds[pack] = fd
        while len(self._fds) > self._lim.pack_open_files:
            os.close(self._fds.popitem(last=False)[1])
        return fd

    def _refresh(self, *, force: bool = False) -> None:
        """Adopt what other processes (or store objects) committed since we last looked."""
        if self._closed:
            raise RepoError(f"blockstore {self.root} is closed")
        seq = _COUNTER.unpack_from(self._changes)[0]
        if seq == self._seen and not force:
            return
        missing = None
        for _ in range(self._lim.pack_vanish_retries):
            try:
                # Compared by content, not (inode, mtime, size): a replaced manifest can reuse the
                # inode of the one before last, with the same size and (coarse) mtime.
                sig = (self.root / MANIFEST).read_bytes()
                if sig != self._msig:
                    self._load_manifest(parse_manifest(sig, str(self.root / MANIFEST)))
                    self._msig = sig
                self._scan_tail()
                # seq was read before looking (a change made meanwhile moves it again); adopted only
                # on success, so a store that failed to refresh (damaged files) tries again next time
                self._seen = seq
                return
            except FileNotFoundError as exc:
                self._msig = None
                missing = exc.filename
        raise RepoError(f"blockstore {self.root}: {missing} is missing (or files keep vanishing while opening it)")

    def _load_manifest(self, m: dict) -> None:
        wanted = {int(r[0]): r for r in m["runs"]}
        for rid in [r for r in self._runs if r not in wanted]:
            self._runs.pop(rid).close()
        for rid, (_, n, width) in wanted.items():
            if rid not in self._runs:
                self._runs[rid] = Run(self._runs_dir, rid, int(n), int(width))
        self._run_list = [self._runs[int(r[0])] for r in m["runs"]]
        for pack, fd in list(self._fds.items()):  # compacted away: an open fd would keep its space
            if os.fstat(fd).st_nlink == 0:
                os.close(self._fds.pop(pack))
        if self._wfd is not None and self._wfd[0] != int(m["active"]):  # sealed: may be compacted
            os.close(self._wfd[1])
            self._wfd = None
        if (m["active"], m["tail_start"]) != (self._active, self._tail_start):
            self._active, self._tail_start = int(m["active"]), int(m["tail_start"])
            self._tail, self._tail_batches, self._scan_pos = {}, 0, self._tail_start
        self._manifest = m

    def _scan_tail(self) -> None:
        """Index the batches appended to the active pack after `_scan_pos`, up to the first one
        that is incomplete (being written, or left unfinished by a killed writer)."""
        fd = self._fd(self._active)
        size = os.fstat(fd).st_size
        pos = self._scan_pos
        while pos + HEADER.size + TRAILER.size <= size:
            hdr, e = self._batch_at(fd, pos, size)
            if hdr is None:
                break
            if e is None:
                # A complete batch that does not check out. If a valid batch follows it, read it
                # again (it may have been written since): if it still fails, it is damaged on disk
                # (a torn write is always the last batch), so lose its blocks only, not those of
                # every later batch, which the next writer would cut off.
                if self._batch_at(fd, pos + hdr.total_len, size)[1] is None:
                    break
                again, e = self._batch_at(fd, pos, size)
                if again != hdr:
                    break
            if e is not None:
                self._add_to_tail(e)
            pos += hdr.total_len
        self._scan_pos = pos

    def _batch_at(self, fd: int, pos: int, size: int) -> tuple[BatchHeader | None, list[Row] | None]:
        """The header of the complete batch at `pos` of the active pack (None if there is none),
        and its entries (None if its table does not check out)."""
        raw = os.pread(fd, HEADER.size, pos)
        hdr = decode_header(raw, MAX_BATCH_ENTRIES)
        if hdr is None or pos + hdr.total_len > size:
            return None, None
        table = os.pread(fd, hdr.table_len + TRAILER.size, pos + HEADER.size + hdr.body_len)
        return hdr, decode_table(raw, hdr, table, self._active, pos + HEADER.size)

    def _add_to_tail(self, rows: list[Row]) -> None:
        for key, pack, off, length, flags in rows:
            self._tail[key] = (pack, off, length, flags)
        self._tail_batches += 1

    def _lookup(self, key: bytes) -> Loc | None:
        """Where the newest entry for `key` is (a tombstone counts as absent)."""
        loc = self._tail.get(key)
        if loc is None:
            h = key_hash(key)
            for run in reversed(self._run_list):
                loc = run.find(key, h)
                if loc is not None:
                    break
        return None if loc is None or loc[3] & TOMBSTONE else loc

    def _lookup_many(self, keys: list[bytes]) -> list[Loc | None]:
        """`_lookup` for many keys. Large batches (a put_many's dedupe check, a wantlist) search
        each run once, vectorised (numpy searchsorted over the mapped hash column), instead of
        per key: the per-key Python cost of a lookup grows with the number of runs, this not."""
        if len(keys) < self._lim.pack_vector_lookup_min or not self._run_list:
            return [self._lookup(k) for k in keys]
        import numpy as np

        out: list[Loc | None] = [None] * len(keys)
        pending: list[int] = []
        for i, k in enumerate(keys):
            loc = self._tail.get(k)
            if loc is None:
                pending.append(i)
            elif not loc[3] & TOMBSTONE:
                out[i] = loc
        for run in reversed(self._run_list):
            if not pending:
                break
            hs = np.fromiter((key_hash(keys[i]) for i in pending), np.uint64, len(pending))
            col = run.h_column()
            at = np.minimum(np.searchsorted(col, hs), run.n - 1)
            still = []
            for j in np.nonzero(col[at] == hs)[0].tolist():  # equal hash: compare the key
                i = pending[j]
                loc = run.find(keys[i], int(hs[j]))
                if loc is None:
                    still.append(i)
                elif not loc[3] & TOMBSTONE:
                    out[i] = loc
            misses = set(np.nonzero(col[at] != hs)[0].tolist())
            pending = sorted(still + [pending[j] for j in misses])
        return out

    def _tail_entries(self) -> Entries:
        from .entries import Entries  # numpy: flushes and listings only

        return Entries.build([(k, *loc) for k, loc in self._tail.items()])

    def _sources(self) -> list[Entries]:
        """The whole index, oldest first (views of mapped runs, then the tail)."""
        return [r.entries() for r in self._run_list] + [self._tail_entries()]

    # ------------------------------------------------------------------ reads

    def _read(self, cid: CID) -> bytes:
        key = key_of(cid)
        for _ in range(self._lim.pack_vanish_retries):
            with self._mutex:
                self._refresh()
                loc = self._lookup(key)
                if loc is None:
                    raise not_found(cid)
                pack, off, length, _ = loc
                try:
                    data = os.pread(self._fd(pack), length, off)
                except FileNotFoundError:  # compacted away by another process: look again
                    self._msig = None
                    self._seen = -1
                    continue
            if len(data) != length:
                raise CorruptBlock(f"block {cid} is corrupt on disk: pack {pack} is truncated")
            return data
        raise CorruptBlock(f"block {cid} is corrupt on disk: pack {pack} is missing (or the block keeps moving)")

    def get(self, cid: CID) -> bytes:
        if is_identity(cid):
            return identity_data(cid)
        data = self._read(cid)
        if self._verify:
            check_stored(cid, data)
        return data

    def has(self, cid: CID) -> bool:
        if is_identity(cid):
            return True
        with self._mutex:
            self._refresh()
            return self._lookup(key_of(cid)) is not None

    def has_many(self, cids: Iterable[CID]) -> list[bool]:
        cids = list(cids)
        with self._mutex:
            self._refresh()
            stored = [c for c in cids if not is_identity(c)]
            found = dict(zip(stored, self._lookup_many([key_of(c) for c in stored]), strict=True))
            return [is_identity(c) or found[c] is not None for c in cids]

    def size(self, cid: CID) -> int:
        if is_identity(cid):
            return len(identity_data(cid))
        with self._mutex:
            self._refresh()
            loc = self._lookup(key_of(cid))
        if loc is None:
            raise not_found(cid)
        return loc[2]

    def cids(self) -> Iterator[CID]:
        """A snapshot listing (deletes and merges meanwhile do not disturb it)."""
        with self._mutex:
            self._refresh()
            sources = self._sources()
        from .merge import sliced

        for s in sliced(sources, drop_tombstones=True, slice_entries=self._lim.pack_slice_entries):
            kb, w = s.keys.tobytes(), s.width
            for i, klen in enumerate(s.loc["klen"].tolist()):
                yield cid_of_key(kb[i * w: i * w + klen])

    def __len__(self) -> int:
        with self._mutex:
            self._refresh()
            sources = self._sources()
        from .merge import sliced

        return sum(len(s) for s in sliced(sources, drop_tombstones=True,
                                          slice_entries=self._lim.pack_slice_entries))

    def disk_usage(self) -> int:
        total = 0
        for p in self.root.rglob("*"):
            try:
                total += p.stat().st_blocks * 512 if p.is_file() else 0
            except FileNotFoundError:  # a run merged or a pack compacted away by another process
                pass
        return total

    # ------------------------------------------------------------------ writes

    @contextmanager
    def _writing(self, *, create: bool = False) -> Iterator[None]:
        with self._mutex:
            if self._closed:
                raise RepoError(f"blockstore {self.root} is closed")
            fcntl.flock(self._lockfd, fcntl.LOCK_EX)
            try:
                if create and not (self.root / MANIFEST).exists():
                    if any(p.stat().st_size for p in self._packs_dir.iterdir()) or any(self._runs_dir.iterdir()):
                        raise RepoError(f"blockstore {self.root}: MANIFEST is missing but packs/runs hold data")
                    self._pack_path(0).touch()
                    if self._sync:
                        fsync_dir(self._packs_dir)
                    self._write_manifest({"format": 1, "runs": [], "active": 0, "tail_start": 0,
                                          "next_run": 0})
                self._refresh(force=True)
                yield
            finally:
                self._changed()
                fcntl.flock(self._lockfd, fcntl.LOCK_UN)

    def _write_manifest(self, m: dict) -> None:
        tmp = self.root / (MANIFEST + ".tmp")
        with open(tmp, "w") as f:
            json.dump(m, f)
            f.flush()
            if self._sync:
                os.fsync(f.fileno())
        os.replace(tmp, self.root / MANIFEST)
        if self._sync:
            fsync_dir(self.root)

    def put(self, cid: CID, data: bytes) -> None:
        if not is_identity(cid):
            self._commit([(key_of(cid), data)])

    def put_many(self, blocks: Iterable[Block]) -> None:
        batch: list[tuple[bytes, bytes | None]] = []
        n = 0
        for b in blocks:
            if is_identity(b.cid):
                continue
            batch.append((key_of(b.cid), b.data))
            n += len(b.data)
            if n >= self._max_batch or len(batch) >= self._lim.pack_batch_entries:
                self._commit(batch)
                batch, n = [], 0
        if batch:
            self._commit(batch)

    def delete(self, cid: CID) -> None:
        if is_identity(cid):
            return
        if not self.delete_many([cid]):
            raise not_found(cid)

    def delete_many(self, cids: Iterable[CID]) -> list[CID]:
        """Delete in one commit; returns the CIDs that were present (and are now gone)."""
        todo = [c for c in cids if not is_identity(c)]
        gone: set[bytes] = set()
        for i in range(0, len(todo), self._lim.pack_batch_entries):
            chunk = todo[i: i + self._lim.pack_batch_entries]
            gone.update(self._commit([(key_of(c), None) for c in chunk]))
        out = []
        for c in todo:  # each removed block reported once, under the CID it was asked by
            if key_of(c) in gone:
                gone.remove(key_of(c))
                out.append(c)
        return out

    def _commit(self, items: list[tuple[bytes, bytes | None]]) -> list[bytes]:
        """Append the puts (data) and deletes (None) that change something, as one batch."""
        with self._writing():
            todo: list[tuple[bytes, bytes | None]] = []
            seen: set[bytes] = set()
            for key, _ in items:
                check_key(key)
            present = self._lookup_many([k for k, _ in items])
            for (key, data), loc in zip(items, present, strict=True):
                if key in seen:
                    continue
                if (loc is None) == (data is None):
                    continue  # putting a present block, deleting an absent one
                seen.add(key)
                todo.append((key, data))
            if todo:
                self._append(todo)
                self._maybe_flush()
            return [k for k, _ in todo]

    def _append_fd(self) -> int:
        if self._wfd is None or self._wfd[0] != self._active:
            if self._wfd is not None:
                os.close(self._wfd[1])
            self._wfd = (self._active, os.open(self._pack_path(self._active), os.O_RDWR))
        return self._wfd[1]

    def _append(self, todo: list[tuple[bytes, bytes | None]]) -> None:
        fd = self._append_fd()
        if os.fstat(fd).st_size != self._scan_pos:  # bytes after the last valid batch
            self._recover_tail(fd)
            fd = self._append_fd()
        pos = self._scan_pos
        keys = [k for k, _ in todo]
        datas = [d for _, d in todo if d is not None]
        body_len = sum(len(d) for d in datas)
        header = encode_header(len(todo), max(len(k) for k in keys), body_len)
        offsets, lengths, flags = [], [], []
        cursor = pos + HEADER.size
        for _, d in todo:
            offsets.append(cursor if d is not None else 0)
            lengths.append(len(d) if d is not None else 0)
            flags.append(0 if d is not None else TOMBSTONE)
            cursor += lengths[-1]
        self._write_body(fd, [header, *datas], pos)
        if self._sync and datas:
            os.fdatasync(fd)  # the body is durable before the table that makes it visible
        table = encode_table(header, keys, offsets, lengths, flags)
        self._pwrite_all(fd, [table], cursor)
        if self._sync:
            os.fdatasync(fd)
        for key, off, length, flag in zip(keys, offsets, lengths, flags, strict=True):
            self._tail[key] = (self._active, off, length, flag)
        self._tail_batches += 1
        self._scan_pos = cursor + len(table)

    def _write_body(self, fd: int, bufs: list[bytes], pos: int) -> None:
        """A batch's header and blocks. With sync on, each `pack_writeback_kick_bytes` written
        are handed to the disk at once (`posix_fadvise` DONTNEED: Linux starts writing back the
        range's dirty pages, without waiting, and they stay cached), so the fdatasync after the
        body waits for its last slice instead of all of it. Durability still comes from that
        fdatasync alone; this only starts the disk earlier."""
        kick = self._lim.pack_writeback_kick_bytes
        if not (self._sync and kick > 0 and _START_WRITEBACK is not None):
            self._pwrite_all(fd, bufs, pos)
            return
        group: list[bytes] = []
        n = 0
        for b in bufs:
            group.append(b)
            n += len(b)
            if n >= kick:
                self._pwrite_all(fd, group, pos)
                os.posix_fadvise(fd, pos, n, _START_WRITEBACK)
                pos += n
                group, n = [], 0
        if group:
            self._pwrite_all(fd, group, pos)

    @staticmethod
    def _pwrite_all(fd: int, bufs: list[bytes], pos: int) -> None:
        iov_max = 1024
        bufs = [b for b in bufs if len(b)]
        i = 0
        while i < len(bufs):
            n = os.pwritev(fd, bufs[i: i + iov_max], pos)
            pos += n
            while i < len(bufs) and n >= len(bufs[i]):
                n -= len(bufs[i])
                i += 1
            if n:  # a short write ended inside this buffer
                bufs[i] = memoryview(bufs[i])[n:]

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
            if self._wfd is not None:
                os.close(self._wfd[1])
                self._wfd = None
            for r in self._runs.values():
                r.close()
            self._runs.clear()
            self._changes.close()
            os.close(self._lockfd)
