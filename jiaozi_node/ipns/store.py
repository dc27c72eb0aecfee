"""IPNS state in the repo (`$JZFS_PATH/ipns.db`, SQLite): our published records, the resolve
cache, and the dataset heads seen per name.

* `published`: the latest record we made for each of our keys, with the key name and the
  lifetime/TTL it was published with (the republisher re-signs from this; sequence numbers
  survive restarts because the next record's sequence is derived from the stored one).
* `cache`: valid records fetched from elsewhere, with when they stop being fresh (the record's
  TTL, never past its EOL). Records are re-validated every time they are read (`now` moves on).
* `seen_heads`: for datasets published under a name, the newest commit seen per branch, so that
  a record pointing backwards in history is reported instead of silently applied.

Only validated records are ever written to `published` or `cache` (callers validate; `put_*`
take an `IpnsRecord`, which only `validate_record` makes).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import STORE_LIMITS
from .name import IpnsName
from .record import IpnsRecord

FILE_NAME = "ipns.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS published (
  name TEXT PRIMARY KEY, key_name TEXT NOT NULL, record BLOB NOT NULL,
  lifetime_s REAL NOT NULL, ttl_s REAL NOT NULL, v2_only INTEGER NOT NULL, published_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cache (
  name TEXT PRIMARY KEY, record BLOB NOT NULL, fresh_until REAL NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen_heads (
  name TEXT NOT NULL, ref TEXT NOT NULL, commit_cid TEXT NOT NULL, seen_at REAL NOT NULL,
  PRIMARY KEY (name, ref));
"""


@dataclass(frozen=True)
class Published:
    name: IpnsName
    key_name: str
    record: bytes
    lifetime_s: float
    ttl_s: float
    v2_only: bool
    published_at: float


class IpnsStore:
    def __init__(self, path: Path, *, busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def for_repo(cls, repo: object, *,
                 busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> IpnsStore:
        return cls(Path(repo.path) / FILE_NAME, busy_timeout_ms=busy_timeout_ms)  # type: ignore[attr-defined]

    def close(self) -> None:
        self._db.close()

    # ---------------------------------------------------------------- published

    def put_published(self, name: IpnsName, key_name: str, rec: IpnsRecord, *, lifetime_s: float,
                      ttl_s: float, v2_only: bool, now: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO published VALUES (?,?,?,?,?,?,?)",
                (str(name), key_name, rec.raw, lifetime_s, ttl_s, int(v2_only), now))

    def published(self, name: IpnsName) -> Published | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM published WHERE name=?", (str(name),)).fetchone()
        return _published(row) if row else None

    def all_published(self) -> Iterator[Published]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM published ORDER BY name").fetchall()
        return (_published(r) for r in rows)

    # ---------------------------------------------------------------- cache

    def put_cache(self, name: IpnsName, rec: IpnsRecord, *, now: float, source: str,
                  max_entries: int) -> None:
        fresh_until = min(now + rec.ttl_ns / 1e9, rec.validity_ns / 1e9)
        with self._lock:
            old = self._db.execute("SELECT record FROM cache WHERE name=?", (str(name),)).fetchone()
            self._db.execute("INSERT OR REPLACE INTO cache VALUES (?,?,?,?)",
                             (str(name), rec.raw, fresh_until, source))
            if old is None:
                self._db.execute("DELETE FROM cache WHERE name NOT IN (SELECT name FROM cache "
                                 "ORDER BY fresh_until DESC LIMIT ?)", (max_entries,))

    def cached(self, name: IpnsName) -> tuple[bytes, float, str] | None:
        """(record, fresh_until, source) — not validated: the caller validates with `now`."""
        with self._lock:
            row = self._db.execute("SELECT record, fresh_until, source FROM cache WHERE name=?",
                                   (str(name),)).fetchone()
        return (bytes(row[0]), float(row[1]), str(row[2])) if row else None

    def drop_cache(self, name: IpnsName) -> None:
        with self._lock:
            self._db.execute("DELETE FROM cache WHERE name=?", (str(name),))

    # ---------------------------------------------------------------- dataset heads

    def seen_head(self, name: str, ref: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT commit_cid FROM seen_heads WHERE name=? AND ref=?",
                                   (name, ref)).fetchone()
        return str(row[0]) if row else None

    def set_seen_head(self, name: str, ref: str, commit_cid: str, *, now: float) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO seen_heads VALUES (?,?,?,?)",
                             (name, ref, commit_cid, now))


def _published(row: tuple) -> Published:
    return Published(IpnsName.parse(row[0]), row[1], bytes(row[2]), float(row[3]), float(row[4]),
                     bool(row[5]), float(row[6]))
