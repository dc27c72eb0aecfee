"""The refs store: dataset repositories, their refs (branches, tags, remote-tracking refs) and who
may push to them. SQLite by default (`$JZFS_PATH/refs.db`), PostgreSQL when the repo config's
`Refs.Database` is a `postgres://` URL (see `refs_pg.py`).

Every ref update is a compare-and-swap: `update_ref(repo, ref, new, expected=old)` moves the ref
only if it still points at `old` (`expected=None`: only if it does not exist yet), in ONE SQL
statement, so two processes or two nodes sharing a database can never lose a commit. The loser
gets `RefConflict("branch main moved, now at bafy…")` and nothing changes.

Ref names are full paths: `heads/BRANCH`, `tags/TAG`, `remotes/REMOTE/BRANCH`. Targets are stored
as CID strings (readable with `sqlite3`/`psql`).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ..config import VERSIONING_LIMITS, VersioningLimits
from ..errors import InvalidInput, NotFound, RefConflict, RepoError
from ..ipld.cid import CID
from ..versioning.names import check_ref_name, check_repo_name

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS jzfs_repos (
        name TEXT PRIMARY KEY,
        created BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS jzfs_refs (
        repo TEXT NOT NULL REFERENCES jzfs_repos(name) ON DELETE CASCADE,
        ref TEXT NOT NULL,
        target TEXT NOT NULL,
        PRIMARY KEY (repo, ref))""",
    """CREATE TABLE IF NOT EXISTS jzfs_writers (
        repo TEXT NOT NULL REFERENCES jzfs_repos(name) ON DELETE CASCADE,
        peer TEXT NOT NULL,
        PRIMARY KEY (repo, peer))""",
]


def describe(ref: str) -> str:
    """`heads/main` → `branch main`, `tags/v1` → `tag v1` (for messages)."""
    kind, _, rest = ref.partition("/")
    return {"heads": f"branch {rest}", "tags": f"tag {rest}"}.get(kind, f"ref {ref}")


class RefStore(Protocol):
    def create_repo(self, name: str, *, now: int) -> None: ...
    def delete_repo(self, name: str) -> None: ...
    def list_repos(self) -> list[str]: ...
    def has_repo(self, name: str) -> bool: ...
    def get_ref(self, repo: str, ref: str) -> CID: ...
    def list_refs(self, repo: str, prefix: str = "") -> dict[str, CID]: ...
    def update_ref(self, repo: str, ref: str, new: CID, *, expected: CID | None) -> None: ...
    def update_refs(self, repo: str, updates: Sequence[tuple[str, CID, CID | None]], *,
                    create_at: int | None = None) -> None: ...
    def delete_ref(self, repo: str, ref: str, *, expected: CID | None = None) -> None: ...
    def allow_writer(self, repo: str, peer: str) -> None: ...
    def remove_writer(self, repo: str, peer: str) -> None: ...
    def writers(self, repo: str) -> list[str]: ...
    def all_targets(self) -> list[CID]: ...
    def close(self) -> None: ...


class SqlRefStore(ABC):
    """The SQL shared by both engines. Subclasses provide `_execute` and the placeholder style."""

    ph = "?"

    @abstractmethod
    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[int, list[tuple[Any, ...]]]: ...

    @abstractmethod
    def _transaction(self) -> Any:
        """A context manager: the statements inside commit together, or not at all."""

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.ph)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[int, list[tuple[Any, ...]]]:
        return self._execute(self._q(sql), params)

    # ------------------------------------------------------------------ repos

    def create_repo(self, name: str, *, now: int) -> None:
        check_repo_name(name)
        n, _ = self._run("INSERT INTO jzfs_repos (name, created) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         (name, now))
        if n == 0:
            raise InvalidInput(f"repository {name!r} already exists")

    def delete_repo(self, name: str) -> None:
        self._require_repo(name)
        self._run("DELETE FROM jzfs_refs WHERE repo = ?", (name,))
        self._run("DELETE FROM jzfs_writers WHERE repo = ?", (name,))
        self._run("DELETE FROM jzfs_repos WHERE name = ?", (name,))

    def list_repos(self) -> list[str]:
        return [r[0] for r in self._run("SELECT name FROM jzfs_repos ORDER BY name")[1]]

    def has_repo(self, name: str) -> bool:
        return bool(self._run("SELECT 1 FROM jzfs_repos WHERE name = ?", (name,))[1])

    def _require_repo(self, name: str) -> None:
        if not self.has_repo(name):
            raise NotFound(f"no repository named {name!r} (jzfs repo create {name})")

    # ------------------------------------------------------------------ refs

    def get_ref(self, repo: str, ref: str) -> CID:
        rows = self._run("SELECT target FROM jzfs_refs WHERE repo = ? AND ref = ?", (repo, ref))[1]
        if not rows:
            self._require_repo(repo)
            raise NotFound(f"{describe(ref)} not found in repository {repo!r}")
        return CID.decode(rows[0][0])

    def list_refs(self, repo: str, prefix: str = "") -> dict[str, CID]:
        self._require_repo(repo)
        rows = self._run("SELECT ref, target FROM jzfs_refs WHERE repo = ? ORDER BY ref", (repo,))[1]
        return {r: CID.decode(t) for r, t in rows if r.startswith(prefix)}

    def update_ref(self, repo: str, ref: str, new: CID, *, expected: CID | None) -> None:
        """Compare-and-swap. `expected=None` creates the ref and fails if it exists."""
        check_ref_name(ref)
        self._require_repo(repo)
        if expected is None:
            n, _ = self._run("INSERT INTO jzfs_refs (repo, ref, target) VALUES (?, ?, ?) "
                             "ON CONFLICT DO NOTHING", (repo, ref, str(new)))
        else:
            n, _ = self._run("UPDATE jzfs_refs SET target = ? WHERE repo = ? AND ref = ? AND target = ?",
                             (str(new), repo, ref, str(expected)))
        if n != 1:
            raise self._conflict(repo, ref, expected)

    def update_refs(self, repo: str, updates: Sequence[tuple[str, CID, CID | None]], *,
                    create_at: int | None = None) -> None:
        """Several compare-and-swaps `(ref, new, expected)` as ONE transaction: all move or none
        does (the first that fails raises, as `update_ref` would). With `create_at`, the repo is
        created in the same transaction (InvalidInput if it exists): a clone appears whole, with
        its refs, or not at all. One commit, so one disk sync, however many refs move."""
        for ref, _, _ in updates:
            check_ref_name(ref)
        if create_at is not None:
            check_repo_name(repo)
        with self._transaction():
            if create_at is not None:
                self.create_repo(repo, now=create_at)
            else:
                self._require_repo(repo)
            for ref, new, expected in updates:
                self.update_ref(repo, ref, new, expected=expected)

    def delete_ref(self, repo: str, ref: str, *, expected: CID | None = None) -> None:
        if expected is None:
            n, _ = self._run("DELETE FROM jzfs_refs WHERE repo = ? AND ref = ?", (repo, ref))
            if n != 1:
                self.get_ref(repo, ref)  # raises the right NotFound
        else:
            n, _ = self._run("DELETE FROM jzfs_refs WHERE repo = ? AND ref = ? AND target = ?",
                             (repo, ref, str(expected)))
            if n != 1:
                raise self._conflict(repo, ref, expected)

    def _conflict(self, repo: str, ref: str, expected: CID | None) -> RefConflict:
        try:
            now = str(self.get_ref(repo, ref))
        except NotFound:
            now = "nothing (it was deleted)"
        if expected is None:
            return RefConflict(f"{describe(ref)} already exists in {repo!r}, at {now}")
        return RefConflict(f"{describe(ref)} moved, now at {now} (expected {expected}); "
                           "nothing was changed, retry on top of it")

    # ------------------------------------------------------------------ push permissions

    def allow_writer(self, repo: str, peer: str) -> None:
        self._require_repo(repo)
        self._run("INSERT INTO jzfs_writers (repo, peer) VALUES (?, ?) ON CONFLICT DO NOTHING", (repo, peer))

    def remove_writer(self, repo: str, peer: str) -> None:
        n, _ = self._run("DELETE FROM jzfs_writers WHERE repo = ? AND peer = ?", (repo, peer))
        if n != 1:
            raise NotFound(f"{peer} may not push to {repo!r} anyway")

    def writers(self, repo: str) -> list[str]:
        self._require_repo(repo)
        return [r[0] for r in self._run("SELECT peer FROM jzfs_writers WHERE repo = ? ORDER BY peer", (repo,))[1]]

    def all_targets(self) -> list[CID]:
        """Every CID any ref points at (GC roots)."""
        return [CID.decode(r[0]) for r in self._run("SELECT DISTINCT target FROM jzfs_refs")[1]]


class SqliteRefStore(SqlRefStore):
    """SQLite in WAL mode; each statement is its own transaction (autocommit), and SQLite
    serialises writers, so the single-statement CAS is atomic across processes too."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = VERSIONING_LIMITS.refs_busy_timeout_s) -> None:
        try:
            self._db = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA synchronous=FULL")
            for stmt in SCHEMA:
                self._db.execute(stmt)
        except sqlite3.Error as exc:
            raise RepoError(f"cannot open refs database {path}: {exc}") from None

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[int, list[tuple[Any, ...]]]:
        cur = self._db.execute(sql, params)
        rows = cur.fetchall()
        return cur.rowcount, rows

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")  # the write lock now: no upgrade deadlock later
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def open_refstore(database: str, repo_path: Path, *,
                  limits: VersioningLimits = VERSIONING_LIMITS) -> RefStore:
    """Open the refs store named by the config value `Refs.Database`."""
    if database in ("", "sqlite"):
        return SqliteRefStore(repo_path / "refs.db", busy_timeout_s=limits.refs_busy_timeout_s)
    if database.startswith(("postgres://", "postgresql://")):
        from .refs_pg import PostgresRefStore

        return PostgresRefStore(database, connect_timeout_s=limits.refs_connect_timeout_s)
    raise RepoError(f"Refs.Database must be 'sqlite' or a postgres:// URL, not {database!r}")
