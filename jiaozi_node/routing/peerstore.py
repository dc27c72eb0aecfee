"""The persistent peer store: addresses of peers that survive a restart (SQLite in the repo).

    store = PeerStore.open(repo)                   # $JZFS_PATH/routing.db, table `peer_addrs`
    store.add(peer_id, addrs, ttl_s=…, now=time.time(), source="identify")
    store.addrs(peer_id, now=…)                    # unexpired addresses, freshest first

Fed by the routing service from identify (addresses a peer announced itself while connected)
and from routing answers (second-hand, shorter TTL); read when dialling a peer we are not
connected to. Bounded (RoutingLimits): addresses per peer, peers in all (those closest to
expiry are dropped first), address length; every entry expires. Callers hand `now` (no clock
here), so expiry is testable. One connection per process; `check_same_thread=False` because
the daemon calls it from its trio thread only, one call at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..config import ROUTING_LIMITS, STORE_LIMITS, RoutingLimits

ROUTING_DB_FILE = "routing.db"


def open_routing_db(path: Path | str, *,
                    busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> sqlite3.Connection:
    """The repo's routing database (peer store + provide queue), WAL, shared across processes."""
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # losing the last learned address in a crash is fine
    return db


def clean_addr(addr: Any, peer_id: str, *, max_len: int) -> str | None:
    """A transport multiaddr string without our `/p2p/<peer>` suffix; None if unusable."""
    if not isinstance(addr, str) or not addr.startswith("/") or len(addr) > max_len:
        return None
    suffix = f"/p2p/{peer_id}"
    if addr.endswith(suffix):
        addr = addr[: -len(suffix)]
    if "/p2p/" in addr or "/p2p-circuit" in addr or not addr or addr == "/":
        return None  # another peer's address, or a relay we do not speak
    return addr


class PeerStore:
    def __init__(self, db: sqlite3.Connection, *, limits: RoutingLimits = ROUTING_LIMITS) -> None:
        self._db = db
        self.limits = limits
        db.execute("CREATE TABLE IF NOT EXISTS peer_addrs (peer TEXT NOT NULL, addr TEXT NOT NULL, "
                   "expires REAL NOT NULL, source TEXT NOT NULL, PRIMARY KEY (peer, addr))")
        db.execute("CREATE INDEX IF NOT EXISTS peer_addrs_expires ON peer_addrs (expires)")

    @classmethod
    def open(cls, repo: Any, *, limits: RoutingLimits = ROUTING_LIMITS,
             busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> PeerStore:
        return cls(open_routing_db(Path(repo.path) / ROUTING_DB_FILE, busy_timeout_ms=busy_timeout_ms),
                   limits=limits)

    def close(self) -> None:
        self._db.close()

    def add(self, peer_id: str, addrs: Iterable[Any], *, ttl_s: float, now: float,
            source: str) -> int:
        """Remember `addrs` for `peer_id` until now + ttl_s (an existing entry only ever gets
        later, never earlier). Returns how many addresses were usable."""
        lim = self.limits
        clean = []
        for a in addrs:
            c = clean_addr(a, peer_id, max_len=lim.peerstore_max_addr_len)
            if c is not None and c not in clean:
                clean.append(c)
            if len(clean) >= lim.peerstore_max_addrs_per_peer:
                break
        if not clean or not peer_id or len(peer_id) > 128:
            return 0
        expires = now + ttl_s
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO peer_addrs (peer, addr, expires, source) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (peer, addr) DO UPDATE SET expires = max(expires, excluded.expires), "
                "source = CASE WHEN excluded.expires > expires THEN excluded.source ELSE source END",
                [(peer_id, a, expires, source) for a in clean])
            # per peer: keep the addresses that live longest
            self._db.execute(
                "DELETE FROM peer_addrs WHERE peer = ? AND addr NOT IN (SELECT addr FROM peer_addrs "
                "WHERE peer = ? ORDER BY expires DESC LIMIT ?)",
                (peer_id, peer_id, lim.peerstore_max_addrs_per_peer))
            self._trim(now)
        return len(clean)

    def _trim(self, now: float) -> None:
        self._db.execute("DELETE FROM peer_addrs WHERE expires <= ?", (now,))
        (n,) = self._db.execute("SELECT count(DISTINCT peer) FROM peer_addrs").fetchone()
        excess = n - self.limits.peerstore_max_peers
        if excess > 0:
            self._db.execute(
                "DELETE FROM peer_addrs WHERE peer IN (SELECT peer FROM peer_addrs GROUP BY peer "
                "ORDER BY max(expires) ASC LIMIT ?)", (excess,))

    def addrs(self, peer_id: str, *, now: float) -> list[str]:
        rows = self._db.execute("SELECT addr FROM peer_addrs WHERE peer = ? AND expires > ? "
                                "ORDER BY expires DESC, addr", (peer_id, now)).fetchall()
        return [r[0] for r in rows]

    def peers(self, *, now: float) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT peer FROM peer_addrs WHERE expires > ? ORDER BY peer",
                                (now,)).fetchall()
        return [r[0] for r in rows]

    def by_source(self, source: str, *, now: float, limit: int) -> dict[str, list[str]]:
        """Unexpired addresses learned from `source`, per peer (freshest peers first)."""
        rows = self._db.execute(
            "SELECT peer, addr FROM peer_addrs WHERE source = ? AND expires > ? AND peer IN "
            "(SELECT peer FROM peer_addrs WHERE source = ? AND expires > ? GROUP BY peer "
            "ORDER BY max(expires) DESC LIMIT ?)", (source, now, source, now, limit)).fetchall()
        out: dict[str, list[str]] = {}
        for peer, addr in rows:
            out.setdefault(peer, []).append(addr)
        return out

    def expire(self, *, now: float) -> int:
        with self._db:
            cur = self._db.execute("DELETE FROM peer_addrs WHERE expires <= ?", (now,))
        return cur.rowcount

    def count(self, *, now: float) -> int:
        (n,) = self._db.execute("SELECT count(DISTINCT peer) FROM peer_addrs WHERE expires > ?",
                                (now,)).fetchone()
        return int(n)
