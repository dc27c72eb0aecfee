"""Pins, like Kubo's: recursive (a root and its whole DAG) and direct (one block), in SQLite.

    pins = PinStore.open(repo, blocks)
    pins.add(cid)                     # recursive: the whole DAG must be local (NotFound names the gap)
    pins.add(cid, recursive=False)    # direct
    pins.ls("all") -> [(cid, "recursive" | "direct" | "indirect"), ...]
    pins.rm(cid)
    pins.add_root_provider(fn)        # extra GC roots (Node registers versioning refs): fn() -> CIDs

Pins are recorded per CID (CIDv0 and CIDv1 of one DAG are separate pins, as in Kubo), but what they
keep alive is tracked by multihash, so they protect the block whichever CID it was stored under.
The database is `pins.db` in the repo (WAL mode, so readers in other processes never block).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..config import STORE_LIMITS
from ..errors import InvalidInput, JzfsError, NotFound, PinnedError
from ..ipld.cid import CID
from ..repo import Repo
from .base import Blockstore
from .keys import check_stored
from .lock import GcLock
from .walk import reachable, walk

PINS_FILE = "pins.db"
RECURSIVE = "recursive"
DIRECT = "direct"
INDIRECT = "indirect"
PIN_TYPES = (RECURSIVE, DIRECT, INDIRECT, "all")

RootProvider = Callable[[], Iterable[CID]]


class PinStore:
    def __init__(self, path: Path | str, blocks: Blockstore, *, lock: GcLock | None = None,
                 busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> None:
        self.path = Path(path)
        self.blocks = blocks
        self.lock = lock or GcLock(self.path.parent)
        self._providers: list[RootProvider] = []
        self._pin_listeners: list[Callable[[CID, bool], None]] = []
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pins (cid BLOB PRIMARY KEY, recursive INTEGER NOT NULL)"
        )

    @classmethod
    def open(cls, repo: Repo, blocks: Blockstore, *,
             busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> PinStore:
        return cls(repo.path / PINS_FILE, blocks, lock=GcLock(repo.path), busy_timeout_ms=busy_timeout_ms)

    # ------------------------------------------------------------------ roots for GC

    def add_root_provider(self, provider: RootProvider) -> None:
        """Register a callable returning CIDs whose DAGs GC must keep (recursively).

        `Node.pins` registers the versioning refs this way, so every process that opens the node
        (`jzfs repo gc`, the daemon) keeps commits, tags and their trees."""
        self._providers.append(provider)

    def add_pin_listener(self, listener: Callable[[CID, bool], None]) -> None:
        """Call `listener(cid, recursive)` after each new pin (routing queues it for providing)."""
        self._pin_listeners.append(listener)

    def extra_roots(self) -> list[CID]:
        roots: list[CID] = []
        for provider in self._providers:
            roots.extend(provider())
        return roots

    # ------------------------------------------------------------------ changes

    def add(self, cid: CID, *, recursive: bool = True, complete: bool = False) -> None:
        """Pin `cid`. Recursive pins check the whole DAG is local first (NotFound names the gap).

        Holds the GC lock shared, so a concurrent `repo gc` cannot sweep the DAG while we pin it.
        Callers that wrote the blocks themselves should hold `self.lock.shared()` from before the
        first write (see store/lock.py); such a caller (the adder, which put every block of the DAG
        under that lock) may pass `complete=True` to skip the check, which would read back and
        re-hash everything it just wrote.
        """
        with self.lock.shared():
            current = self._type_of(cid)
            if recursive:
                if not complete:
                    for _ in walk(self.blocks, [cid]):
                        pass
                if current == RECURSIVE:
                    return
                self._db.execute("INSERT OR REPLACE INTO pins (cid, recursive) VALUES (?, 1)", (bytes(cid),))
            else:
                if current == RECURSIVE:
                    raise PinnedError(f"{cid} is already pinned recursively")
                if not self.blocks.has(cid):
                    raise NotFound(f"block {cid} is not in the local blockstore")
                self._db.execute("INSERT OR REPLACE INTO pins (cid, recursive) VALUES (?, 0)", (bytes(cid),))
        for listener in self._pin_listeners:
            listener(cid, recursive)

    def rm(self, cid: CID, *, recursive: bool = True) -> None:
        """Unpin. Like Kubo, `recursive=False` refuses to remove a recursive pin."""
        current = self._type_of(cid)
        if current is None:
            if cid in self._indirect_roots_of(cid):
                raise PinnedError(f"{cid} is pinned indirectly")
            raise NotFound(f"{cid} is not pinned")
        if current == RECURSIVE and not recursive:
            raise PinnedError(f"{cid} is pinned recursively")
        self._db.execute("DELETE FROM pins WHERE cid = ?", (bytes(cid),))

    # ------------------------------------------------------------------ queries

    def _type_of(self, cid: CID) -> str | None:
        row = self._db.execute("SELECT recursive FROM pins WHERE cid = ?", (bytes(cid),)).fetchone()
        if row is None:
            return None
        return RECURSIVE if row[0] else DIRECT

    def _indirect_roots_of(self, cid: CID) -> set[CID]:
        return {c for c in self._walk_recursive() if c.multihash == cid.multihash}

    def _walk_recursive(self) -> Iterator[CID]:
        seen: set[bytes] = set()
        yield from walk(self.blocks, self.roots(RECURSIVE), seen=seen)

    def roots(self, kind: str = "all") -> list[CID]:
        """Pinned CIDs of one kind (recursive or direct), or both with "all"."""
        if kind == RECURSIVE:
            q = "SELECT cid FROM pins WHERE recursive = 1"
        elif kind == DIRECT:
            q = "SELECT cid FROM pins WHERE recursive = 0"
        elif kind == "all":
            q = "SELECT cid FROM pins"
        else:
            raise InvalidInput(f"invalid pin type {kind!r} (recursive, direct)")
        return [CID.from_bytes(r[0]) for r in self._db.execute(q)]

    def ls(self, kind: str = "all") -> list[tuple[CID, str]]:
        """(cid, type) pairs, like `ipfs pin ls --type`. Indirect pins are computed by walking."""
        if kind not in PIN_TYPES:
            raise InvalidInput(f"invalid pin type {kind!r} (choose from {', '.join(PIN_TYPES)})")
        out: list[tuple[CID, str]] = []
        rows = self._db.execute("SELECT cid, recursive FROM pins").fetchall()
        explicit = {CID.from_bytes(c): (RECURSIVE if r else DIRECT) for c, r in rows}
        for cid, t in explicit.items():
            if kind in (t, "all"):
                out.append((cid, t))
        if kind in (INDIRECT, "all"):
            rec_keys = {c.multihash for c, t in explicit.items() if t == RECURSIVE}
            for cid in self._walk_recursive():
                if cid.multihash not in rec_keys and cid not in explicit:
                    out.append((cid, INDIRECT))
        return out

    def pin_type(self, cid: CID) -> str:
        """"recursive", "direct" or "indirect"; raises NotFound when `cid` is not pinned."""
        t = self._type_of(cid)
        if t is not None:
            return t
        if any(c.multihash == cid.multihash for c in self.roots(RECURSIVE)):
            return RECURSIVE
        if any(c.multihash == cid.multihash for c in self.roots(DIRECT)):
            return DIRECT
        if cid.multihash in reachable(self.blocks, self.roots(RECURSIVE)):
            return INDIRECT
        raise NotFound(f"{cid} is not pinned")

    def protected_keys(self, *, on_error: Callable[[CID, CID, Exception], None] | None = None
                       ) -> set[bytes]:
        """Multihash keys GC must keep: recursive pins' DAGs, direct pins, and provider roots' DAGs.
        `on_error(cid, root, exc)`: see store/walk.walk (else the first unreadable block raises)."""
        keys = reachable(self.blocks, [*self.roots(RECURSIVE), *self.extra_roots()], on_error=on_error)
        keys.update(c.multihash for c in self.roots(DIRECT))
        return keys

    def verify(self) -> list[tuple[CID, str]]:
        """Check that everything GC keeps is complete and that every block of it verifies: each
        recursive pin's DAG, each direct pin, and the DAGs of the extra roots (the versioning refs:
        commits, tags and their trees). [(root, problem)], one entry per root with a problem."""
        problems: list[tuple[CID, str]] = []
        for root in [*self.roots(RECURSIVE), *self.extra_roots()]:
            try:
                for c in walk(self.blocks, [root]):
                    check_stored(c, self.blocks.get(c))  # whatever the engine's read check is
            except (JzfsError, ValueError) as exc:
                problems.append((root, str(exc)))
        for root in self.roots(DIRECT):
            try:
                check_stored(root, self.blocks.get(root))
            except (JzfsError, ValueError) as exc:
                problems.append((root, str(exc)))
        return problems

    def close(self) -> None:
        self._db.close()
