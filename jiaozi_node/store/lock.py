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

    def exclusive(self) -> AbstractContextManager[None]:
        """Held by garbage collection."""
        return self._hold(fcntl.LOCK_EX)
