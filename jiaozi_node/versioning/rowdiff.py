"""Row-level diff of two versions of a CSV/TSV file, using the DAG (pure, over a block getter).

Cost follows the change, not the file. Both files' leaf lists are read from their interior nodes
(leaves are not fetched); the two lists are aligned by leaf CID (difflib over CIDs), and leaves
equal on both sides are never read. With a content-defined chunker (`rabin`, `buzhash`) an edit
changes only the leaves around it, so only those are read. Each changed stretch is widened to
whole rows: back to the newline before it and on to the newline after it — bytes read from the
neighbouring equal leaves, identical on both sides, so both stretches widen by the same amount;
stretches that meet are merged, and a stretch is widened further while it holds an odd number of
`"` (a quoted field with a newline in it). Within a stretch the common prefix and suffix lines
are cut off by byte comparison; only the lines left are parsed and compared.

Rows are matched by position (difflib over the lines: `changed` when a block of old rows is
replaced by as many new ones, else `removed`/`added`) or, with `key`, by the value of that column
(`changed` when a key's row differs, `removed`/`added` when a key is only on one side; a row that
only moved is no change; duplicate keys: the last one wins). Rows are located by their byte
offset in each file (counting rows would mean reading the unchanged leaves).

Memory is bounded by the changed stretches, not the files: a stretch larger than
`max_region_bytes` raises LimitExceeded (files that share no leaves — different chunkers, or a
fixed-size chunker after an insertion — are one stretch). Works for any two files; the header
row (the first record) is compared separately.
"""

from __future__ import annotations

import bisect
import csv
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate

from ..config import VERSIONING_LIMITS
from ..errors import CodecError, InvalidInput, LimitExceeded
from ..ipld.cid import CID, DAG_PB, RAW
from ..unixfs import pb
from ..unixfs.exporter_data import BlockGetter, get_node


@dataclass
class RowOp:
    op: str  # "added" | "removed" | "changed"
    old: list[str] | None
    new: list[str] | None
    offset_a: int | None  # byte offset of the row in the old file
    offset_b: int | None
    key: str | None = None
    cells: list[int] = field(default_factory=list)  # changed column indexes ("changed" only)

    def to_json(self, header: list[str]) -> dict[str, object]:
        out: dict[str, object] = {"op": self.op, "offsetA": self.offset_a, "offsetB": self.offset_b}
        if self.key is not None:
            out["key"] = self.key
        if self.old is not None:
            out["old"] = self.old
        if self.new is not None:
            out["new"] = self.new
        if self.op == "changed":
            out["cells"] = {(header[i] if i < len(header) else str(i)): [
                self.old[i] if self.old and i < len(self.old) else None,
                self.new[i] if self.new and i < len(self.new) else None] for i in self.cells}
        return out


@dataclass
class Stats:
    leaves_a: int = 0
    leaves_b: int = 0
    leaves_equal: int = 0
    bytes_read: int = 0
    regions: int = 0


@dataclass
class RowDiff:
    header: list[str]
    header_b: list[str]
    ops: Iterator[RowOp]
    stats: Stats


# ------------------------------------------------------------------------------ leaves


def _is_raw(h: bytes) -> bool:
    if len(h) > 2 and h[0] == 0x01 and h[1] < 0x80:
        return h[1] == RAW
    return CID.from_bytes(h).codec == RAW


def file_leaves(getter: BlockGetter, cid: CID) -> list[tuple[bytes, int, int]]:
    """(identity, start, size) of every piece of a file's bytes, in order: raw leaves by their
    CID bytes (never fetched: their sizes come from the parents' blocksizes), the own data of
    dag-pb nodes as b"#" + CID bytes (no CID starts with 0x23). A raw root is one piece of size
    -1 (unknown until read). Interior nodes are parsed with the web UI's lean dag-pb reader
    (strict, no CID object per link)."""
    from ..unixfs.listing import pb_links

    if cid.codec == RAW:
        return [(cid.buffer, 0, -1)]
    out: list[tuple[bytes, int, int]] = []
    stack: list[tuple[bytes, int, int]] = [(cid.buffer, 0, -1)]
    while stack:
        h, pos, size = stack.pop()
        if _is_raw(h):
            out.append((h, pos, size))
            continue
        c = CID.from_bytes(h)
        if c.codec != DAG_PB:
            raise CodecError(f"{c}: a file links to a {c.codec_name} block")
        links, data = pb_links(getter.get(c))
        if data is None:
            raise CodecError(f"{c}: dag-pb node without UnixFS data")
        meta = pb.decode(data)
        if meta.type not in (pb.DataType.File, pb.DataType.Raw):
            raise InvalidInput(f"{c} is a {meta.type.name.lower()}, not a file")
        own = meta.data or b""
        if own:
            out.append((b"#" + h, pos, len(own)))
        p = pos + len(own)
        sizes = meta.blocksizes
        if len(sizes) != len(links):
            raise CodecError(f"{c}: {len(links)} links but {len(sizes)} blocksizes")
        kids = []
        for (lh, _name, _tsize), bsize in zip(links, sizes, strict=True):
            kids.append((lh, p, bsize))
            p += bsize
        if size >= 0 and p - pos != size:
            raise CodecError(f"{c}: holds {p - pos} bytes, its parent says {size}")
        stack.extend(reversed(kids))
    return out


# ------------------------------------------------------------------------------ regions


class _File:
    """One version's bytes, read piece by piece from its leaf list (no walk from the root per
    read), the pieces read last kept (up to `cache_bytes`): widening a stretch and reading it
    afterwards touch the same leaves."""

    def __init__(self, getter: BlockGetter, cid: CID, stats: Stats,
                 cache_bytes: int = 32 * 1024 * 1024) -> None:
        self.getter, self.cid, self.stats = getter, cid, stats
        self.leaves = file_leaves(getter, cid)
        if self.leaves and self.leaves[0][2] == -1:  # a single raw leaf
            size = len(self._piece(0))
            self.leaves = [(self.leaves[0][0], 0, size)]
        self.starts = [p for _, p, _ in self.leaves]
        self.size = (self.leaves[-1][1] + self.leaves[-1][2]) if self.leaves else 0
        self._cache: dict[int, bytes] = {}
        self._cached = 0
        self._max = cache_bytes

    def _piece(self, i: int) -> bytes:
        key = self.leaves[i][0]
        if key.startswith(b"#"):  # own data of a dag-pb node
            data = get_node(self.getter, CID.from_bytes(key[1:])).data
        else:
            data = self.getter.get(CID.from_bytes(key))
        if self.leaves[i][2] not in (-1, len(data)):
            raise CodecError(f"{self.cid}: a piece holds {len(data)} bytes, its parent says {self.leaves[i][2]}")
        self.stats.bytes_read += len(data)
        return data

    def piece(self, i: int) -> bytes:
        data = self._cache.get(i)
        if data is None:
            data = self._cache[i] = self._piece(i)
            self._cached += len(data)
            while self._cached > self._max and len(self._cache) > 1:
                old = next(iter(self._cache))
                self._cached -= len(self._cache.pop(old))
        return data

    def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        i = bisect.bisect_right(self.starts, start) - 1
        parts = []
        while i < len(self.leaves) and self.leaves[i][1] < end:
            _, p, n = self.leaves[i]
            data = self.piece(i)
            parts.append(data[max(0, start - p): min(n, end - p)])
            i += 1
        return b"".join(parts)

    def newline_before(self, pos: int) -> int:
        """Offset just after the last newline before `pos` (0 if none)."""
        window = 2048
        end = pos
        while end > 0:
            start = max(0, end - window)
            i = self.read(start, end).rfind(b"\n")
            if i >= 0:
                return start + i + 1
            end, window = start, window * 2
        return 0

    def newline_after(self, pos: int) -> int:
        """Offset just after the first newline at or after `pos` (the file size if none)."""
        window = 2048
        start = pos
        while start < self.size:
            end = min(self.size, start + window)
            i = self.read(start, end).find(b"\n")
            if i >= 0:
                return start + i + 1
            start, window = end, window * 2
        return self.size


def _raw_regions(fa: _File, fb: _File) -> list[list[int]]:
    ka = [k for k, _, _ in fa.leaves]
    kb = [k for k, _, _ in fb.leaves]
    sm = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
    regions = []

    def at(f: _File, i: int) -> int:
        return f.leaves[i][1] if i < len(f.leaves) else f.size

    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            fa.stats.leaves_equal += i2 - i1
            continue
        regions.append([at(fa, i1), at(fa, i2), at(fb, j1), at(fb, j2)])
    return regions


def _widen(fa: _File, fb: _File, raw: list[list[int]], header_a: int, header_b: int,
           max_bytes: int) -> list[tuple[int, int, int, int]]:
    """Changed stretches widened to whole rows, merged where they meet (see module doc)."""
    out: list[list[int]] = []
    for sa, ea, sb, eb in raw:
        d = sa - fa.newline_before(sa)
        sa, sb = sa - d, sb - d
        if sa < header_a or sb < header_b:
            sa, sb = header_a, header_b
        if out and sa <= out[-1][1]:  # reaches back into the previous stretch: merge
            sa, sb = out[-1][0], out[-1][2]
            out.pop()
        while True:
            if ea < fa.size:
                e2 = fa.newline_after(ea)
                ea, eb = e2, eb + (e2 - ea)
            quotes = fa.read(sa, ea).count(b'"') + fb.read(sb, eb).count(b'"')
            if quotes % 2 == 0 or ea >= fa.size:
                break
        if ea - sa > max_bytes or eb - sb > max_bytes:
            raise LimitExceeded(f"a changed stretch of {max(ea - sa, eb - sb)} bytes is over the "
                                f"{max_bytes}-byte row-diff limit (do the files share a chunker?)")
        out.append([sa, ea, sb, eb])
    # a widened end may now overlap the next stretch's start: merge forward
    merged: list[list[int]] = []
    for r in out:
        if merged and r[0] <= merged[-1][1]:
            merged[-1][1], merged[-1][3] = max(merged[-1][1], r[1]), max(merged[-1][3], r[3])
        else:
            merged.append(r)
    return [tuple(r) for r in merged]  # type: ignore[misc]


def _trim(a: bytes, b: bytes) -> tuple[int, int]:
    """(bytes of common leading whole lines, bytes of common trailing whole lines)."""
    n = min(len(a), len(b))
    lo, hi = 0, n  # common prefix length by binary search on slice equality (memcmp speed)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    pre = a.rfind(b"\n", 0, lo) + 1
    lo, hi = 0, n - pre
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    # the common suffix must start a line in both (the byte before it a newline, or nothing)
    suf = lo

    def starts_line(x: bytes, k: int) -> bool:
        return k == len(x) or x[len(x) - k - 1] == 0x0A

    if suf and not (starts_line(a, suf) and starts_line(b, suf)):
        i = a.find(b"\n", len(a) - suf)
        suf = len(a) - i - 1 if i >= 0 else 0
    # cut only between records: a cut inside a quoted field (odd quotes before it) moves out
    while pre and a.count(b'"', 0, pre) % 2:
        pre = a.rfind(b"\n", 0, pre - 1) + 1
    while suf and a.count(b'"', len(a) - suf) % 2:
        i = a.find(b"\n", len(a) - suf)
        suf = len(a) - i - 1 if i >= 0 else 0
    return pre, suf


def _lines(data: bytes, base: int) -> list[tuple[int, bytes]]:
    """(offset, line with its newline) of each line; only \n ends a line."""
    out, pos = [], 0
    while pos < len(data):
        i = data.find(b"\n", pos)
        end = len(data) if i < 0 else i + 1
        out.append((base + pos, data[pos:end]))
        pos = end
    return out


Rec = tuple[int, bytes]  # (byte offset, the record's bytes without its line end)


def _records(lines: list[tuple[int, bytes]]) -> list[Rec]:
    """Records of consecutive lines (a quoted field may span lines), not parsed yet."""
    out: list[Rec] = []
    i = 0
    while i < len(lines):
        off, raw = lines[i]
        j = i + 1
        if raw.count(b'"') % 2:
            parts = [raw]
            quotes = raw.count(b'"')
            while quotes % 2 and j < len(lines):
                parts.append(lines[j][1])
                quotes += lines[j][1].count(b'"')
                j += 1
            raw = b"".join(parts)
        out.append((off, raw.rstrip(b"\r\n")))
        i = j
    return out


def _split_records(data: bytes, base: int) -> list[Rec]:
    """`_records(_lines(data, base))`, at C speed when no quote can join lines."""
    if b'"' in data or b"\r" in data:
        return _records(_lines(data, base))
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    offsets = accumulate((len(x) + 1 for x in parts[:-1]), initial=base)
    return list(zip(offsets, parts, strict=True))


def _parse(lines: list[tuple[int, bytes]], delimiter: str) -> list[tuple[int, list[str], bytes]]:
    return [(off, _cells(raw, delimiter), raw) for off, raw in _records(lines)]


# ------------------------------------------------------------------------------ the diff


def _header(f: _File, delimiter: str) -> tuple[list[str], int]:
    end = f.newline_after(0)
    recs = _parse(_lines(f.read(0, end), 0), delimiter)
    while recs and end < f.size and f.read(0, end).count(b'"') % 2:
        end = f.newline_after(end)
        recs = _parse(_lines(f.read(0, end), 0), delimiter)
    return (recs[0][1] if recs else []), end


def _changed_cells(old: list[str], new: list[str]) -> list[int]:
    n = max(len(old), len(new))
    return [i for i in range(n) if (old[i] if i < len(old) else None) != (new[i] if i < len(new) else None)]


def row_diff(getter: BlockGetter, a: CID, b: CID, *, delimiter: str = ",", key: str | None = None,
             max_region_bytes: int = VERSIONING_LIMITS.max_rowdiff_region_bytes) -> RowDiff:
    """The row-level changes that turn file `a` into file `b` (see the module docstring).
    `ops` is a lazy iterator: stretches are read as it is consumed (positional mode)."""
    stats = Stats()
    fa, fb = _File(getter, a, stats), _File(getter, b, stats)
    stats.leaves_a, stats.leaves_b = len(fa.leaves), len(fb.leaves)
    header, ha = _header(fa, delimiter)
    header_b, hb = _header(fb, delimiter)
    key_col = None
    if key is not None:
        if key in header:
            key_col = header.index(key)
        elif key.isdigit() and int(key) < max(len(header), 1):
            key_col = int(key)
        else:
            raise InvalidInput(f"no column named {key!r} (columns: {', '.join(header)})")
    if a == b:
        return RowDiff(header, header_b, iter(()), stats)
    regions = _widen(fa, fb, _raw_regions(fa, fb), ha, hb, max_region_bytes)
    stats.regions = len(regions)

    def stretch(r: tuple[int, int, int, int]) -> Iterator[tuple[list[Rec], list[Rec]]]:
        """The records of one stretch that differ: (old, new) per non-equal block."""
        sa, ea, sb, eb = r
        da, db = fa.read(sa, ea), fb.read(sb, eb)
        pre, suf = _trim(da, db)
        ra = _split_records(da[pre: len(da) - suf], sa + pre)
        rb = _split_records(db[pre: len(db) - suf], sb + pre)
        sm = difflib.SequenceMatcher(None, [x[1] for x in ra], [x[1] for x in rb], autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag != "equal":
                yield ra[i1:i2], rb[j1:j2]

    if key_col is None:
        return RowDiff(header, header_b, _positional(regions, stretch, delimiter), stats)
    return RowDiff(header, header_b, _keyed(regions, stretch, key_col, delimiter), stats)


def _cells(raw: bytes, delimiter: str) -> list[str]:
    return next(csv.reader([raw.decode("utf-8", "replace")], delimiter=delimiter, strict=False), [])


def _positional(regions, stretch, delimiter: str) -> Iterator[RowOp]:  # type: ignore[no-untyped-def]
    for r in regions:
        for ra, rb in stretch(r):
            pairs = min(len(ra), len(rb))
            for k in range(pairs):
                ca, cb = _cells(ra[k][1], delimiter), _cells(rb[k][1], delimiter)
                yield RowOp("changed", ca, cb, ra[k][0], rb[k][0], cells=_changed_cells(ca, cb))
            for oa, raw in ra[pairs:]:
                yield RowOp("removed", _cells(raw, delimiter), None, oa, None)
            for ob, raw in rb[pairs:]:
                yield RowOp("added", None, _cells(raw, delimiter), None, ob)


def _keyed(regions, stretch, col: int, delimiter: str) -> Iterator[RowOp]:  # type: ignore[no-untyped-def]
    old: dict[str, tuple[int, list[str]]] = {}
    new: dict[str, tuple[int, list[str]]] = {}
    for r in regions:
        for ra, rb in stretch(r):
            for off, raw in ra:
                cells = _cells(raw, delimiter)
                old[cells[col] if col < len(cells) else ""] = (off, cells)
            for off, raw in rb:
                cells = _cells(raw, delimiter)
                new[cells[col] if col < len(cells) else ""] = (off, cells)
    ops = []
    for k, (ob, cb) in new.items():
        if k in old:
            oa, ca = old.pop(k)
            if ca != cb:
                ops.append(RowOp("changed", ca, cb, oa, ob, key=k, cells=_changed_cells(ca, cb)))
        else:
            ops.append(RowOp("added", None, cb, None, ob, key=k))
    for k, (oa, ca) in old.items():
        ops.append(RowOp("removed", ca, None, oa, None, key=k))
    ops.sort(key=lambda o: (o.offset_b if o.offset_b is not None else o.offset_a or 0, o.op))
    yield from ops


def result_json(result: RowDiff, *, path: str, key: str | None) -> dict[str, object]:
    """The whole diff as the JSON value `jzfs diff --rows --json` prints (and the RPC API's
    `jzfs/diff/rows` answers): consumes `result.ops`."""
    counts = {"added": 0, "removed": 0, "changed": 0}
    ops = []
    for op in result.ops:
        counts[op.op] += 1
        ops.append(op.to_json(result.header))
    return {"path": path, "header": result.header, "headerB": result.header_b, "key": key,
            "changes": ops, "counts": counts, "stats": result.stats.__dict__}
