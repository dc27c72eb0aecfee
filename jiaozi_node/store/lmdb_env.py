"""Process-wide LMDB environments for the LMDB engine: sharing, safe resizing, RSS control.

* LMDB allows one environment per file per process, so stores opened on the same directory share
  one `SharedEnv` (reference-counted): two Nodes over one repo in a test, the daemon plus an API
  call, ...
* `set_mapsize` is only allowed while this process has no open transaction: every transaction
  enters the `SharedEnv` as a gate, and `resize` waits until none is inside.
* With `writemap`, every page written or read through the shared file mapping stays mapped into the
  process and counts in its RSS (as file pages, which the kernel can reclaim, but RSS figures and
  container limits see them). After `unmap_after_bytes` have gone through the map, `touched()`
  drops the process's page-table entries for it with madvise(MADV_DONTNEED): for a MAP_SHARED file
  mapping that only unmaps — the data stays in the page cache (dirty pages stay dirty) and the next
  access faults it back in. No memoryview into the map outlives a transaction (the engine copies),
  and the drop runs inside the gate so the mapping cannot be moved under it.
* Read-around: a fault that misses the page cache (including a write fault on a not-yet-written
  part of the sparse file) reads around it, up to the disk's read_ahead_kb (8 MiB here), into
  large page-cache folios. Dirtying one 4 KiB B-tree page then makes the commit's msync write back
  the whole folio: with 500k small blocks stored, a batch of 1000 new 1 KiB blocks wrote ~800 KiB
  per block. `random_access()` turns read-around off (MADV_RANDOM) for the duration of a
  small-block write transaction, so the pages it faults in stay 4 KiB and only they are written
  (~14 KiB per block, flat as the store grows). Large-block batches keep read-around: their
  overflow pages are written sequentially and read-around doubles their throughput.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

import lmdb

from ..config import STORE_LIMITS

DATA_FILE = "data.mdb"
MADV_NORMAL = 0  # Linux
MADV_RANDOM = 1
MADV_DONTNEED = 4

_ENVS: dict[str, SharedEnv] = {}
_ENVS_LOCK = threading.Lock()


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def mapping_of(path: str) -> tuple[int, int] | None:
    """(start, end) of this process's mapping of `path`, from /proc/self/maps (None if absent)."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.endswith(" " + path):
                    start, end = line.split(None, 1)[0].split("-")
                    return int(start, 16), int(end, 16)
    except OSError:
        return None
    return None


class SharedEnv:
    def __init__(self, key: str, *, sync: bool, initial_map_size: int, unmap_after_bytes: int,
                 max_readers: int = STORE_LIMITS.lmdb_max_readers) -> None:
        self.key = key
        self.data_path = os.path.join(key, DATA_FILE)
        try:
            existing = os.stat(self.data_path).st_size
        except FileNotFoundError:
            existing = 0
        self.env = lmdb.open(key, map_size=max(existing, initial_map_size), subdir=True,
                             writemap=True, sync=sync, metasync=sync, readahead=True,
                             max_readers=max_readers, max_spare_txns=4,
                             max_dbs=2)
        # Two sub-databases, written in the same transactions: `blocks` (multihash -> bytes) and
        # `index` (multihash -> length, 8 bytes LE). has/size/cids/len only read the small index,
        # because py-lmdb touches every page of any value it returns (even to list keys): without
        # the index, listing a store for GC would read the whole store from disk.
        self.blocks_db = self.env.open_db(b"blocks")
        self.index_db = self.env.open_db(b"index")
        # Free reader slots left by killed processes, or the pages they pinned are never reused.
        self.env.reader_check()
        self.refs = 1
        self._cond = threading.Condition()
        self._active = 0
        self._resizing = False
        self._mapping: tuple[int, int] | None = None
        self._mapping_known = False
        self._touched = 0
        self._unmap_after = unmap_after_bytes

    # ------------------------------------------------------------------ gate

    def __enter__(self) -> None:
        with self._cond:
            while self._resizing:
                self._cond.wait()
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._active -= 1
            if self._active == 0:
                self._cond.notify_all()

    def resize(self, size: int) -> None:
        """`set_mapsize(size)` (0: adopt the size another process set) with no transaction open."""
        with self._cond:
            while self._resizing:
                self._cond.wait()
            self._resizing = True
            try:
                while self._active:
                    self._cond.wait()
                self.env.set_mapsize(size)
                self._mapping_known = False  # LMDB remapped: the address may have changed
            finally:
                self._resizing = False
                self._cond.notify_all()

    # ------------------------------------------------------------------ read-around control

    def _madvise_locked(self, advice: int) -> bool:
        """madvise the whole mapping; the caller holds the gate (the mapping cannot move)."""
        if _LIBC is None:
            return False
        if not self._mapping_known:
            self._mapping = mapping_of(self.data_path)
            self._mapping_known = True
        if self._mapping is None:
            return False
        start, end = self._mapping
        return bool(_LIBC.madvise(start, end - start, advice) == 0)

    def random_access(self, on: bool) -> None:
        """Turn fault read-around off (on=True) or back to normal; caller holds the gate."""
        self._madvise_locked(MADV_RANDOM if on else MADV_NORMAL)

    # ------------------------------------------------------------------ RSS control

    def touched(self, nbytes: int) -> None:
        """Account bytes that went through the map; past the threshold, unmap them."""
        self._touched += nbytes
        if self._touched >= self._unmap_after:
            self._touched = 0
            self.release_pages()

    def release_pages(self) -> bool:
        """Drop this process's mapping of the store's pages (kept in the page cache)."""
        with self:
            return self._madvise_locked(MADV_DONTNEED)


def acquire(key: str, *, sync: bool, initial_map_size: int,
            unmap_after_bytes: int = STORE_LIMITS.lmdb_unmap_after_bytes) -> SharedEnv:
    with _ENVS_LOCK:
        shared = _ENVS.get(key)
        if shared is not None:
            shared.refs += 1
            return shared
        shared = _ENVS[key] = SharedEnv(key, sync=sync, initial_map_size=initial_map_size,
                                        unmap_after_bytes=unmap_after_bytes)
        return shared


def release(key: str) -> None:
    with _ENVS_LOCK:
        shared = _ENVS.get(key)
        if shared is None:
            return
        shared.refs -= 1
        if shared.refs == 0:
            del _ENVS[key]
            shared.env.close()
