"""History: the commit log of a branch or tag (paginated, merge graph, signature badges) and one
commit's page (message, author, signer, parents, provenance with links to its input commits).

Signature status comes from `versioning.verify.check_signature`, the one signature+trust check
`jzfs verify`, `jzfs log` and sync make: "verified" (good signature by a trusted key),
"untrusted" (good signature, key not in the trust list) or "invalid" (bad signature; the reason
is shown). Unlike `jzfs log`, the page does not stop at an unverified commit: it shows it with its
badge. Commits are decoded strictly on load and kept by CID (immutable) so paging stays fast.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..ipld.cid import CID
from ..versioning import history
from ..versioning.verify import Signature, check_signature
from .app import Html, Query, Reply

if TYPE_CHECKING:
    from .app import WebUI

LANE_W = 14
ROW_H = 40


def commit_status(commit: Any, trusted: list[str], known: dict[Any, Any] | None = None,
                  cid: CID | None = None) -> Signature:
    """This commit's signature status by `versioning.verify.check_signature` — the one
    signature+trust check `jzfs verify`, log, show, diff and sync make. `known` remembers the
    outcome by (CID, trust list): the signed bytes never change, the trust list may."""
    key = (cid, tuple(trusted)) if cid is not None else None
    hit = known.get(key) if known is not None and key is not None else None
    if hit is None:
        hit = check_signature(commit, trusted)
        if known is not None and key is not None:
            known[key] = hit
    return hit


def _signatures(ui: WebUI) -> dict[Any, Any]:
    with ui.cache_lock:
        known: dict[Any, Any] = ui.cache.setdefault("signatures", {})
        if len(known) > ui.limits.commit_cache_entries:
            known.clear()
    return known


def commit_loader(ui: WebUI) -> Any:
    """`load(cid) -> Commit` through the versioning service, remembering decoded commits by CID
    (content-addressed: a cached commit can never be stale). Bounded by WebUILimits."""
    with ui.cache_lock:
        cache: OrderedDict[CID, Any] = ui.cache.setdefault("commits", OrderedDict())
    load = ui.node.versioning.load_commit
    limit = ui.limits.commit_cache_entries

    def cached(cid: CID) -> Any:
        hit = cache.get(cid)
        if hit is None:
            hit = load(cid)
            with ui.cache_lock:
                cache[cid] = hit
                while len(cache) > limit:
                    cache.popitem(last=False)
        return hit

    return cached


# ------------------------------------------------------------------------------ merge graph


@dataclass
class GraphRow:
    """The lines of one log row's graph cell (lane indexes; `col` is the commit's lane)."""

    col: int
    width: int
    lines: list[tuple[int, float, int, float]] = field(default_factory=list)  # (x1 lane, y1, x2 lane, y2) in 0..1

    def svg_lines(self) -> list[tuple[float, float, float, float]]:
        return [(LANE_W * a + LANE_W / 2, ROW_H * y1, LANE_W * b + LANE_W / 2, ROW_H * y2)
                for a, y1, b, y2 in self.lines]

    @property
    def cx(self) -> float:
        return LANE_W * self.col + LANE_W / 2

    @property
    def px_width(self) -> int:
        return LANE_W * max(1, self.width)


def graph(items: list[tuple[CID, tuple[CID, ...]]]) -> list[GraphRow]:
    """Lanes for a log shown newest first (pure): each commit sits in the lane that expected it;
    lanes expecting the same commit join it; its first parent continues its lane and further
    parents (a merge) open lanes to the right."""
    lanes: list[CID] = []
    rows = []
    for cid, parents in items:
        lanes_in = list(lanes)
        if cid in lanes_in:
            col = lanes_in.index(cid)
        else:
            col = len(lanes_in)
        out: list[CID] = []
        for i, c in enumerate(lanes_in):
            if c == cid:
                if i == col and parents:
                    out.append(parents[0])
            elif c not in out:
                out.append(c)
        if cid not in lanes_in and parents:
            out.insert(min(col, len(out)), parents[0])
        for p in parents[1:]:
            if p not in out:
                out.append(p)
        row = GraphRow(col, max(len(lanes_in), len(out), col + 1))
        for i, c in enumerate(lanes_in):
            if c == cid:
                row.lines.append((i, 0.0, col, 0.5))
            elif c in out:
                row.lines.append((i, 0.0, out.index(c), 1.0))
        for p in parents:
            if p in out:
                row.lines.append((col, 0.5, out.index(p), 1.0))
        rows.append(row)
        lanes = out
    return rows


# ------------------------------------------------------------------------------ pages


def log_page(ui: WebUI, q: Query) -> Reply:
    repo = q.params["repo"]
    ref = q.get("ref", "main") or "main"
    per = ui.limits.log_page_commits
    page = q.int("page", 1, lo=1, hi=1 << 20)
    vs = ui.node.versioning
    head = vs.resolve(ref, dataset=repo)
    walk = history.walk(commit_loader(ui), [head], max_depth=vs.limits.max_history_depth)
    entries = list(islice(walk, page * per + 1))  # the walk `jzfs log` takes, newest first
    more = len(entries) > page * per
    shown = entries[(page - 1) * per: page * per]
    trusted = vs.trusted_keys()
    rows = []
    for (cid, commit), g in zip(shown, graph([(c, cm.parents) for c, cm in shown]), strict=True):
        rows.append({"cid": cid, "commit": commit, "graph": g,
                     "badge": commit_status(commit, trusted, _signatures(ui), cid)})
    return Html("log.html", {"repo": repo, "ref": ref, "rows": rows, "page": page, "more": more,
                             "branches": sorted(vs.branch_list(repo)), "tags": sorted(vs.tag_list(repo)),
                             "nav": "datasets", "row_h": ROW_H})


def _input_link(repo: str, text: str, cid: CID | None) -> dict[str, Any]:
    """Where a provenance input points: a commit CID in this dataset, or `repo@ref`."""
    if cid is not None:
        return {"text": str(cid), "repo": repo, "ref": str(cid)}
    name, sep, ref = text.partition("@")
    if sep and name and ref:
        return {"text": text, "repo": name, "ref": ref}
    return {"text": text, "repo": repo, "ref": text}


def commit_page(ui: WebUI, q: Query) -> Reply:
    repo = q.params["repo"]
    ref = q.get("ref", "main") or "main"
    vs = ui.node.versioning
    cid = vs.resolve(ref, dataset=repo)
    commit = commit_loader(ui)(cid)
    badge = commit_status(commit, vs.trusted_keys(), _signatures(ui), cid)
    inputs = []
    if commit.provenance is not None:
        inputs = [_input_link(repo, str(i), i.cid) for i in commit.provenance.inputs]
    return Html("commit.html", {"repo": repo, "cid": cid, "commit": commit, "sig": badge,
                                "inputs": inputs, "nav": "datasets"})


ROUTES = [
    ("GET", r"/d/(?P<repo>[^/]+)/log", log_page),
    ("GET", r"/d/(?P<repo>[^/]+)/commit", commit_page),
]
