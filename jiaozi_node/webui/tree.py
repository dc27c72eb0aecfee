"""Tree browser at a dataset ref or a CID: directories (plain and HAMT-sharded, sorted by name,
paginated), sizes, CIDs with a copy button; files open their preview (`preview.py`); downloads of
a file, of any tree as a CAR (`car.traverse.dag_blocks`, what the gateway's `?format=car` sends)
or as a tar.

A directory listing reads only the directory's own blocks (`unixfs.listing.dir_entries`, the one
lister, also behind `jzfs ls`: HAMT shards, never the children); then only the page's entries are
opened for their kind and size. Sorted
listings are cached by directory CID (content-addressed, so the cache can never be stale).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..car.traverse import dag_blocks
from ..car.writer import write_car
from ..errors import CodecError, InvalidInput, LimitExceeded
from ..ipld.cid import CID, DAG_PB, RAW
from ..unixfs import pb
from ..unixfs.exporter import entry_type, read_file, stat
from ..unixfs.exporter_data import get_node
from ..unixfs.listing import dir_entries, pb_links
from ..unixfs.resolve import resolve
from ..unixfs.tar import tar_stream
from .app import Download, Html, Query, Reply
from .render import href

if TYPE_CHECKING:
    from .app import WebUI


def split_path(path: str | None) -> list[str]:
    segs = [s for s in (path or "").split("/") if s]
    if any(s in (".", "..") for s in segs):
        raise InvalidInput(f"invalid path {path!r}")
    return segs


def sorted_listing(ui: WebUI, cid: CID) -> list[tuple[str, bytes, int]]:
    """(name, CID bytes, link tsize) of every entry, sorted by name; cached by directory CID."""
    with ui.cache_lock:
        cache: OrderedDict[Any, Any] = ui.cache.setdefault("listings", OrderedDict())
        hit = cache.get(cid)
        if hit is not None:
            cache.move_to_end(cid)
            return hit
    try:
        entries = dir_entries(ui.getter.get, cid, max_entries=ui.limits.max_listing_entries,
                              unique_names=True)
    except CodecError as exc:
        if "more than" in str(exc):
            raise LimitExceeded(f"{exc}, over what the browser lists") from None
        raise
    entries.sort()
    listing = entries
    with ui.cache_lock:
        cache[cid] = listing
        while len(cache) > ui.limits.dir_cache_entries:
            cache.popitem(last=False)
    return listing


def entry_info(ui: WebUI, cid: CID, tsize: int) -> tuple[str, int | None]:
    """(kind, size) of one entry: a raw leaf is a file of its link's size (nothing read)."""
    if cid.codec == RAW:
        return "file", tsize
    node = get_node(ui.getter, cid)
    kind = entry_type(node)
    if kind == "file":
        return kind, node.file_size
    return kind, None


@dataclass
class Quick:
    """What the browser needs of a node, from one lean parse of its block (no CID per link)."""

    type: str  # "directory" | "file" | "symlink"
    size: int = 0
    sharded: bool = False
    target: str | None = None


def quick_stat(ui: WebUI, cid: CID) -> Quick:
    if cid.codec == RAW:
        return Quick("file", len(ui.getter.get(cid)))
    if cid.codec != DAG_PB:
        return Quick(stat(ui.getter, cid).type)  # the exporter names the problem
    _links, data = pb_links(ui.getter.get(cid))
    if data is None:
        raise CodecError(f"{cid}: dag-pb node without UnixFS data")
    meta = pb.decode(data)
    t = meta.type
    if t in (pb.DataType.Directory, pb.DataType.HAMTShard):
        return Quick("directory", 0, t == pb.DataType.HAMTShard)
    if t == pb.DataType.Symlink:
        st = stat(ui.getter, cid)
        return Quick("symlink", st.size, target=st.target)
    if t in (pb.DataType.File, pb.DataType.Raw):
        return Quick("file", len(meta.data or b"") + sum(meta.blocksizes))
    raise CodecError(f"{cid}: unsupported UnixFS type {t.name}")


class Place:
    """Where the browser is: a dataset ref or a bare CID, and a path below its root."""

    def __init__(self, root: CID, segments: list[str], *, repo: str | None = None,
                 ref: str | None = None, commit: CID | None = None) -> None:
        self.root, self.segments, self.repo, self.ref, self.commit = root, segments, repo, ref, commit
        self.sig: Any = None  # the commit's signature status (datasets only)

    def link(self, segments: list[str] | tuple[str, ...], **kw: Any) -> str:
        path = "/".join(segments)
        if self.repo is not None:
            return href("d", self.repo, "tree", ref=self.ref, path=path, **kw)
        return href("ipfs", str(self.root), path=path, **kw)

    def crumbs(self) -> list[tuple[str, str]]:
        top = self.repo + "@" + str(self.ref) if self.repo else str(self.root)
        out = [(top, self.link([]))]
        for i, s in enumerate(self.segments):
            out.append((s, self.link(self.segments[:i + 1])))
        return out

    def child(self, name: str) -> list[str]:
        return [*self.segments, name]


def browse(ui: WebUI, q: Query, place: Place) -> Reply:
    target = resolve(ui.getter, place.root, place.segments) if place.segments else place.root
    name = place.segments[-1] if place.segments else (place.repo or str(target))
    ctx: dict[str, Any] = {"place": place, "cid": target, "name": name, "nav": "datasets"}
    st = quick_stat(ui, target)  # no full decode of a 10 000-link directory or 1 024-link file root
    ctx["stat"] = st
    if st.type == "directory":
        ctx["sharded"] = st.sharded
        listing = sorted_listing(ui, target)
        per = ui.limits.dir_page_entries
        pages = max(1, -(-len(listing) // per))
        page = q.int("page", 1, lo=1, hi=pages)
        rows = []
        for ename, raw, tsize in listing[(page - 1) * per: page * per]:
            ecid = CID.from_bytes(raw)
            kind, size = entry_info(ui, ecid, tsize)
            rows.append({"name": ename, "cid": ecid, "kind": kind, "size": size,
                         "link": place.link(place.child(ename))})
        ctx.update(rows=rows, total=len(listing), page=page, pages=pages)
        return Html("tree.html", ctx)
    if st.type == "symlink":
        ctx.update(target=st.target)
        return Html("symlink.html", ctx)
    from .preview import preview

    ctx.update(preview=preview(ui, q, target, name, st.size, place))
    return Html("file.html", ctx)


def tree_page(ui: WebUI, q: Query) -> Reply:
    repo = q.params["repo"]
    ref = q.get("ref", "main") or "main"
    vs = ui.node.versioning
    from .history import _signatures, commit_loader, commit_status

    commit_cid = vs.resolve(ref, dataset=repo)
    commit = commit_loader(ui)(commit_cid)
    place = Place(commit.root, split_path(q.get("path")), repo=repo, ref=ref, commit=commit_cid)
    place.sig = commit_status(commit, vs.trusted_keys(), _signatures(ui), commit_cid)
    return browse(ui, q, place)


def cid_page(ui: WebUI, q: Query) -> Reply:
    root = CID.decode(q.params["cid"])
    return browse(ui, q, Place(root, split_path(q.get("path"))))


def download(ui: WebUI, q: Query) -> Reply:
    cid = CID.decode(q.params["cid"])
    fmt = q.get("format", "raw")
    name = q.get("name") or str(cid)
    if fmt == "car":
        blocks = dag_blocks(ui.getter, cid)
        return Download(write_car([cid], blocks), "application/vnd.ipld.car", f"{name}.car")
    if fmt == "tar":
        return Download(tar_stream(ui.getter, cid, name), "application/x-tar", f"{name}.tar")
    if fmt != "raw":
        raise InvalidInput(f"unknown download format {fmt!r} (raw, car, tar)")
    st = stat(ui.getter, cid)
    if st.type != "file":
        raise InvalidInput(f"{cid} is a {st.type}: download it as car or tar")
    return Download(read_file(ui.getter, cid), "application/octet-stream", name, length=st.size)


ROUTES = [
    ("GET", r"/d/(?P<repo>[^/]+)/tree", tree_page),
    ("GET", r"/ipfs/(?P<cid>[A-Za-z0-9]+)", cid_page),
    ("GET", r"/dl/(?P<cid>[A-Za-z0-9]+)", download),
]
