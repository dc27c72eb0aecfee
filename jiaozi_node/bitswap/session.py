"""Which Bitswap session the running task works for: one per retrieval (`Retrieval.fetch_dag`).

    with new_session():
        ...   # every BitswapService.fetch in this task and the tasks it starts tags its wants
              # with this session, so they go first to the peers that served the session

A context variable (trio gives each task a copy of its parent's context), so `BlockSource.fetch`
keeps its one-argument signature. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ids = itertools.count(1)
_current: ContextVar[int | None] = ContextVar("jzfs_bitswap_session", default=None)


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
