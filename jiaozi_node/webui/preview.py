"""File previews, all streamed from the start of the file or a page's byte offset (`stream.read_from`:
the exporter reading child by child under a leanly parsed root): CSV/TSV as
a paginated, typed, sortable table; JSON pretty-printed; Markdown rendered safely (markdown-it
with raw HTML off: tags are shown as text and only http(s)/mailto/relative links survive); other
text as text; PNG/JPEG/GIF/WebP images inline (type sniffed from the bytes, never SVG, which can
carry script); Parquet when the optional `pyarrow` is installed (`pip install jiaozi_node[parquet]`).

Sorting a CSV: files up to `WebUILimits.preview_full_sort_bytes` are sorted whole; for bigger
ones only the rows of the page shown are sorted (said on the page) — sorting 10 GiB is not a
preview.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..errors import InvalidInput
from ..ipld.cid import CID
from ..unixfs.exporter import read_file, stat
from .app import Download, Query, Reply
from .csvtable import RowsPage, delimiter_for, infer_types, read_rows, sort_key
from .stream import read_from

if TYPE_CHECKING:
    from .app import WebUI
    from .tree import Place

IMAGE_MAGIC = [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif")]
TEXT_EXT = (".txt", ".md", ".markdown", ".json", ".jsonl", ".ndjson", ".py", ".yaml", ".yml",
            ".toml", ".ini", ".log", ".xml", ".html", ".sh", ".r", ".sql", ".cfg")


def sniff_image(head: bytes) -> str | None:
    for magic, ctype in IMAGE_MAGIC:
        if head.startswith(magic):
            return ctype
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _head(ui: WebUI, cid: CID, n: int) -> bytes:
    parts, got = [], 0
    for chunk in read_from(ui.getter, cid, 0):
        parts.append(chunk[: n - got])
        got += len(parts[-1])
        if got >= n:
            break
    return b"".join(parts)


def _markdown(text: str) -> Markup:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    return Markup(md.render(text))  # raw HTML is escaped by markdown-it; unsafe URLs dropped


def _looks_binary(data: bytes) -> bool:
    if b"\0" in data[:8192]:
        return True
    try:
        data[:8192].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data[:8192]) - 4  # a cut multi-byte char at the end is fine
    return False


def preview(ui: WebUI, q: Query, cid: CID, name: str, size: int, place: Place) -> dict[str, Any]:
    """What the file page shows below the file's header: {"kind": ..., ...}."""
    lim = ui.limits
    low = name.lower()
    delim = delimiter_for(name)
    if delim is not None:
        return csv_preview(ui, q, cid, size, delim, place)
    if low.endswith(".parquet"):
        return parquet_preview(ui, cid, size)
    head = _head(ui, cid, min(size, lim.preview_text_bytes))
    ctype = sniff_image(head[:16])
    if ctype is not None:
        if size > lim.preview_image_bytes:
            return {"kind": "none", "reason": "image too large to show inline"}
        return {"kind": "image", "ctype": ctype}
    if _looks_binary(head):
        return {"kind": "none", "reason": "binary file"}
    text = head.decode("utf-8", "replace")
    truncated = size > len(head)
    if low.endswith(".json") and not truncated:
        try:
            return {"kind": "json", "text": json.dumps(json.loads(text), indent=2, ensure_ascii=False)}
        except ValueError as exc:
            return {"kind": "text", "text": text, "note": f"not valid JSON: {exc}", "truncated": False}
        except RecursionError:  # nested deeper than Python's parser goes: shown as it is
            return {"kind": "text", "text": text, "note": "JSON nested too deeply to pretty-print",
                    "truncated": False}
    if low.endswith((".md", ".markdown")):
        return {"kind": "markdown", "html": _markdown(text), "truncated": truncated}
    return {"kind": "text", "text": text, "truncated": truncated, "note": None}


def csv_preview(ui: WebUI, q: Query, cid: CID, size: int, delim: str, place: Place) -> dict[str, Any]:
    lim = ui.limits
    first = None
    if q.get("at") is None and q.get("sort") is None:  # the first page: header and rows in one read
        first = read_rows(read_from(ui.getter, cid, 0), start=0, delimiter=delim,
                          max_rows=lim.preview_rows + 1, max_bytes=lim.preview_max_page_bytes)
        header_page = first
    else:
        header_page = read_rows(read_from(ui.getter, cid, 0), start=0, delimiter=delim, max_rows=1,
                                max_bytes=lim.preview_max_page_bytes)
    header = header_page.rows[0] if header_page.rows else []
    data_start = header_page.end if first is None else _after_first(first)
    sort_col = q.int("sort", -1, lo=-1, hi=max(0, len(header) - 1)) if header else -1
    desc = q.get("desc") == "1"
    base = place.segments
    if sort_col >= 0 and size <= lim.preview_full_sort_bytes:
        allrows = read_rows(read_from(ui.getter, cid, data_start), start=data_start, delimiter=delim,
                            max_rows=1 << 40, max_bytes=lim.preview_full_sort_bytes).rows
        types = infer_types(allrows[:1000], len(header))
        allrows.sort(key=sort_key(types[sort_col], sort_col), reverse=desc)
        per = lim.preview_rows
        pages = max(1, -(-len(allrows) // per))
        page = q.int("page", 1, lo=1, hi=pages)
        rows = allrows[(page - 1) * per: page * per]
        first_row = (page - 1) * per + 1
        nxt = place.link(base, sort=sort_col, desc="1" if desc else None, page=page + 1) if page < pages else None
        mode = "full"
    else:
        at = q.int("at", data_start, lo=data_start, hi=max(size, data_start))
        first_row = q.int("row", 1, lo=1)
        if first is not None:
            pg = RowsPage(first.rows[1:], data_start, first.end, first.eof)
        else:
            pg = read_rows(read_from(ui.getter, cid, at), start=at, delimiter=delim,
                           max_rows=lim.preview_rows, max_bytes=lim.preview_max_page_bytes)
        rows = pg.rows
        types = infer_types(rows, len(header))
        if sort_col >= 0:
            rows = sorted(rows, key=sort_key(types[sort_col], sort_col), reverse=desc)
        nxt = None if pg.eof else place.link(base, at=pg.end, row=first_row + len(rows),
                                             sort=sort_col if sort_col >= 0 else None,
                                             desc="1" if desc else None)
        mode = "page" if sort_col >= 0 else "stream"
    if not header:
        types = []
    width = max([len(header)] + [len(r) for r in rows])
    header = header + [""] * (width - len(header))
    types = types + ["text"] * (width - len(types))
    sort_links = [place.link(base, sort=i, desc="1" if (i == sort_col and not desc) else None)
                  for i in range(width)]
    return {"kind": "csv", "header": header, "types": types, "rows": rows, "first_row": first_row,
            "next": nxt, "first": place.link(base), "sort_col": sort_col, "desc": desc,
            "sort_links": sort_links, "mode": mode, "width": width}


def _after_first(page: RowsPage) -> int:
    """Where the data rows start: just after the header record of a page read from byte 0."""
    return page.row_ends[0] if page.row_ends else page.end


def parquet_preview(ui: WebUI, cid: CID, size: int) -> dict[str, Any]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return {"kind": "none", "reason": "Parquet preview needs pyarrow (pip install 'jiaozi_node[parquet]')"}
    import io

    getter = ui.getter

    class _Ranged(io.RawIOBase):
        """A seekable read-only file over the UnixFS exporter's range reads (footer first)."""

        def __init__(self) -> None:
            self.pos = 0

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, off: int, whence: int = 0) -> int:
            self.pos = off if whence == 0 else self.pos + off if whence == 1 else size + off
            return self.pos

        def tell(self) -> int:
            return self.pos

        def readinto(self, b: Any) -> int:
            data = b"".join(read_file(getter, cid, self.pos, len(b)))
            b[:len(data)] = data
            self.pos += len(data)
            return len(data)

    try:
        pf = pq.ParquetFile(_Ranged(), pre_buffer=False)
        groups = [0] if pf.metadata.num_row_groups else []  # only the first row group is read
        batch = next(pf.iter_batches(batch_size=ui.limits.preview_rows, row_groups=groups,
                                     use_threads=False), None)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises its own error types
        return {"kind": "none", "reason": f"cannot read Parquet: {exc}"}
    header = [f.name for f in pf.schema_arrow]
    types = [str(f.type) for f in pf.schema_arrow]
    rows = [] if batch is None else [[("" if v is None else str(v)) for v in r.values()]
                                      for r in batch.to_pylist()]
    return {"kind": "parquet", "header": header, "types": types, "rows": rows,
            "total": pf.metadata.num_rows}


def image(ui: WebUI, q: Query) -> Reply:
    """An image's bytes for <img>, with the type sniffed here (never trusted from the URL)."""
    cid = CID.decode(q.params["cid"])
    st = stat(ui.getter, cid)
    if st.type != "file" or st.size > ui.limits.preview_image_bytes:
        raise InvalidInput(f"{cid} is not an image shown inline")
    ctype = sniff_image(_head(ui, cid, 16))
    if ctype is None:
        raise InvalidInput(f"{cid} is not a PNG, JPEG, GIF or WebP image")
    return Download(read_file(ui.getter, cid), ctype, None, length=st.size, inline=True)


ROUTES = [("GET", r"/img/(?P<cid>[A-Za-z0-9]+)", image)]
