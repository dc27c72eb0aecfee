"""Engine (c), the default: LMDB, one key per block (multihash -> bytes) in one memory-mapped B+tree.

Why it is crash safe: LMDB never overwrites live pages. A write transaction puts its pages in free
space, fsyncs them, and only then writes and fsyncs the meta page that makes them reachable, so a
`kill -9` or power cut leaves the previous committed state intact and never exposes a partial
value. `put_many` is one transaction (one fsync) per `max_batch_bytes`.

Why `writemap`: block bytes are copied once, straight into the file mapping, instead of into
malloc'ed pages that are then `pwrite`n; ~1.5x faster for 256 KiB-1 MiB blocks in interleaved A/B
runs (docs/blockstore.md). The cost: pages written or read count in the process's RSS as mapped
file pages (reclaimable page cache, not heap). `readahead` stays on: with writemap, turning it off
made every first touch of a new page a separate fault and halved write throughput.
With writemap LMDB sizes the file to the map size (sparse), so the map starts small and grows by
doubling when a transaction fills it (`MapFullError` -> grow -> retry the batch); another process
that sees the map grown adopts the new size (`MapResizedError`). Several processes may share the
store; LMDB serialises writers with its own (robust) lock, and readers never block.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from ..config import STORE_LIMITS
from ..errors import LimitExceeded
from ..ipld.block import Block
from ..ipld.cid import CID
from . import lmdb_env
from .keys import check_stored, cid_of_key, identity_data, is_identity, key_of, not_found

DATA_FILE = lmdb_env.DATA_FILE
_LEN = struct.Struct("<Q")
T = TypeVar("T")


class LmdbBlockstore:
    name = "lmdb"

    def __init__(self, root: Path | str, *, verify_on_read: bool = True, sync: bool = True,
                 max_map_size: int = STORE_LIMITS.lmdb_map_size,
                 initial_map_size: int = STORE_LIMITS.lmdb_initial_map_size,
                 max_batch_bytes: int = STORE_LIMITS.max_batch_bytes,
                 list_chunk: int = STORE_LIMITS.list_chunk,
                 small_block_bytes: int = STORE_LIMITS.lmdb_small_block_bytes) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._verify = verify_on_read
        self._max_batch = max_batch_bytes
        self._max_map = max_map_size
        self._list_chunk = list_chunk
        self._small_block_bytes = small_block_bytes
        self._key = os.path.realpath(self.root)
        self._shared = lmdb_env.acquire(self._key, sync=sync, initial_map_size=initial_map_size)
        self._env = self._shared.env
        self._gate = self._shared
        self._psize = int(self._env.stat()["psize"])
        self._closed = False

    # ------------------------------------------------------------------ transactions

    def _read(self, fn: Callable[[Any], T]) -> T:
        while True:
            try:
                with self._gate, self._env.begin(buffers=True) as txn:
                    return fn(txn)
            except lmdb.MapResizedError:
                self._gate.resize(0)  # another process grew the map: adopt its size

    def _write(self, fn: Callable[[Any], T]) -> T:
        while True:
            try:
                with self._gate, self._env.begin(write=True) as txn:
                    return fn(txn)
            except lmdb.MapResizedError:
                self._gate.resize(0)
            except lmdb.MapFullError:
                self._grow()

    def _grow(self, at_least: int = 0) -> None:
        current = self._env.info()["map_size"]
        if current >= self._max_map:
            raise LimitExceeded(f"blockstore is full: LMDB map reached {self._max_map} bytes "
                                "(raise StoreLimits.lmdb_map_size)")
        size = current * 2
        while size < at_least:
            size *= 2
        self._gate.resize(min(size, self._max_map))

    def _ensure_room(self, nbytes: int) -> None:
        """Grow the map before a batch that would not fit, rather than fail and redo it."""
        info = self._env.info()
        used = (info["last_pgno"] + 1) * self._psize
        need = used + nbytes + nbytes // 8 + (1 << 20)  # values + B-tree/overflow slack
        if need > info["map_size"]:
            self._grow(need)

    # ------------------------------------------------------------------ reads

    def get(self, cid: CID) -> bytes:
        if is_identity(cid):
            return identity_data(cid)

        def fn(txn: Any) -> bytes | None:
            view = txn.get(key_of(cid), db=self._shared.blocks_db)
            return None if view is None else bytes(view)

        data = self._read(fn)
        if data is None:
            raise not_found(cid)
        self._shared.touched(len(data) + self._psize)
        if self._verify:
            check_stored(cid, data)
        return data

    def _lengths(self, cids: list[CID]) -> list[int]:
        """Stored length per CID (-1 if absent) in one read transaction, from the index."""
        idx = self._shared.index_db

        def fn(txn: Any) -> list[int]:
            out = []
            for c in cids:
                v = txn.get(key_of(c), db=idx)
                out.append(-1 if v is None else _LEN.unpack(v)[0])
            return out

        return self._read(fn)

    def has(self, cid: CID) -> bool:
        if is_identity(cid):
            return True
        return self._lengths([cid])[0] >= 0

    def has_many(self, cids: Iterable[CID]) -> list[bool]:
        """`has` for many CIDs in ONE read transaction (versioning asks this for every block of a
        commit to count the new bytes)."""
        cids = list(cids)
        stored = [c for c in cids if not is_identity(c)]
        present = dict(zip(stored, (n >= 0 for n in self._lengths(stored)), strict=True))
        return [present.get(c, True) for c in cids]

    def size(self, cid: CID) -> int:
        if is_identity(cid):
            return len(identity_data(cid))
        n = self._lengths([cid])[0]
        if n < 0:
            raise not_found(cid)
        return n

    def cids(self) -> Iterator[CID]:
        # Page through the index in short read transactions so a slow consumer never pins old
        # pages, and a sweep deleting behind us is safe (we resume after the last key seen).
        idx = self._shared.index_db
        last: bytes | None = None
        while True:
            def chunk_after(txn: Any, last: bytes | None = last) -> list[bytes]:
                cur = txn.cursor(db=idx)
                ok = cur.first() if last is None else cur.set_range(last)
                if ok and last is not None and bytes(cur.key()) == last:
                    ok = cur.next()
                out: list[bytes] = []
                while ok and len(out) < self._list_chunk:
                    out.append(bytes(cur.key()))
                    ok = cur.next()
                return out

            chunk = self._read(chunk_after)
            if not chunk:
                return
            yield from (cid_of_key(k) for k in chunk)
            last = chunk[-1]

    def __len__(self) -> int:
        return int(self._read(lambda txn: txn.stat(self._shared.index_db)["entries"]))

    def disk_usage(self) -> int:
        """Bytes allocated on disk (the map file is sparse, its apparent size means nothing)."""
        return sum(os.stat(p).st_blocks * 512 for p in self.root.iterdir() if p.is_file())

    # ------------------------------------------------------------------ writes

    def put(self, cid: CID, data: bytes) -> None:
        if not is_identity(cid):
            self._put_batch([Block(cid, data)])

    def put_many(self, blocks: Iterable[Block]) -> None:
        batch: list[Block] = []
        n = 0
        for b in blocks:
            if is_identity(b.cid):
                continue
            batch.append(b)
            n += len(b.data)
            if n >= self._max_batch:
                self._put_batch(batch)
                batch, n = [], 0
        if batch:
            self._put_batch(batch)

    def _put_batch(self, batch: list[Block]) -> None:
        self._ensure_room(sum(len(b.data) for b in batch))

        blocks_db, idx = self._shared.blocks_db, self._shared.index_db
        # Small blocks: each dirties its own random B-tree leaf; without read-around those pages
        # stay 4 KiB folios and the commit writes back only them (see lmdb_env, read-around).
        small = sum(len(b.data) for b in batch) < self._small_block_bytes * len(batch)
        shared = self._shared

        def fn(txn: Any) -> None:
            if small:  # set inside every attempt: a map resize makes a new (normal) mapping
                shared.random_access(True)
            for b in batch:
                key = key_of(b.cid)
                if txn.put(key, _LEN.pack(len(b.data)), overwrite=False, db=idx):
                    txn.put(key, b.data, db=blocks_db)

        try:
            self._write(fn)  # the commit (freelist pages, msync) also runs without read-around
        finally:
            if small:
                with self._gate:
                    shared.random_access(False)
        self._shared.touched(sum(len(b.data) for b in batch) + self._psize)

    def delete(self, cid: CID) -> None:
        if is_identity(cid):
            return
        if not self.delete_many([cid]):
            raise not_found(cid)

    def delete_many(self, cids: Iterable[CID]) -> list[CID]:
        """Delete in one transaction; returns the CIDs that were present (and are now gone)."""
        todo = [c for c in cids if not is_identity(c)]
        blocks_db, idx = self._shared.blocks_db, self._shared.index_db

        def fn(txn: Any) -> list[CID]:
            gone = []
            for c in todo:
                key = key_of(c)
                if txn.delete(key, db=idx):
                    txn.delete(key, db=blocks_db)
                    gone.append(c)
            return gone

        return self._write(fn)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            lmdb_env.release(self._key)
