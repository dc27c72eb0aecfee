"""Provider searches for the blocks of one DAG fetch, started by a watch instead of a race per block.

    watch = ProviderWatch([finder], nursery)     # finder: a source with `finds_providers`
    nursery.start_soon(watch.run)
    watch.begin(cid) ... watch.end(cid)          # around each block's fetch from the other sources
    watch.stop()                                 # the fetch is over

A provider finder (routing/finder.py) never returns bytes: it connects providers to the sources
that do. Racing it against Bitswap for every block cost a nursery, a task and a cancellation per
block (~12% of a daemon's CPU for a 60 MiB pin). Here a block's search starts only once the block
has been missing for the finder's `search_delay()` (at once when the finder says so: the start
of a retrieval, no peer connected), in this watch's task group, and is cancelled when the block
arrives or its fetch fails: the same searches as the per-block race, without the per-block tasks.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import trio

from ..ipld.cid import CID

logger = logging.getLogger(__name__)


def finds_providers(source: Any) -> bool:
    return bool(getattr(source, "finds_providers", False))


class ProviderWatch:
    def __init__(self, finders: list[Any], nursery: trio.Nursery) -> None:
        self._finders = finders
        self._nursery = nursery
        # blocks being fetched and not searched yet: multihash -> (cid, when to search), in
        # insertion order = due order (only a positive delay is queued, and it is the finders'
        # configured provider_search_delay_s)
        self._due: dict[bytes, tuple[CID, float]] = {}
        self._searching: dict[bytes, trio.CancelScope] = {}
        self._wake = trio.Event()
        self._scope = trio.CancelScope()

    def begin(self, cid: CID) -> None:
        key = cid.multihash
        if key in self._due or key in self._searching:
            return
        delay = min(f.search_delay() for f in self._finders)
        if delay <= 0:
            self._start(key, cid)
            return
        self._due[key] = (cid, trio.current_time() + delay)
        if len(self._due) == 1:
            self._wake.set()  # the watch sleeps until the first due search: none was queued

    def end(self, cid: CID) -> None:
        key = cid.multihash
        self._due.pop(key, None)
        scope = self._searching.pop(key, None)
        if scope is not None:
            scope.cancel()

    def stop(self) -> None:
        self._scope.cancel()
        for scope in self._searching.values():
            scope.cancel()

    async def run(self) -> None:
        with self._scope:
            while True:
                now = trio.current_time()
                due_next = math.inf
                for key, (cid, due) in list(self._due.items()):
                    if due > now:
                        due_next = due
                        break  # the rest is due later (insertion order)
                    del self._due[key]
                    self._start(key, cid)
                with trio.move_on_at(due_next):
                    await self._wake.wait()
                self._wake = trio.Event()

    def _start(self, key: bytes, cid: CID) -> None:
        scope = self._searching[key] = trio.CancelScope()
        for finder in self._finders:
            self._nursery.start_soon(self._search, finder, cid, scope)

    async def _search(self, finder: Any, cid: CID, scope: trio.CancelScope) -> None:
        with scope:
            try:
                await finder.find(cid)
            except Exception:  # noqa: BLE001 - a search problem must never fail the retrieval
                logger.warning("retrieval: provider search for %s failed", cid, exc_info=True)
