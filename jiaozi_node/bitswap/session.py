"""Which Bitswap session the running task works for: one per retrieval (`Retrieval.fetch_dag`).

    with new_session():
        ...   # every BitswapService.fetch in this task and the tasks it starts tags its wants
              # with this session, so they go first to the peers that served the session

A context variable (trio gives each task a copy of its parent's context), so `BlockSource.fetch`
keeps its one-argument signature. Pure: no I/O.

    with want_order(n):
        ...   # this task's wants are the session's n-th in reading order (priority by n)

The wants of a DAG fetch must reach the peer in reading order: Kubo's peertaskqueue sends
higher-priority blocks first, and a file streamed while its DAG is fetched waits for its next
block. The order in which fetch tasks happen to run is not that order (trio shuffles its run
queue: a batch of new tasks runs forwards or backwards at random), so the fetcher names each
want's place in the DAG and the client derives the priority from it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ids = itertools.count(1)
_current: ContextVar[int | None] = ContextVar("jzfs_bitswap_session", default=None)
_order: ContextVar[int | None] = ContextVar("jzfs_bitswap_want_order", default=None)


def current_session() -> int | None:
    return _current.get()


@contextmanager
def new_session() -> Iterator[int]:
    sid = next(_ids)
    token = _current.set(sid)
    try:
        yield sid
    finally:
        _current.reset(token)


def current_want_order() -> int | None:
    """The running fetch's place in its DAG's reading order (0 first), or None."""
    return _order.get()


@contextmanager
def want_order(n: int) -> Iterator[None]:
    token = _order.set(n)
    try:
        yield
    finally:
        _order.reset(token)
