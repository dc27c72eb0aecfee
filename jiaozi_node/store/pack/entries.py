"""Index entries as numpy columns: what runs hold and merges, listings and compaction work on.
Imported only by those (never on the path of opening a store and reading or writing blocks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .format import Row, key_hash

LOC_DTYPE = np.dtype([("off", "<u8"), ("len", "<u4"), ("pack", "<u4"), ("flags", "u1"), ("klen", "u1")])


@dataclass
class Entries:
    """Index entries as columns. `keys` is an (n, W) uint8 array, zero-padded."""

    h: np.ndarray
    loc: np.ndarray
    keys: np.ndarray

    def __len__(self) -> int:
        return len(self.h)

    @property
    def width(self) -> int:
        return int(self.keys.shape[1])

    def key(self, i: int) -> bytes:
        return self.keys[i, : int(self.loc["klen"][i])].tobytes()

    def take(self, idx: np.ndarray) -> Entries:
        # Rows of keys gathered as one W-byte item each (much faster than 2-D fancy indexing).
        rows = np.ascontiguousarray(self.keys).view(np.dtype((np.void, self.width))).reshape(-1)
        keys = rows[idx].view(np.uint8).reshape(-1, self.width)
        return Entries(self.h[idx], self.loc[idx], keys)

    def part(self, start: int, stop: int) -> Entries:
        """Rows start..stop, as views (no copy)."""
        return Entries(self.h[start:stop], self.loc[start:stop], self.keys[start:stop])

    def widened(self, width: int) -> Entries:
        if width == self.width:
            return self
        keys = np.zeros((len(self), width), np.uint8)
        keys[:, : self.width] = self.keys
        return Entries(self.h, self.loc, keys)

    @staticmethod
    def empty(width: int = 1) -> Entries:
        return Entries(np.zeros(0, "<u8"), np.zeros(0, LOC_DTYPE), np.zeros((0, width), np.uint8))

    @staticmethod
    def build(rows: list[Row]) -> Entries:
        """From (key, pack, off, len, flags) rows, sorted by h."""
        width = max((len(r[0]) for r in rows), default=1) or 1
        n = len(rows)
        h = np.fromiter((key_hash(r[0]) for r in rows), "<u8", n)
        loc = np.zeros(n, LOC_DTYPE)
        for name, col in (("pack", 1), ("off", 2), ("len", 3), ("flags", 4)):
            loc[name] = np.fromiter((r[col] for r in rows), loc.dtype[name], n)
        loc["klen"] = np.fromiter((len(r[0]) for r in rows), "u1", n)
        keys = np.frombuffer(b"".join(r[0].ljust(width, b"\0") for r in rows), np.uint8).reshape(n, width)
        order = np.argsort(h, kind="stable")
        return Entries(h[order], loc[order], keys[order])
