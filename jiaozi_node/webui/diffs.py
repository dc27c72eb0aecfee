"""Diff between two refs of a dataset: files added/removed/modified with their sizes (the
versioning service's `diff`, which `jzfs diff` prints), and per file a unified diff for text or a
row-level diff for CSV/TSV (`versioning.rowdiff`, what `jzfs diff --rows` prints), keyed by a
column the user picks or by position.
"""

from __future__ import annotations

import difflib
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..errors import JzfsError
from ..ipld.cid import CID, RAW
from ..unixfs.exporter import read_file
from ..unixfs.exporter_data import get_node
from .app import Html, Query, Reply
from .csvtable import delimiter_for

if TYPE_CHECKING:
    from .app import WebUI


def file_size(ui: WebUI, cid: CID | None) -> int | None:
    if cid is None:
        return None
    if cid.codec == RAW:
        return ui.node.blocks.size(cid) if hasattr(ui.node.blocks, "size") else None
    try:
        node = get_node(ui.getter, cid)
    except JzfsError:
        return None
    return node.file_size if node.kind == "file" else None


def _refs(ui: WebUI, q: Query) -> tuple[str, str, str]:
    repo = q.params["repo"]
    vs = ui.node.versioning
    a = q.get("a")
    b = q.get("b", "main") or "main"
    if a is None:  # default: the first parent of b
        commit = vs.load_commit(vs.resolve(b, dataset=repo))
        a = str(commit.parents[0]) if commit.parents else b
    return repo, a, b


def diff_page(ui: WebUI, q: Query) -> Reply:
    repo, a, b = _refs(ui, q)
    vs = ui.node.versioning
    # Shown whatever the signatures (the page says what they are); `jzfs diff` refuses instead.
    sigs = [vs.resolve_checked(spec, dataset=repo, verify=False)[2] for spec in (a, b)]
    changes = vs.diff(f"{repo}@{a}", b, verify=False)
    counts = {"added": 0, "removed": 0, "modified": 0}
    rows = []
    for c in changes:
        counts[c.change] += 1
        if len(rows) < ui.limits.diff_max_changes_shown:
            rows.append({"change": c, "old_size": file_size(ui, c.old), "new_size": file_size(ui, c.new),
                         "csv": delimiter_for(c.path) is not None})
    return Html("diff.html", {"repo": repo, "a": a, "b": b, "rows": rows, "counts": counts, "sigs": sigs,
                              "total": len(changes), "nav": "datasets",
                              "branches": sorted(vs.branch_list(repo))})


def _text(ui: WebUI, cid: CID | None, limit: int) -> list[str] | None:
    if cid is None:
        return []
    data = b"".join(read_file(ui.getter, cid, 0, limit + 1))
    if len(data) > limit or b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace").splitlines(keepends=True)


def file_diff_page(ui: WebUI, q: Query) -> Reply:
    repo, a, b = _refs(ui, q)
    path = q.get("path") or ""
    vs = ui.node.versioning
    from ..unixfs.resolve import resolve

    segs = [s for s in path.split("/") if s]
    roots = [vs.load_commit(vs.resolve(r, dataset=repo)).root for r in (a, b)]
    cids: list[CID | None] = []
    for root in roots:
        try:
            cids.append(resolve(ui.getter, root, segs))
        except JzfsError:
            cids.append(None)
    ctx: dict[str, Any] = {"repo": repo, "a": a, "b": b, "path": path, "nav": "datasets",
                           "old": cids[0], "new": cids[1]}
    delim = delimiter_for(path)
    if delim is not None and cids[0] is not None and cids[1] is not None:
        key = q.get("key")
        result = vs.row_diff(f"{repo}@{a}", b, path, key=key, delimiter=delim, verify=False)
        limit = ui.limits.rowdiff_page_rows
        ctx.update(kind="rows", header=result.header, key=key,
                   ops=list(islice(result.ops, limit)), limit=limit, stats=result.stats)
        ctx["more"] = next(result.ops, None) is not None
        return Html("rowdiff.html", ctx)
    lim = ui.limits.text_diff_max_bytes
    old, new = _text(ui, cids[0], lim), _text(ui, cids[1], lim)
    if old is None or new is None:
        ctx.update(kind="none", reason="binary or larger than the text diff shows")
    else:
        lines = list(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=3))
        ctx.update(kind="text", lines=[ln.rstrip("\n") for ln in lines])
    return Html("filediff.html", ctx)


ROUTES = [
    ("GET", r"/d/(?P<repo>[^/]+)/diff", diff_page),
    ("GET", r"/d/(?P<repo>[^/]+)/diff/file", file_diff_page),
]
