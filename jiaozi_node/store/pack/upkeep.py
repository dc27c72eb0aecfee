"""Upkeep of a pack store: flushing the tail into runs, merging runs, sealing packs, compaction
after GC, and recovery of the active pack after a crash. A mixin of `PackBlockstore` (store.py):
every method here runs under its write lock (`_writing`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import CorruptBlock, InvalidInput
from ..keys import check_stored, cid_of_key
from .format import BATCH_MAGIC, TOMBSTONE
from .runs import Run, remove_run, write_run

if TYPE_CHECKING:
    import numpy as np

    from .entries import Entries


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Upkeep:
    """Write-side maintenance; see the module docstring. Attributes come from PackBlockstore."""

    _lim: Any
    _manifest: dict
    _tail: dict
    _active: int
    _scan_pos: int
    _runs: dict
    _runs_dir: Path
    _packs_dir: Path
    _sync: bool
    _max_batch: int
    _fds: Any

    def _maybe_flush(self) -> None:
        full = self._scan_pos >= self._lim.pack_max_bytes
        if full or len(self._tail) >= self._lim.pack_tail_entries \
                or self._tail_batches >= self._lim.pack_tail_batches:
            self._flush(rollover=full)

    def _flush(self, *, rollover: bool, merge_all: bool = False) -> None:
        """Write the tail out as a run, merge runs, maybe start a new pack; one manifest update."""
        from .merge import sliced  # numpy: only here, never on the plain read/write path

        runs = [list(r) for r in self._manifest["runs"]]
        next_run = int(self._manifest["next_run"])
        if self._tail:
            e = self._tail_entries()
            n = write_run(self._runs_dir, next_run, [e], e.width, sync=self._sync)
            runs.append([next_run, n, e.width])
            next_run += 1
        ratio = self._lim.pack_merge_ratio
        while len(runs) >= 2 and (merge_all or runs[-2][1] <= ratio * runs[-1][1]):
            a, b = runs[-2], runs[-1]
            width = max(a[2], b[2])
            sources = [self._run_entries(a), self._run_entries(b)]
            n = write_run(self._runs_dir, next_run,
                          sliced(sources, drop_tombstones=len(runs) == 2,
                                 slice_entries=self._lim.pack_slice_entries), width, sync=self._sync)
            runs[-2:] = [[next_run, n, width]] if n else []
            next_run += 1
        if merge_all and len(runs) == 1 and \
                (self._run_entries(runs[0]).loc["flags"] & TOMBSTONE).any():  # drop its tombstones
            sources = [self._run_entries(runs[0])]
            n = write_run(self._runs_dir, next_run, sliced(sources, drop_tombstones=True,
                          slice_entries=self._lim.pack_slice_entries), runs[0][2], sync=self._sync)
            runs = [[next_run, n, runs[0][2]]] if n else []
            next_run += 1
        if self._sync:
            fsync_dir(self._runs_dir)
        active, tail_start = self._active, self._scan_pos
        if rollover and os.stat(self._pack_path(self._active)).st_size > 0:
            active, tail_start = active + 1, 0
            with open(self._pack_path(active), "wb") as f:  # a leftover of a crashed rollover is emptied
                if self._sync:
                    os.fsync(f.fileno())
            if self._sync:
                fsync_dir(self._packs_dir)
        self._write_manifest({"format": 1, "runs": runs, "active": active, "tail_start": tail_start,
                              "next_run": next_run})
        self._refresh(force=True)
        keep = {int(r[0]) for r in runs}
        for p in self._runs_dir.iterdir():
            rid = int(p.stem) if p.stem.isdigit() else -1
            if 0 <= rid < next_run and rid not in keep:
                remove_run(self._runs_dir, rid)

    def _run_entries(self, spec: list) -> Entries:
        run = self._runs.get(int(spec[0]))
        if run is None:  # written by this flush, not yet in the manifest
            run = Run(self._runs_dir, int(spec[0]), int(spec[1]), int(spec[2]))
            self._runs[run.id] = run
        return run.entries()

    def compact(self, *, dead_ratio: float | None = None) -> int:
        """Give back the space of deleted blocks: rewrite every sealed pack whose dead fraction is
        at least `dead_ratio` (default `pack_compact_dead_ratio`) and delete it. Returns the number
        of pack files removed. Run by `repo gc` after its sweep."""
        ratio = self._lim.pack_compact_dead_ratio if dead_ratio is None else dead_ratio
        with self._writing():
            self._flush(rollover=False, merge_all=True)  # one run, no tombstones: live = listed
            live = self._live_bytes()
            sizes = {p: self._pack_path(p).stat().st_size for p in range(self._active + 1)
                     if self._pack_path(p).exists()}
            victims = [p for p, size in sizes.items() if live[p] <= (1 - ratio) * size and size > 0
                       or p < self._active and size == 0]
            if self._active in victims:  # seal it first: only sealed packs are rewritten
                self._flush(rollover=True)
            if not victims:
                return 0
            index = self._sources()
            live = self._live_bytes()
            for p in victims:
                if live[p]:
                    self._copy_forward(p, index)
            if any(live[p] for p in victims):
                self._flush(rollover=False, merge_all=True)
            for p in victims:
                fd = self._fds.pop(p, None)
                if fd is not None:
                    os.close(fd)
                self._pack_path(p).unlink(missing_ok=True)
            return len(victims)

    def _copy_forward(self, pack: int, index: list[Entries]) -> None:
        import numpy as np

        fd = self._fd(pack)
        batch: list[tuple[bytes, bytes | None]] = []
        size = 0
        for e in index:
            kb, w = e.keys.tobytes(), e.width
            for i in np.nonzero(e.loc["pack"] == pack)[0].tolist():
                off, length, _, flags, klen = e.loc[i].tolist()
                if flags & TOMBSTONE:
                    continue
                batch.append((kb[i * w: i * w + klen], os.pread(fd, length, off)))
                size += length
                if size >= self._max_batch or len(batch) >= self._lim.pack_batch_entries:
                    self._append(batch)
                    self._maybe_flush()
                    batch, size = [], 0
        if batch:
            self._append(batch)
            self._maybe_flush()

    def _live_bytes(self) -> np.ndarray:
        import numpy as np

        live = np.zeros(self._active + 1, np.float64)
        for e in self._sources():  # type: ignore[attr-defined]
            alive = (e.loc["flags"] & TOMBSTONE) == 0
            live += np.bincount(e.loc["pack"][alive], weights=e.loc["len"][alive],
                                minlength=self._active + 1)[: self._active + 1]
        return live

    def _recover_tail(self, fd: int) -> None:
        """The active pack holds bytes after its last valid batch. Usually the unfinished batch of
        a killed writer (always the last thing in the pack): cut it off. But if a valid batch
        follows (bytes damaged on disk in the middle of the tail), keep what can be trusted: the
        blocks of the batches after the damage whose bytes verify against their hashes (a block
        whose data happened to contain a forged batch cannot smuggle in entries this way; their
        tombstones are dropped, so a deleted block may come back until the next GC), write them
        out as a run and seal this pack."""
        size = os.fstat(fd).st_size
        nxt = self._next_valid_batch(fd, self._scan_pos + 1, size)
        if nxt is None:
            os.ftruncate(fd, self._scan_pos)
            return
        while nxt is not None and nxt < size:
            hdr, rows = self._batch_at(fd, nxt, size)  # type: ignore[attr-defined]
            if hdr is None or rows is None:
                nxt = self._next_valid_batch(fd, nxt + 1, size)
                continue
            for key, pack, off, length, flags in rows:
                if flags & TOMBSTONE:
                    continue
                try:
                    check_stored(cid_of_key(key), os.pread(fd, length, off))
                except (CorruptBlock, InvalidInput):
                    continue
                self._tail[key] = (pack, off, length, flags)
            nxt += hdr.total_len
        self._flush(rollover=True)

    def _next_valid_batch(self, fd: int, start: int, size: int) -> int | None:
        """Offset of the first complete, valid batch at or after `start`, or None."""
        while start < size:
            buf = os.pread(fd, min(self._lim.pack_resync_read + len(BATCH_MAGIC) - 1, size - start), start)
            i = buf.find(BATCH_MAGIC)
            while i >= 0:
                if self._batch_at(fd, start + i, size)[1] is not None:  # type: ignore[attr-defined]
                    return start + i
                i = buf.find(BATCH_MAGIC, i + 1)
            start += self._lim.pack_resync_read
        return None
