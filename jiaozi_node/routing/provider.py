"""Providing: tell routing what this node holds, from a persistent queue, and reprovide.

    enqueue(node, [cid], walk=True)     # pin/add/commit hooks: one SQLite insert, never the network
    provider = make_provider(online, router)      # started by routing/service.py
    provider.stats()                              # `jzfs stats provide`

Strategy, config `Reprovider.Strategy` (Kubo's names; default `config.DEFAULT_REPROVIDER_STRATEGY`):

* `roots`: the roots of pins (what `add`/`pin add` pinned), nothing below them;
* `pinned`: every block of every pinned DAG;
* `all`: every block in the store (the reprovide walks the blockstore).

Whatever the strategy, versioning commits and the root of each commit's dataset tree are
provided (`pinned`/`all` also announce the trees' blocks). Providing is on unless
`Routing.Type` is `none`.

The queue lives in the repo (`routing.db`, table `provide_queue`), so a restart does not forget
what still has to be announced; entries enqueued by a CLI process without a daemon are picked
up by the next daemon. An entry with `walk` set stands for its whole DAG (expanded here, under
`pinned`/`all`), so a 100 GiB add enqueues one row, not a row per block. Announcements go out
in batches of `provide_batch` with at most `provide_concurrency` batches in flight; a failed
entry is retried with exponential backoff. Every `reprovide_interval_s` (22 h) the whole
strategy set is announced again; the time of the last pass is kept in the repo too.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import (
    ROUTING_LIMITS,
    STORE_LIMITS,
    RoutingLimits,
)
from ..errors import JzfsError
from ..ipld.cid import CID
from .peerstore import ROUTING_DB_FILE, open_routing_db

if TYPE_CHECKING:  # trio and Router load when a provider runs, not when `jzfs add` queues a CID
    import trio

    from .base import Router

logger = logging.getLogger(__name__)


def strategy_of(node: Any) -> str:
    s = node.settings.reprovider.strategy  # checked against REPROVIDER_STRATEGIES when parsed
    return str(s)


def providing_enabled(node: Any) -> bool:
    return node.settings.routing.type != "none"


class ProvideQueue:
    """The persistent queue (pure SQLite; handed `now`)."""

    def __init__(self, db: sqlite3.Connection, *, limits: RoutingLimits = ROUTING_LIMITS) -> None:
        self._db = db
        self.limits = limits
        db.execute("CREATE TABLE IF NOT EXISTS provide_queue (cid BLOB PRIMARY KEY, walk INTEGER "
                   "NOT NULL, added REAL NOT NULL, next_try REAL NOT NULL, attempts INTEGER NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS provide_queue_next ON provide_queue (next_try)")
        db.execute("CREATE TABLE IF NOT EXISTS provide_state (key TEXT PRIMARY KEY, value REAL NOT NULL)")

    @classmethod
    def open(cls, repo_path: Path | str, *, limits: RoutingLimits = ROUTING_LIMITS,
             busy_timeout_ms: int = STORE_LIMITS.sqlite_busy_timeout_ms) -> ProvideQueue:
        return cls(open_routing_db(Path(repo_path) / ROUTING_DB_FILE, busy_timeout_ms=busy_timeout_ms),
                   limits=limits)

    def close(self) -> None:
        self._db.close()

    def add(self, cids: Iterable[CID], *, walk: bool, now: float) -> None:
        rows = [(bytes(c), int(walk), now, now, 0) for c in cids]
        if not rows:
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO provide_queue (cid, walk, added, next_try, attempts) VALUES (?,?,?,?,?) "
                "ON CONFLICT (cid) DO UPDATE SET walk = max(walk, excluded.walk), "
                "next_try = min(next_try, excluded.next_try)", rows)
            (n,) = self._db.execute("SELECT count(*) FROM provide_queue").fetchone()
            excess = n - self.limits.provide_queue_max
            if excess > 0:  # the next reprovide announces what is dropped here
                self._db.execute("DELETE FROM provide_queue WHERE cid IN (SELECT cid FROM "
                                 "provide_queue ORDER BY added ASC LIMIT ?)", (excess,))

    def due(self, n: int, *, now: float) -> list[tuple[CID, bool]]:
        rows = self._db.execute("SELECT cid, walk FROM provide_queue WHERE next_try <= ? "
                                "ORDER BY next_try, added LIMIT ?", (now, n)).fetchall()
        return [(CID.from_bytes(r[0]), bool(r[1])) for r in rows]

    def next_due(self) -> float | None:
        (t,) = self._db.execute("SELECT min(next_try) FROM provide_queue").fetchone()
        return None if t is None else float(t)

    def done(self, cids: Iterable[CID]) -> None:
        with self._db:
            self._db.executemany("DELETE FROM provide_queue WHERE cid = ?", [(bytes(c),) for c in cids])

    def failed(self, cids: Iterable[CID], *, now: float) -> None:
        lim = self.limits
        with self._db:
            for c in cids:
                row = self._db.execute("SELECT attempts FROM provide_queue WHERE cid = ?",
                                       (bytes(c),)).fetchone()
                if row is None:
                    continue
                delay = min(lim.provide_retry_max_s, lim.provide_retry_min_s * 2 ** min(row[0], 30))
                self._db.execute("UPDATE provide_queue SET attempts = attempts + 1, next_try = ? "
                                 "WHERE cid = ?", (now + delay, bytes(c)))

    def retry_now(self, *, now: float) -> int:
        """Bring every failed entry forward (the network changed); returns how many."""
        with self._db:
            cur = self._db.execute("UPDATE provide_queue SET next_try = ? WHERE attempts > 0 AND "
                                   "next_try > ?", (now, now))
        return cur.rowcount

    def __len__(self) -> int:
        (n,) = self._db.execute("SELECT count(*) FROM provide_queue").fetchone()
        return int(n)

    def get_state(self, key: str) -> float | None:
        row = self._db.execute("SELECT value FROM provide_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else float(row[0])

    def set_state(self, key: str, value: float) -> None:
        with self._db:
            self._db.execute("INSERT INTO provide_state (key, value) VALUES (?, ?) ON CONFLICT (key) "
                             "DO UPDATE SET value = excluded.value", (key, value))


def enqueue(node: Any, cids: Iterable[CID], *, walk: bool = False) -> None:
    """Queue `cids` for announcing (the hook add/pin/commit call; cheap, never the network).

    In the daemon the running provider is woken (`_LIVE`); elsewhere the row waits for the next
    daemon. Does nothing when providing is off (`Routing.Type` none)."""
    cids = list(cids)
    try:
        if not cids or not providing_enabled(node):
            return
        live = _LIVE.get(_repo_key(node))
        if live is not None:
            live.enqueue_threadsafe(cids, walk=walk)
            return
        q = ProvideQueue.open(node.repo.path, limits=node.defaults.routing,
                              busy_timeout_ms=node.defaults.store.sqlite_busy_timeout_ms)
        try:
            q.add(cids, walk=walk, now=time.time())
        finally:
            q.close()
    except (sqlite3.Error, OSError) as exc:  # announcing is best effort: never fail the add
        logger.warning("provide: could not queue %d CIDs (the next reprovide announces them): %s",
                       len(cids), exc)


_LIVE: dict[str, Provider] = {}  # repo path -> the provider running in this process


def _repo_key(node: Any) -> str:
    return str(Path(node.repo.path).resolve())


class Provider:
    """The trio service: drains the queue, reprovides every interval."""

    def __init__(self, node: Any, router: Router, queue: ProvideQueue, *, strategy: str,
                 limits: RoutingLimits = ROUTING_LIMITS) -> None:
        import trio

        self.node = node
        self.router = router
        self.queue = queue
        self.strategy = strategy
        self.limits = limits
        self._wake = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._retry_pending = False
        # batches in flight, across the queue and the reprovide pass
        self._slots = trio.Semaphore(max(1, limits.provide_concurrency))
        self.total_provides = 0
        self.provide_time_s = 0.0
        self.provide_batches = 0
        self.failed_batches = 0
        self.last_reprovide_s = 0.0
        self.last_reprovide_count = 0

    def wake(self) -> None:
        """Callable from the trio thread and from worker threads (the RPC API and the web UI run
        `pins.add` in `trio.to_thread`; `trio.Event.set` there raised RuntimeError)."""
        import trio

        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            try:
                trio.from_thread.run_sync(self._wake.set)
            except RuntimeError:  # a thread trio did not start: the queued row waits for the next pass
                pass
            return
        self._wake.set()

    def _enqueue(self, cids: list[CID], walk: bool) -> None:
        self.queue.add(cids, walk=walk, now=time.time())
        self.wake()

    def enqueue_threadsafe(self, cids: list[CID], *, walk: bool) -> None:
        """Queue and wake from the daemon's trio thread or from one of its worker threads (the
        RPC API pins in worker threads): the queue's connection and the wake-up event belong to
        the trio thread."""
        import trio

        try:
            in_trio = trio.lowlevel.current_trio_token() is self._token
        except RuntimeError:
            in_trio = False
        if in_trio or self._token is None:
            self._enqueue(cids, walk)
        else:
            trio.from_thread.run_sync(self._enqueue, cids, walk, trio_token=self._token)

    def network_changed(self) -> None:
        """A peer connected: retry failed announcements soon (debounced)."""
        if self._nursery is not None and not self._retry_pending:
            self._retry_pending = True
            self._nursery.start_soon(self._retry_soon)

    async def _retry_soon(self) -> None:
        import trio

        await trio.sleep(self.limits.provide_retry_on_connect_s)
        self._retry_pending = False
        if self.queue.retry_now(now=time.time()):
            self.wake()

    # ------------------------------------------------------------------ what to announce

    def expand(self, cid: CID, walk: bool) -> Iterator[CID]:
        """The CIDs one queue entry stands for under the strategy (local blocks only)."""
        if not walk or self.strategy == "roots":
            yield cid
            return
        from ..store.walk import walk as walk_dag

        for n, c in enumerate(walk_dag(self.node.blocks, [cid])):
            if n >= self.limits.provide_walk_max_blocks:
                logger.warning("provide: DAG under %s has more than %d blocks; the rest is not announced",
                               cid, self.limits.provide_walk_max_blocks)
                return
            yield c

    def reprovide_set(self) -> Iterator[CID]:
        """Everything the strategy announces, plus versioning commits and their trees' roots."""
        node = self.node
        if self.strategy == "all":
            yield from node.blocks.cids()
            return
        seen: set[bytes] = set()

        def once(cids: Iterable[CID]) -> Iterator[CID]:
            for c in cids:
                if c.multihash not in seen:
                    seen.add(c.multihash)
                    yield c

        pins = node.pins
        if self.strategy == "roots":
            yield from once(pins.roots("all"))
        else:
            yield from once(pins.roots("direct"))
            for root in pins.roots("recursive"):
                yield from once(self.expand(root, True))
        yield from once(self.versioning_cids())

    def versioning_cids(self) -> Iterator[CID]:
        """Commits/tags under refs, their history, and each commit's dataset root (with the
        tree's blocks under `pinned`)."""
        vs = self.node.versioning
        try:
            heads = vs.gc_roots()
        except JzfsError as exc:
            logger.info("provide: versioning refs unreadable: %s", exc)
            return
        from ..versioning.history import ancestors

        depth = self.node.defaults.versioning.max_history_depth
        for head in heads:
            yield head
            try:
                commit_cid = vs.peel(head)
                commits = ancestors(vs.load_commit, commit_cid, max_depth=depth)
            except JzfsError as exc:
                logger.info("provide: history of %s incomplete: %s", head, exc)
                continue
            for c in commits:
                yield c
                try:
                    root = vs.load_commit(c).root
                except JzfsError:
                    continue
                yield from self.expand(root, self.strategy == "pinned")

    # ------------------------------------------------------------------ announcing

    async def _announce(self, cids: list[CID]) -> bool:
        t0 = time.perf_counter()
        try:
            await self.router.provide(cids)
        except JzfsError as exc:
            self.failed_batches += 1
            logger.info("provide: batch of %d failed: %s", len(cids), exc)
            return False
        self.provide_time_s += time.perf_counter() - t0
        self.provide_batches += 1
        self.total_provides += len(cids)
        return True

    async def announce_all(self, cids: Iterable[CID]) -> tuple[int, bool]:
        """Announce a stream of CIDs in batches of `provide_batch`, at most
        `provide_concurrency` batches in flight (the next batch is only taken from `cids` —
        a DAG walk, the blockstore listing — when a slot is free). Returns (count, all ok)."""
        import trio

        ok = [True]
        count = 0

        async def one(batch: list[CID]) -> None:
            try:
                if not await self._announce(batch):
                    ok[0] = False
            finally:
                self._slots.release()

        it = iter(cids)
        async with trio.open_nursery() as nursery:
            while True:
                await self._slots.acquire()
                # Taken in the trio thread: store engines need not be thread-safe. A batch is
                # a few dozen block reads at most.
                batch = _take(it, self.limits.provide_batch)
                if not batch:
                    self._slots.release()
                    break
                count += len(batch)
                nursery.start_soon(one, batch)
        return count, ok[0]

    async def drain(self) -> int:
        """Announce every due queue entry; returns how many entries were settled. Entries that
        stand for one CID go out together; a DAG entry is walked on its own."""
        settled = 0
        tried: set[bytes] = set()  # failed in this drain: a retry waits for the next one
        while True:
            due = [(c, w) for c, w in self.queue.due(self.limits.provide_batch + len(tried),
                                                     now=time.time()) if bytes(c) not in tried]
            if not due:
                return settled
            due = due[: self.limits.provide_batch]
            walks = [c for c, w in due if w and self.strategy != "roots"]
            single = [c for c, w in due if not (w and self.strategy != "roots")]
            work: list[tuple[list[CID], Iterable[CID]]] = [([c], self.expand(c, True)) for c in walks]
            if single:
                work.insert(0, (single, single))
            for entries, cids in work:
                _, ok = await self.announce_all(cids)
                if ok:
                    self.queue.done(entries)
                else:
                    self.queue.failed(entries, now=time.time())
                    tried.update(bytes(c) for c in entries)
                settled += len(entries)

    async def reprovide(self) -> int:
        t0 = time.perf_counter()
        count, _ = await self.announce_all(self.reprovide_set())
        self.last_reprovide_s = time.perf_counter() - t0
        self.last_reprovide_count = count
        self.queue.set_state("last_reprovide", time.time())
        return count

    async def run(self, *, task_status: trio.TaskStatus[None] | None = None) -> None:
        import trio

        key = _repo_key(self.node)
        self._token = trio.lowlevel.current_trio_token()
        _LIVE[key] = self
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._queue_loop)
                nursery.start_soon(self._reprovide_loop)
                if task_status is not None:
                    task_status.started()
        finally:
            if _LIVE.get(key) is self:
                del _LIVE[key]
            self.queue.close()

    async def _queue_loop(self) -> None:
        import trio

        while True:
            self._wake = trio.Event()
            try:
                await self.drain()
            except Exception:  # noqa: BLE001 - providing must never take the daemon down
                logger.warning("provide: draining the queue failed; retrying later", exc_info=True)
                await trio.sleep(self.limits.provide_retry_min_s)  # not a hot loop of failures
                continue
            nxt = self.queue.next_due()
            wait = self.limits.provide_queue_poll_s if nxt is None else max(0.0, min(self.limits.provide_queue_poll_s, nxt - time.time()))
            with trio.move_on_after(wait):
                await self._wake.wait()

    async def _reprovide_loop(self) -> None:
        import trio

        await trio.sleep(self.limits.reprovide_initial_delay_s)
        while True:
            last = self.queue.get_state("last_reprovide")
            due = 0.0 if last is None else last + self.limits.reprovide_interval_s - time.time()
            if due > 0:
                await trio.sleep(due)
            try:
                await self.reprovide()
            except Exception as exc:  # noqa: BLE001 - never take the daemon down
                logger.warning("reprovide failed: %s", exc, exc_info=not isinstance(exc, JzfsError))
                await trio.sleep(self.limits.provide_retry_max_s)

    def stats(self) -> dict[str, Any]:
        """Kubo's `stats provide` fields (durations in ns), plus the queue and strategy."""
        avg = self.provide_time_s / self.provide_batches if self.provide_batches else 0.0
        return {
            "TotalProvides": self.total_provides,
            "AvgProvideDuration": int(avg * 1e9),
            "LastReprovideDuration": int(self.last_reprovide_s * 1e9),
            "LastReprovideBatchSize": self.last_reprovide_count,
            "QueueLength": len(self.queue),
            "FailedBatches": self.failed_batches,
            "Strategy": self.strategy,
        }


def _take(it: Iterator[CID], n: int) -> list[CID]:
    out = []
    for c in it:
        out.append(c)
        if len(out) >= n:
            break
    return out


def make_provider(online: Any, router: Router) -> Provider:
    node = online.node
    queue = ProvideQueue.open(node.repo.path, limits=node.defaults.routing,
                              busy_timeout_ms=node.defaults.store.sqlite_busy_timeout_ms)
    return Provider(node, router, queue,
                    strategy=strategy_of(node), limits=node.defaults.routing)
