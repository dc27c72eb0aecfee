"""Chunkers (pure, push-style): `feed(bytes) -> [chunk, ...]`, `close() -> [chunk, ...]`.

Chunker specs are the strings Kubo accepts (boxo `chunker.FromString`):

* `size-N`                  fixed N-byte chunks (0 < N <= max chunk size)
* `rabin`, `rabin-AVG`, `rabin-MIN-AVG-MAX` (labels `min:`/`avg:`/`max:` allowed) — see rabin.py
* `buzhash`                 go-ipfs-chunker's buzhash — see buzhash.py

A chunker never emits an empty chunk; an empty input yields no chunks (the layouts turn that into
Kubo's empty-file node). Memory: a chunker holds at most one chunk's worth of unconsumed bytes plus
the caller's current `feed` argument (content-defined chunkers: at most `max` + one feed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..config import IPLD_LIMITS, KiB
from ..errors import InvalidInput

Buffer = bytes | bytearray | memoryview

# boxo ChunkSizeLimit: a chunk must still fit in one 2 MiB block once wrapped in a dag-pb/UnixFS
# leaf, so 256 bytes are reserved for that framing (bitswap refuses larger blocks).
CHUNK_OVERHEAD_BUDGET = 256
# Kubo's "rabin" without sizes uses chunk.DefaultBlockSize (256 KiB) as the average.
DEFAULT_RABIN_AVG = 256 * KiB


class Chunker(Protocol):
    def feed(self, data: Buffer) -> list[bytes]: ...

    def close(self) -> list[bytes]: ...


@dataclass(frozen=True)
class ChunkerSpec:
    kind: str  # "size" | "rabin" | "buzhash"
    size: int = 0  # fixed size
    min: int = 0
    avg: int = 0
    max: int = 0

    def make(self) -> Chunker:
        if self.kind == "size":
            return FixedSizeChunker(self.size)
        if self.kind == "rabin":
            from .rabin import RabinChunker

            return RabinChunker(self.min, self.avg, self.max)
        from .buzhash import BuzhashChunker

        return BuzhashChunker()


def _int(text: str, what: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise InvalidInput(f"chunker: {what} {text!r} is not an integer") from None


def _labelled(part: str, label: str) -> int:
    sub = part.split(":")
    if len(sub) > 1 and sub[0] != label:
        raise InvalidInput(f"chunker: expected label {label!r} in {part!r}")
    return _int(sub[-1], label)


def max_chunk_bytes(max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> int:
    """The largest chunk that still fits a leaf block of at most `max_block_bytes`."""
    return max_block_bytes - CHUNK_OVERHEAD_BUDGET


def parse_chunker(spec: str, *, max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> ChunkerSpec:
    """Parse a Kubo chunker string, with Kubo's validation rules and error cases."""
    max_chunk = max_chunk_bytes(max_block_bytes)
    if spec in ("", "default"):
        return ChunkerSpec("size", size=256 * KiB)
    name = spec.split("-", 1)[0]
    parts = spec.split("-")
    if name == "size":
        if len(parts) != 2:
            raise InvalidInput("chunker: incorrect format (expected size-{size})")
        size = _int(parts[1], "size")
        if size <= 0:
            raise InvalidInput("chunker: size must be greater than 0")
        if size > max_chunk:
            raise InvalidInput(f"chunker: size may not exceed the maximum chunk size of {max_chunk}")
        return ChunkerSpec("size", size=size)
    if name == "rabin":
        if len(parts) == 1:
            avg = DEFAULT_RABIN_AVG
            return ChunkerSpec("rabin", min=avg // 3, avg=avg, max=avg + avg // 2)
        if len(parts) == 2:
            avg = _int(parts[1], "avg")
            if int(avg * 1.5) > max_chunk:
                raise InvalidInput(f"chunker: rabin max may not exceed {max_chunk}")
            if avg // 3 < 16:
                raise InvalidInput("chunker: rabin min must be greater than 16")
            return ChunkerSpec("rabin", min=avg // 3, avg=avg, max=avg + avg // 2)
        if len(parts) == 4:
            lo = _labelled(parts[1], "min")
            avg = _labelled(parts[2], "avg")
            hi = _labelled(parts[3], "max")
            if lo < 16:
                raise InvalidInput("chunker: rabin min must be greater than 16")
            if lo >= avg:
                raise InvalidInput("chunker: rabin-min must be smaller than rabin-avg")
            if avg >= hi:
                raise InvalidInput("chunker: rabin-avg must be smaller than rabin-max")
            if hi > max_chunk:
                raise InvalidInput(f"chunker: rabin max may not exceed {max_chunk}")
            return ChunkerSpec("rabin", min=lo, avg=avg, max=hi)
        raise InvalidInput("chunker: expected 'rabin', 'rabin-[avg]' or 'rabin-[min]-[avg]-[max]'")
    if name == "buzhash":
        if spec != "buzhash":
            raise InvalidInput("chunker: buzhash takes no parameters")
        return ChunkerSpec("buzhash")
    raise InvalidInput(f"unrecognized chunker option: {spec}")


def make_chunker(spec: str, *, max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> Chunker:
    return parse_chunker(spec, max_block_bytes=max_block_bytes).make()


class FixedSizeChunker:
    """Fixed-size chunks; slices the caller's buffer directly (one copy per chunk, no loops)."""

    def __init__(self, size: int, *, max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> None:
        if not 0 < size <= max_chunk_bytes(max_block_bytes):
            raise InvalidInput(f"chunker: bad size {size}")
        self.size = size
        self._pending = bytearray()

    def feed(self, data: Buffer) -> list[bytes]:
        size = self.size
        if type(data) is bytes and not self._pending and len(data) == size:
            return [data]  # the caller read exactly one chunk: no copy at all
        out: list[bytes] = []
        mv = memoryview(data).cast("B")
        pos = 0
        if self._pending:
            take = min(size - len(self._pending), len(mv))
            self._pending += mv[:take]
            pos = take
            if len(self._pending) < size:
                return out
            out.append(bytes(self._pending))
            self._pending = bytearray()
        n = len(mv)
        while n - pos >= size:
            out.append(bytes(mv[pos : pos + size]))
            pos += size
        if pos < n:
            self._pending += mv[pos:]
        return out

    def close(self) -> list[bytes]:
        if not self._pending:
            return []
        chunk = bytes(self._pending)
        self._pending = bytearray()
        return [chunk]


class ContentDefinedChunker(ABC):
    """Shared machinery of rabin/buzhash: both cut where a rolling hash of the last `window` bytes
    matches a mask, and that hash depends only on those bytes. So the candidate cut points of a
    whole buffer are computed at once (vectorised by the subclass, `_find_hits`) and chunking walks
    them; no per-byte Python loop.

    Subclasses define `window` and `_find_hits(seg) -> sorted local end positions c (window [c-W, c))`,
    and `_cut(start_hit, avail, final) -> chunk length | None`.
    """

    window: int

    def __init__(self) -> None:
        import numpy as np

        self._np = np
        self._buf = bytearray()  # unconsumed bytes, _buf[_off] is absolute position _base
        self._off = 0
        self._base = 0
        self._scanned = 0  # candidate ends c <= _scanned have been computed
        self._hits = np.zeros(0, dtype=np.int64)  # absolute candidate ends, sorted, > _base

    @abstractmethod
    def _find_hits(self, seg: memoryview) -> Sequence[int]: ...

    @abstractmethod
    def _cut_len(self, first_hit: int | None, avail: int, final: bool) -> int | None: ...

    def _scan(self) -> None:
        np = self._np
        end = self._base + len(self._buf) - self._off
        s0 = max(self._base, self._scanned + 1 - self.window)
        if end - s0 < self.window:
            return
        seg = memoryview(self._buf)[self._off + (s0 - self._base) :]
        try:
            local = self._find_hits(seg)
        finally:
            seg.release()
        hits = np.asarray(local, dtype=np.int64) + s0
        hits = hits[hits > self._scanned]
        self._hits = np.concatenate((self._hits, hits)) if len(self._hits) else hits
        self._scanned = end

    def _drain(self, final: bool) -> list[bytes]:
        np = self._np
        out: list[bytes] = []
        while True:
            avail = len(self._buf) - self._off
            if avail == 0:
                break
            start = self._base
            i = int(np.searchsorted(self._hits, start + self.min_hit_offset, side="left"))
            first = int(self._hits[i]) - start if i < len(self._hits) else None
            n = self._cut_len(first, avail, final)
            if n is None:
                break
            with memoryview(self._buf) as mv:  # one copy (a bytearray slice would make two)
                out.append(bytes(mv[self._off : self._off + n]))
            self._off += n
            self._base += n
            j = int(np.searchsorted(self._hits, self._base, side="right"))
            self._hits = self._hits[j:]
        if self._off and self._off * 2 >= len(self._buf):
            del self._buf[: self._off]
            self._off = 0
        return out

    min_hit_offset = 0

    def feed(self, data: Buffer) -> list[bytes]:
        if len(data) == 0:
            return []
        self._buf += data
        self._scan()
        return self._drain(False)

    def close(self) -> list[bytes]:
        out = self._drain(True)
        self._buf = bytearray()
        self._off = 0
        return out
