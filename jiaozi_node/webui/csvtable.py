"""Streaming CSV/TSV pages (pure): rows from a byte offset, column types, sort keys.

Only the bytes a page needs are read: `read_rows` pulls chunks from an iterator (the UnixFS
exporter reading from an offset, which never fetches a leaf before it) and stops after `max_rows`
rows, so the first page of a 10 GiB file costs what the first page of a 10 KiB file costs. Each
page ends at an exact byte offset (after a complete record, quoted newlines included), which the
next page starts from.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import LimitExceeded


@dataclass
class RowsPage:
    rows: list[list[str]]
    start: int
    end: int  # byte offset just after the last row read
    eof: bool
    row_ends: list[int] = field(default_factory=list)  # byte offset just after each row


def delimiter_for(name: str) -> str | None:
    low = name.lower()
    if low.endswith((".tsv", ".tab")):
        return "\t"
    if low.endswith(".csv"):
        return ","
    return None


class _Lines:
    """Lines (with their newline) of a byte stream, decoded as UTF-8; `pos` is the byte offset
    just after the last line handed out. A line longer than `max_bytes` raises LimitExceeded."""

    def __init__(self, chunks: Iterator[bytes], start: int, max_bytes: int) -> None:
        self._chunks = chunks
        self._buf = b""
        self._at = 0  # lines are handed out from _buf[_at:] (no copy of the rest per line)
        self._eof = False
        self.pos = start
        self._budget = max_bytes

    def __iter__(self) -> Iterator[str]:
        return self

    def at_end(self) -> bool:
        """True when no byte follows what was handed out (reads at most one more chunk)."""
        while self._at >= len(self._buf) and not self._eof:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
            else:
                self._buf, self._at = chunk, 0
        return self._at >= len(self._buf)

    def __next__(self) -> str:
        while True:
            i = self._buf.find(b"\n", self._at)
            if i >= 0:
                line = self._buf[self._at:i + 1]
                self._at = i + 1
                break
            if self._eof:
                if self._at >= len(self._buf):
                    raise StopIteration
                line = self._buf[self._at:]
                self._buf, self._at = b"", 0
                break
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
                continue
            self._budget -= len(chunk)
            if self._budget < 0:
                raise LimitExceeded("a CSV row is longer than the preview reads per page")
            self._buf, self._at = self._buf[self._at:] + chunk, 0
        self.pos += len(line)
        return line.decode("utf-8", "replace")


def read_rows(chunks: Iterator[bytes], *, start: int, delimiter: str, max_rows: int,
              max_bytes: int) -> RowsPage:
    """Up to `max_rows` records from `chunks` (the file's bytes from offset `start`)."""
    lines = _Lines(chunks, start, max_bytes)
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    ends: list[int] = []
    end = start
    try:
        for row in reader:
            rows.append(row)
            end = lines.pos
            ends.append(end)
            if len(rows) >= max_rows:
                break
    except csv.Error as exc:
        raise LimitExceeded(f"cannot parse CSV after byte {end}: {exc}") from None
    eof = len(rows) < max_rows or lines.at_end()
    return RowsPage(rows, start, end, eof, ends)


_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_BOOL = {"true", "false", "yes", "no", "t", "f"}


def cell_type(value: str) -> str:
    v = value.strip()
    if not v:
        return "empty"
    if _INT.match(v):
        return "integer"
    if _FLOAT.match(v):
        return "number"
    if v.lower() in _BOOL:
        return "boolean"
    if _DATE.match(v):
        return "date"
    return "text"


def infer_types(rows: list[list[str]], ncols: int) -> list[str]:
    """Per column: integer, number, boolean, date or text (the narrowest type every non-empty
    cell of the sample fits); "empty" when the sample has no value."""
    out = []
    for c in range(ncols):
        kinds = {cell_type(r[c]) for r in rows if c < len(r)} - {"empty"}
        if not kinds:
            out.append("empty")
        elif kinds == {"integer"}:
            out.append("integer")
        elif kinds <= {"integer", "number"}:
            out.append("number")
        elif len(kinds) == 1:
            out.append(kinds.pop())
        else:
            out.append("text")
    return out


def sort_key(kind: str, col: int):  # type: ignore[no-untyped-def]
    """A key function ordering rows by column `col` read as `kind`; empty/unparsable last."""

    def key(row: list[str]) -> tuple[int, object]:
        v = row[col].strip() if col < len(row) else ""
        if not v:
            return (2, "")
        if kind in ("integer", "number"):
            try:
                return (0, float(v))
            except ValueError:
                return (1, v)
        return (0, v.lower() if kind == "text" else v)

    return key
