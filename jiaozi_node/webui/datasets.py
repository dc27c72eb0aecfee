"""Datasets: the list (branches, tags, last commit, size), one dataset's overview, and the
one state change on a dataset the UI offers: create a branch (POST + CSRF, as `jzfs branch create`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import JzfsError, NotFound
from ..ipld.cid import CID
from .app import Html, Query, Redirect, Reply
from .render import href

if TYPE_CHECKING:
    from .app import WebUI


@dataclass
class DatasetRow:
    name: str
    branches: dict[str, CID]
    tags: dict[str, CID]
    last: tuple[str, CID, Any] | None  # (branch, commit cid, Commit) of the newest branch head
    size: int | None
    error: str | None = None


def dataset_row(ui: WebUI, name: str) -> DatasetRow:
    """One dataset's summary, through the versioning service the CLI uses."""
    from ..unixfs.exporter import stat

    vs = ui.node.versioning
    branches, tags = vs.branch_list(name), vs.tag_list(name)
    last = None
    error = None
    for branch, cid in branches.items():
        try:
            commit = vs.load_commit(cid)
        except JzfsError as exc:
            error = f"branch {branch}: {exc}"
            continue
        if last is None or commit.timestamp > last[2].timestamp or (
                commit.timestamp == last[2].timestamp and branch == "main"):
            last = (branch, cid, commit)
    size = None
    if last is not None:
        try:
            size = stat(ui.getter, last[2].root).cumulative_size
        except JzfsError as exc:
            error = f"dataset root: {exc}"
    return DatasetRow(name, branches, tags, last, size, error)


def datasets_page(ui: WebUI, q: Query) -> Reply:
    rows = [dataset_row(ui, name) for name in ui.node.versioning.list_repos()]
    return Html("datasets.html", {"rows": rows, "nav": "datasets"})


def overview_page(ui: WebUI, q: Query) -> Reply:
    name = q.params["repo"]
    vs = ui.node.versioning
    if not vs.refs.has_repo(name):
        raise NotFound(f"no dataset named {name!r}")
    row = dataset_row(ui, name)
    heads = []
    for branch, cid in row.branches.items():
        try:
            heads.append((branch, cid, vs.load_commit(cid)))
        except JzfsError:
            heads.append((branch, cid, None))
    tags = []
    for tag, cid in row.tags.items():
        try:
            tags.append((tag, cid, vs.peel(cid)))
        except JzfsError:
            tags.append((tag, cid, None))
    return Html("dataset.html", {"row": row, "heads": heads, "tags": tags, "nav": "datasets",
                                 "repo": name})


def create_branch(ui: WebUI, q: Query) -> Reply:
    name = q.params["repo"]
    branch = q.form.get("branch", "")
    ui.node.versioning.branch_create(name, branch, from_ref=q.form.get("from") or "main")
    return Redirect(href("d", name, "log", ref=branch))


ROUTES = [
    ("GET", r"/", datasets_page),
    ("GET", r"/datasets", datasets_page),
    ("GET", r"/d/(?P<repo>[^/]+)", overview_page),
    ("POST", r"/d/(?P<repo>[^/]+)/branch", create_branch),
]
