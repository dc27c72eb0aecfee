"""Index runs on disk: three column files per run, written once (fsynced before the manifest
names them) and mapped read-only for lookups. A lookup is a binary search over the h column plus a
key comparison; nothing of a run is read into the heap except by merges and listings."""

from __future__ import annotations

import bisect
import mmap
import os
import struct
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ...config import STORE_LIMITS
from ...errors import RepoError

if TYPE_CHECKING:
    import numpy as np

    from .entries import Entries

COLUMNS = ("h", "loc", "key")
_LOC = struct.Struct("<QIIBB")  # one entries.LOC_DTYPE record (off, len, pack, flags, klen)


def run_paths(runs_dir: Path, run_id: int) -> dict[str, Path]:
    return {c: runs_dir / f"{run_id:08d}.{c}" for c in COLUMNS}


def write_run(runs_dir: Path, run_id: int, slices: Iterable[Entries], width: int, *, sync: bool) -> int:
    """Write the h-sorted `slices` (all of key width `width`) as run `run_id`; returns its entry
    count (0: nothing written, the files are removed)."""
    paths = run_paths(runs_dir, run_id)
    files = {c: open(p, "wb") for c, p in paths.items()}
    n = 0
    try:
        for s in slices:
            s = s.widened(width)
            files["h"].write(s.h.astype("<u8", copy=False).tobytes())
            files["loc"].write(s.loc.tobytes())
            files["key"].write(s.keys.tobytes())
            n += len(s)
        for f in files.values():
            f.flush()
            if sync:
                os.fsync(f.fileno())
    finally:
        for f in files.values():
            f.close()
    if n == 0:
        remove_run(runs_dir, run_id)
    return n


def remove_run(runs_dir: Path, run_id: int) -> None:
    for p in run_paths(runs_dir, run_id).values():
        p.unlink(missing_ok=True)


def _map(path: Path, size: int) -> mmap.mmap:
    """`path` mapped read-only; RepoError unless it holds exactly `size` (> 0) bytes."""
    with open(path, "rb") as f:
        actual = os.fstat(f.fileno()).st_size
        if actual != size or size <= 0:
            raise RepoError(f"index run file {path} is damaged: {actual} bytes, expected {size}")
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class Run:
    """A mapped run. `find` bisects a small in-memory list of every `fence`-th hash (one per 4 KiB
    page of the h column by default), then a window of `fence` mapped hashes, then compares one
    key: ~1 µs, touching one page of each column (a plain bisect over 2M mapped hashes took
    ~2.6 µs and faulted in ~20 scattered pages).
    Opening raises FileNotFoundError if a file is gone (merged away meanwhile: look again) and
    RepoError if one has the wrong size."""

    def __init__(self, runs_dir: Path, run_id: int, n: int, width: int,
                 fence: int = STORE_LIMITS.pack_run_fence) -> None:
        self.id, self.n, self.width, self._step = run_id, n, width, fence
        paths = run_paths(runs_dir, run_id)
        sizes = {"h": 8 * n, "loc": _LOC.size * n, "key": width * n}
        self._maps: list[mmap.mmap] = []
        try:
            for c in COLUMNS:
                self._maps.append(_map(paths[c], sizes[c]))
        except BaseException:
            self.close()
            raise
        hmap, lmap, kmap = self._maps
        self._h = memoryview(hmap).cast("Q")
        self._fence = self._h[::fence].tolist()
        self._loc = lmap
        self._keys = kmap

    def find(self, key: bytes, h: int) -> tuple[int, int, int, int] | None:
        """(pack, off, len, flags) of `key` in this run, or None."""
        hs, step = self._h, self._step
        j = bisect.bisect_left(self._fence, h)  # fence[j-1] < h <= fence[j]
        lo = (j - 1) * step + 1 if j else 0
        hi = min(self.n, j * step + 1)
        i = bisect.bisect_left(hs, h, lo, hi)
        while i < self.n and hs[i] == h:
            off, length, pack, flags, klen = _LOC.unpack_from(self._loc, i * _LOC.size)
            w = self.width
            if klen == len(key) and self._keys[i * w: i * w + klen] == key:
                if off + length > sys.maxsize:  # past any file offset: a garbled entry, not a place
                    raise RepoError(f"index run {self.id} is damaged: entry {i} points at offset {off}")
                return pack, off, length, flags
            i += 1
        return None

    def h_column(self) -> np.ndarray:
        """The mapped hash column as a numpy array (no copy)."""
        import numpy as np

        return np.frombuffer(self._maps[0], "<u8")

    def entries(self) -> Entries:
        """Zero-copy column views (valid while the run is open)."""
        import numpy as np

        from .entries import LOC_DTYPE, Entries

        return Entries(np.frombuffer(self._maps[0], "<u8"), np.frombuffer(self._maps[1], LOC_DTYPE),
                       np.frombuffer(self._maps[2], np.uint8).reshape(self.n, self.width))

    def close(self) -> None:
        if hasattr(self, "_h"):
            self._h.release()
        for m in self._maps:
            try:
                m.close()
            except BufferError:  # a listing still holds a view; the map goes with it
                pass
