"""The refs store on PostgreSQL (psycopg 3): several nodes can share one database.

`jzfs init --db postgres://user:pass@host:5432/db?sslmode=disable` selects it. The connection is
in autocommit mode, so every statement is its own transaction; the compare-and-swap is a single
`UPDATE … WHERE target = expected`, which PostgreSQL re-checks on the locked row after waiting
for a concurrent writer (READ COMMITTED re-evaluation), so exactly one of two racing writers
matches and the other sees 0 rows and gets RefConflict.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ..config import VERSIONING_LIMITS
from ..errors import RepoError
from .refs import SCHEMA, SqlRefStore

# Any fixed 64-bit number: serialises schema creation between nodes starting at the same time
# (concurrent CREATE TABLE IF NOT EXISTS can otherwise fail with a unique violation in pg_type).
_SCHEMA_LOCK = 0x6A7A66735F726566  # "jzfs_ref"


class PostgresRefStore(SqlRefStore):
    ph = "%s"

    def __init__(self, url: str, *, connect_timeout_s: float = VERSIONING_LIMITS.refs_connect_timeout_s) -> None:
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=int(connect_timeout_s))
            self._db.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
            try:
                for stmt in SCHEMA:
                    self._db.execute(stmt)
            finally:
                self._db.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
        except psycopg.Error as exc:
            raise RepoError(f"cannot open the PostgreSQL refs database: {exc}".strip()) from None

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[int, list[tuple[Any, ...]]]:
        try:
            cur = self._db.execute(sql, params)
            rows = cur.fetchall() if cur.description is not None else []
            return cur.rowcount, rows
        except psycopg.Error as exc:
            raise RepoError(f"refs database error: {exc}".strip()) from None

    def _transaction(self) -> Any:
        return self._db.transaction()  # psycopg: BEGIN … COMMIT, ROLLBACK when the block raises

    def close(self) -> None:
        self._db.close()
