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
for lookups), with `pack` added to each location (entries.LOC_DTYPE).

This module is plain Python (struct, zlib): opening a store and reading and writing blocks never
imports numpy (~100 ms of start-up for every CLI command); only flushes, merges, listings and
compaction use the columnar `entries.Entries`.

The key hash `h` is the last 8 bytes of the multihash (little-endian): digest bytes of a
cryptographic hash, uniform without hashing again. Equal `h` for different keys is handled (the
full key is compared), so a forged collision costs a comparison, never a wrong block.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

from ...errors import InvalidInput, RepoError

BATCH_MAGIC = b"JZB1"
TRAILER_MAGIC = b"JZE1"
HEADER = struct.Struct("<4sIIIQ")
TRAILER = struct.Struct("<I4s")
TOMBSTONE = 1
# The most entries a batch header may claim and still be read: a format bound, not a setting, so
# batches written under any `pack_batch_entries` stay readable (a header beyond it is garbage).
MAX_BATCH_ENTRIES = 1 << 24
# Per-entry bytes of a batch table besides the key: h u64, off u64, len u32, flags u8, klen u8.
TABLE_FIXED = 22
_MAX_OFF_T = (1 << 63) - 1  # largest file offset (off_t)

Row = tuple[bytes, int, int, int, int]  # key, pack, offset, length, flags


def key_hash(key: bytes) -> int:
    return int.from_bytes(key[-8:].rjust(8, b"\0"), "little")


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
    table = b"".join((
        struct.pack(f"<{n}Q", *(key_hash(k) for k in keys)),
        struct.pack(f"<{n}Q", *offsets),
        struct.pack(f"<{n}I", *lengths),
        bytes(flags),
        bytes(len(k) for k in keys),
        b"".join(k.ljust(width, b"\0") for k in keys),
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
                 body_start: int) -> list[Row] | None:
    """The batch's entries as (key, pack, offset, length, flags) rows in table order, or None if
    the table is incomplete, garbled, or points outside the batch's body."""
    n, width = hdr.n, hdr.width
    if len(table_and_trailer) != hdr.table_len + TRAILER.size:
        return None
    table = table_and_trailer[: hdr.table_len]
    crc, magic = TRAILER.unpack_from(table_and_trailer, hdr.table_len)
    if magic != TRAILER_MAGIC or crc != zlib.crc32(header_raw[: HEADER.size] + table):
        return None
    end = body_start + hdr.body_len
    if body_start < 0 or end > _MAX_OFF_T:  # past any file offset (off_t): garbage
        return None
    offs = struct.unpack_from(f"<{n}Q", table, 8 * n)
    lens = struct.unpack_from(f"<{n}I", table, 16 * n)
    flags = table[20 * n: 21 * n]
    klens = table[21 * n: 22 * n]
    keys_at = 22 * n
    rows: list[Row] = []
    for i in range(n):
        off, length, flag, klen = offs[i], lens[i], flags[i], klens[i]
        if not 0 < klen <= width:
            return None
        if not flag & TOMBSTONE and not body_start <= off <= end - length:
            return None  # (a bound on `off`, not `off + length`: nothing can wrap around)
        k = keys_at + i * width
        rows.append((table[k: k + klen], pack, off, length, flag))
    return rows


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
            if type(v) is not int or not 0 <= v <= _MAX_OFF_T:
                raise ValueError(f"{v!r} is not a count or offset")
        ids = [r[0] for r in runs]
        if any(r[1] == 0 or not 0 < r[2] < 256 for r in runs) or len(set(ids)) != len(ids) \
                or any(i >= fields["next_run"] for i in ids):
            raise ValueError("its runs are inconsistent")
    except (ValueError, TypeError, KeyError) as exc:  # JSONDecodeError, UnicodeDecodeError: ValueError
        raise RepoError(f"blockstore index {where} is damaged ({exc})") from None
    return {"format": 1, "runs": runs, **fields}
