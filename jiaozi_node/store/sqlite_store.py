"""Engine (b): SQLite in WAL mode, blocks as BLOBs keyed by multihash, one transaction per batch.

Crash safety is SQLite's: with `synchronous=FULL` a committed transaction survives a crash and an
interrupted one is rolled back, so a partial block is never visible.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..config import STORE_LIMITS
from ..ipld.block import Block
from ..ipld.cid import CID
from .keys import check_stored, cid_of_key, identity_data, is_identity, key_of, not_found

DB_FILE = "blocks.sqlite"


class SqliteBlockstore:
    name = "sqlite"

    def __init__(self, root: Path | str, *, verify_on_read: bool = True, sync: bool = True,
                 max_batch_bytes: int = STORE_LIMITS.max_batch_bytes,
                 busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._verify = verify_on_read
        self._max_batch = max_batch_bytes
        self._db = sqlite3.connect(self.root / DB_FILE, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        self._db.execute("PRAGMA page_size=65536")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if sync else 'OFF'}")
        self._db.execute("CREATE TABLE IF NOT EXISTS blocks (key BLOB PRIMARY KEY, data BLOB NOT NULL)")

    def get(self, cid: CID) -> bytes:
        if is_identity(cid):
            return identity_data(cid)
        row = self._db.execute("SELECT data FROM blocks WHERE key = ?", (key_of(cid),)).fetchone()
        if row is None:
            raise not_found(cid)
        data: bytes = row[0]
        if self._verify:
            check_stored(cid, data)
        return data

    def has(self, cid: CID) -> bool:
        if is_identity(cid):
            return True
        return self._db.execute("SELECT 1 FROM blocks WHERE key = ?", (key_of(cid),)).fetchone() is not None

    def has_many(self, cids: Iterable[CID]) -> list[bool]:
        """`has` for many CIDs in one read transaction."""
        cids = list(cids)
        self._db.execute("BEGIN")
        try:
            return [self.has(c) for c in cids]
        finally:
            self._db.execute("COMMIT")

    def size(self, cid: CID) -> int:
        if is_identity(cid):
            return len(identity_data(cid))
        row = self._db.execute("SELECT length(data) FROM blocks WHERE key = ?", (key_of(cid),)).fetchone()
        if row is None:
            raise not_found(cid)
        return int(row[0])

    def cids(self) -> Iterator[CID]:
        keys = [r[0] for r in self._db.execute("SELECT key FROM blocks")]
        return (cid_of_key(k) for k in keys)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM blocks").fetchone()[0])

    def put(self, cid: CID, data: bytes) -> None:
        self.put_many([Block(cid, data)])

    def put_many(self, blocks: Iterable[Block]) -> None:
        batch: list[tuple[bytes, bytes]] = []
        n = 0
        for b in blocks:
            if is_identity(b.cid):
                continue
            batch.append((key_of(b.cid), b.data))
            n += len(b.data)
            if n >= self._max_batch:
                self._write(batch)
                batch, n = [], 0
        if batch:
            self._write(batch)

    def _write(self, batch: list[tuple[bytes, bytes]]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR IGNORE INTO blocks (key, data) VALUES (?, ?)", batch)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def delete(self, cid: CID) -> None:
        if is_identity(cid):
            return
        if self._db.execute("DELETE FROM blocks WHERE key = ?", (key_of(cid),)).rowcount == 0:
            raise not_found(cid)

    def delete_many(self, cids: Iterable[CID]) -> list[CID]:
        """Delete in one transaction; returns the CIDs that were present (and are now gone)."""
        gone: list[CID] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for cid in cids:
                if is_identity(cid):
                    continue
                if self._db.execute("DELETE FROM blocks WHERE key = ?", (key_of(cid),)).rowcount:
                    gone.append(cid)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return gone

    def close(self) -> None:
        self._db.close()
