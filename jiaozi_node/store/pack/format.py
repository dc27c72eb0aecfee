"""On-disk formats of the pack engine, as pure functions over bytes (no I/O here).

A **pack** (`packs/NNNNNNNN.pack`) is a sequence of **batches**, one per commit::

    header  24 bytes  "JZB1", u32 n, u32 W, u32 reserved (0), u64 body_len
    body    body_len  the blocks' bytes, back to back
    table   n*(22+W)  the batch's index entries (columns, see below)
    trailer 8 bytes   u32 crc32(header + table), "JZE1"

The table holds, column after column: h (n x u64, the key hash), off (n x u64, absolute offset of
the block in this pack), len (n x u32), flags (n x u8, bit 0 = tombstone), klen (n x u8) and keys
(n x W bytes, each key left-aligned and zero-padded). A delete is a batch of tombstones and an
empty body. A batch counts only once its trailer is complete and its CRC matches; the writer
fsyncs the body before it writes the table and trailer, so a valid trailer implies durable data.

The **manifest** (`MANIFEST`, JSON, replaced atomically) names the index runs, oldest first, as
[id, entries, key width], the active pack, where its tail starts and the next run id.

A **run** (`runs/NNNNNNNN.{h,loc,key}`) is an immutable, h-sorted index over any number of packs:
the same columns in three files (so they can be appended slice by slice while merging and mapped
for lookups), with `pack` added to each location (LOC_DTYPE).

The key hash `h` is the last 8 bytes of the multihash (little-endian): digest bytes of a
cryptographic hash, uniform without hashing again. Equal `h` for different keys is handled (the
full key is compared), so a forged collision costs a comparison, never a wrong block.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ...errors import InvalidInput, RepoError

BATCH_MAGIC = b"JZB1"
TRAILER_MAGIC = b"JZE1"
HEADER = struct.Struct("<4sIIIQ")
TRAILER = struct.Struct("<I4s")
TOMBSTONE = 1
# Per-entry bytes of a batch table besides the key: h u64, off u64, len u32, flags u8, klen u8.
TABLE_FIXED = 22

LOC_DTYPE = np.dtype([("off", "<u8"), ("len", "<u4"), ("pack", "<u4"), ("flags", "u1"), ("klen", "u1")])


def key_hash(key: bytes) -> int:
    return int.from_bytes(key[-8:].rjust(8, b"\0"), "little")


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
    def build(rows: list[tuple[bytes, int, int, int, int]]) -> Entries:
        """From (key, pack, off, len, flags) rows, sorted by h."""
        width = max((len(r[0]) for r in rows), default=1) or 1
        n = len(rows)
        h = np.fromiter((key_hash(r[0]) for r in rows), "<u8", n)
        loc = np.zeros(n, LOC_DTYPE)
        keys = np.zeros((n, width), np.uint8)
        for i, (key, pack, off, length, flags) in enumerate(rows):
            loc[i] = (off, length, pack, flags, len(key))
            keys[i, : len(key)] = np.frombuffer(key, np.uint8)
        order = np.argsort(h, kind="stable")
        return Entries(h[order], loc[order], keys[order])


def check_key(key: bytes) -> None:
    if not 0 < len(key) < 256:
        raise InvalidInput(f"multihash of {len(key)} bytes cannot be stored (limit 255)")


# ------------------------------------------------------------------------------ batches


def encode_header(n: int, width: int, body_len: int) -> bytes:
    return HEADER.pack(BATCH_MAGIC, n, width, 0, body_len)


def encode_table(header: bytes, keys: list[bytes], offsets: list[int], lengths: list[int],
                 flags: list[int]) -> bytes:
    """The table and trailer that close a batch whose header is `header`."""
    n = len(keys)
    width = HEADER.unpack(header)[2]
    kb = np.zeros((n, width), np.uint8)
    for i, k in enumerate(keys):
        kb[i, : len(k)] = np.frombuffer(k, np.uint8)
    table = b"".join((
        np.fromiter((key_hash(k) for k in keys), "<u8", n).tobytes(),
        np.asarray(offsets, "<u8").tobytes(),
        np.asarray(lengths, "<u4").tobytes(),
        np.asarray(flags, "u1").tobytes(),
        np.fromiter((len(k) for k in keys), "u1", n).tobytes(),
        kb.tobytes(),
    ))
    return table + TRAILER.pack(zlib.crc32(header + table), TRAILER_MAGIC)


@dataclass(frozen=True)
class BatchHeader:
    n: int
    width: int
    body_len: int

    @property
    def table_len(self) -> int:
        return self.n * (TABLE_FIXED + self.width)

    @property
    def total_len(self) -> int:
        return HEADER.size + self.body_len + self.table_len + TRAILER.size


def decode_header(raw: bytes, max_entries: int) -> BatchHeader | None:
    """None unless `raw` starts a plausible batch."""
    if len(raw) < HEADER.size:
        return None
    magic, n, width, reserved, body_len = HEADER.unpack_from(raw)
    if magic != BATCH_MAGIC or reserved != 0 or n > max_entries or not 0 < width < 256:
        return None
    return BatchHeader(n, width, body_len)


def decode_table(header_raw: bytes, hdr: BatchHeader, table_and_trailer: bytes, pack: int,
                 body_start: int) -> Entries | None:
    """The batch's entries, or None if the table is incomplete, garbled, or points outside the
    batch's body."""
    n, width = hdr.n, hdr.width
    if len(table_and_trailer) != hdr.table_len + TRAILER.size:
        return None
    table = table_and_trailer[: hdr.table_len]
    crc, magic = TRAILER.unpack_from(table_and_trailer, hdr.table_len)
    if magic != TRAILER_MAGIC or crc != zlib.crc32(header_raw[: HEADER.size] + table):
        return None
    pos = 0

    def col(dtype: str, count: int) -> np.ndarray:
        nonlocal pos
        arr = np.frombuffer(table, dtype, count, pos)
        pos += arr.nbytes
        return arr

    h, off, length, flags, klen = col("<u8", n), col("<u8", n), col("<u4", n), col("u1", n), col("u1", n)
    keys = col("u1", n * width).reshape(n, width)
    end = body_start + hdr.body_len
    if body_start < 0 or end > np.iinfo(np.int64).max:  # past any file offset (off_t): garbage
        return None
    live = (flags & TOMBSTONE) == 0
    # `end - off` rather than `off + length`: an offset near 2**64 must not wrap around into range.
    outside = (off < body_start) | (off > end) | (length > np.uint64(end) - np.minimum(off, np.uint64(end)))
    if np.any(live & outside) or np.any((klen == 0) | (klen > width)):
        return None
    loc = np.zeros(n, LOC_DTYPE)
    loc["off"], loc["len"], loc["pack"], loc["flags"], loc["klen"] = off, length, pack, flags, klen
    return Entries(h.copy(), loc, keys.copy())


# ------------------------------------------------------------------------------ manifest


def parse_manifest(raw: bytes, where: str = "MANIFEST") -> dict:
    """The manifest in `raw` (read from `where`), checked field by field; RepoError (one line) if
    it is damaged."""
    try:
        m = json.loads(raw)
        if not isinstance(m, dict) or m.get("format") != 1:
            raise ValueError("not a format 1 manifest")
        fields = {k: m[k] for k in ("active", "tail_start", "next_run")}
        runs = [[r[0], r[1], r[2]] for r in m["runs"] if len(r) == 3]
        if len(runs) != len(m["runs"]):
            raise ValueError("a run is not [id, entries, width]")
        for v in [*fields.values(), *(x for r in runs for x in r)]:
            if type(v) is not int or not 0 <= v <= np.iinfo(np.int64).max:
                raise ValueError(f"{v!r} is not a count or offset")
        ids = [r[0] for r in runs]
        if any(r[1] == 0 or not 0 < r[2] < 256 for r in runs) or len(set(ids)) != len(ids) \
                or any(i >= fields["next_run"] for i in ids):
            raise ValueError("its runs are inconsistent")
    except (ValueError, TypeError, KeyError) as exc:  # JSONDecodeError, UnicodeDecodeError: ValueError
        raise RepoError(f"blockstore index {where} is damaged ({exc})") from None
    return {"format": 1, "runs": runs, **fields}
