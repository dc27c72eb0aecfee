"""The repo-level GC lock (like Kubo's GCLocker), shared between processes with flock(2).

`repo gc` holds it EXCLUSIVE for its whole mark-and-sweep. Anything that writes blocks it means to
pin (`add`, `pin add`, `dag import`, a bitswap fetch that ends in a pin) holds it SHARED from before
its first block write until its pin is recorded, so GC can never delete a block between the moment
it is written and the moment it becomes pinned. Many writers can hold it shared at once.

Each acquisition opens its own file description, so the lock also works between threads of one
process. Do not take the exclusive lock while holding a shared one in the same thread (deadlock).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

LOCK_FILE = "gc.lock"


@contextmanager
def _release(fd: int) -> Iterator[None]:
    try:
        yield
    finally:
        os.close(fd)  # closing the description releases the lock


class GcLock:
    def __init__(self, repo_path: Path | str) -> None:
        self.path = Path(repo_path) / LOCK_FILE

    @contextmanager
    def _hold(self, mode: int) -> Iterator[None]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # closing the description releases the lock

    def shared(self) -> AbstractContextManager[None]:
        """Held by writers that will pin what they write."""
        return self._hold(fcntl.LOCK_SH)

    def try_shared(self) -> AbstractContextManager[None] | None:
        """The shared lock, taken already, when it is free now; None while a GC holds it (the
        caller then waits in `shared()` where blocking does no harm, e.g. a worker thread). An
        event loop takes the lock this way without starting a thread when no GC runs."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return _release(fd)

    def exclusive(self) -> AbstractContextManager[None]:
        """Held by garbage collection."""
        return self._hold(fcntl.LOCK_EX)
