"""UnixFS exporter (pure): stat, read files, list directories, over a synchronous block getter.

The getter is anything with `get(cid) -> bytes` that raises NotFound for a missing block: the local
Blockstore (which verifies on read), or a bitswap session behind a thread bridge. Nothing here does
I/O of its own, so the same code serves `jzfs cat/get/ls`, the gateway and the Python API.

    read_file(store, cid, offset=10, length=100)   # iterator of bytes, in order
    list_dir(store, cid)                           # iterator of Entry (plain and HAMT directories)
    stat(store, cid)                               # Stat

Files may be raw leaves, dag-pb leaves, identity CIDs, balanced or trickle DAGs: all are "own data
then children, sized by blocksizes", so one walk serves them all. Seeking uses `blocksizes` and
never fetches a leaf that lies wholly before `offset` or after `offset + length`. Every node's size
is checked against what its parent claimed, so a DAG that lies about sizes raises CodecError
instead of producing wrong bytes.

`read_file` streams: children are fetched one at a time as the reader reaches them, so reading
holds the interior nodes of one root-to-leaf path plus the leaf being yielded, never a whole
level (1024 x 1 MiB leaves under one node with the default profile).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import CodecError, InvalidInput, NotFound
from ..ipld.cid import CID, RAW
from .exporter_data import BlockGetter, UnixFSNode, decode_node, get_node, load_block
from .listing import dir_entries
from .pb import UnixTime

# Kubo's `ls --json` Type numbers (the UnixFS DataType of the entry).
KUBO_TYPES = {"directory": 1, "file": 2, "symlink": 4, "unknown": 0}


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry. `size` is the file size in bytes (the target length for symlinks,
    0 for directories); `type` is "file", "directory", "symlink" or "unknown" (not resolved)."""

    name: str
    cid: CID
    size: int
    type: str
    tsize: int = 0  # the Tsize the directory's link records (cumulative DAG size)


@dataclass(frozen=True, slots=True)
class Stat:
    cid: CID
    type: str  # "file", "directory" (plain or HAMT), "symlink"
    size: int  # file bytes; symlink target length; 0 for directories
    block_size: int  # bytes of this node's own block
    cumulative_size: int  # block_size + the Tsize of every link (Kubo's CumulativeSize)
    num_links: int
    sharded: bool = False
    mode: int | None = None
    mtime: UnixTime | None = None  # UnixFS mtime (seconds, nanos), when the node has one
    target: str | None = None  # symlink target


def entry_type(node: UnixFSNode) -> str:
    return "directory" if node.kind == "hamt-shard" else node.kind


def stat(getter: BlockGetter, cid: CID) -> Stat:
    block = load_block(getter, cid)
    node = decode_node(cid, block)
    kind = entry_type(node)
    size = node.file_size if kind == "file" else len(node.data) if kind == "symlink" else 0
    meta = node.meta
    return Stat(
        cid=cid,
        type=kind,
        size=size,
        block_size=len(block),
        cumulative_size=len(block) + sum(link.tsize or 0 for link in node.links),
        num_links=len(node.links),
        sharded=node.kind == "hamt-shard",
        mode=meta.mode if meta else None,
        mtime=meta.mtime if meta else None,
        target=_symlink_target(node) if kind == "symlink" else None,
    )


def _symlink_target(node: UnixFSNode) -> str:
    try:
        return node.data.decode("utf-8")
    except UnicodeDecodeError:
        raise CodecError(f"{node.cid}: symlink target is not UTF-8") from None


def read_symlink(getter: BlockGetter, cid: CID) -> str:
    node = get_node(getter, cid)
    if node.kind != "symlink":
        raise InvalidInput(f"{cid} is not a symlink")
    return _symlink_target(node)


def file_size(getter: BlockGetter, cid: CID) -> int:
    node = get_node(getter, cid)
    if node.kind != "file":
        raise InvalidInput(f"{cid} is a {entry_type(node)}, not a file")
    return node.file_size


def read_file(getter: BlockGetter, cid: CID, offset: int = 0,
              length: int | None = None) -> Iterator[bytes]:
    """Stream the bytes of a UnixFS file (or a range of it) in order.

    Raises InvalidInput for directories and symlinks or a negative offset/length, CodecError for
    malformed UnixFS or a DAG whose sizes do not add up, NotFound for a missing block (from the
    getter). An offset past the end yields nothing.
    """
    if offset < 0 or (length is not None and length < 0):
        raise InvalidInput("offset and length must not be negative")
    root = get_node(getter, cid)
    if root.kind != "file":
        raise InvalidInput(f"{cid}: this dag node is a {entry_type(root)}, not a file")
    end = root.file_size if length is None else min(root.file_size, offset + length)
    if offset >= end:
        return
    yield from _read_range(getter, root, offset, end)


class _Cursor:
    """One interior node on the read stack and the next of its links to visit.

    `lo`/`hi` are the node-relative byte range still wanted; `index` is the next link and `pos`
    the node-relative offset where that link's bytes start (own data comes first).
    """

    __slots__ = ("node", "lo", "hi", "index", "pos")

    def __init__(self, node: UnixFSNode, lo: int, hi: int) -> None:
        self.node, self.lo, self.hi = node, lo, hi
        self.index, self.pos = 0, len(node.data)

    def next_child(self) -> tuple[CID, int, int, int] | None:
        """(cid, blocksize, child-relative start, child-relative end) of the next link that
        overlaps the wanted range, or None when no further link does. Links wholly before the
        range (or empty) are skipped by their blocksizes, without fetching them."""
        meta = self.node.meta
        assert meta is not None
        links, sizes = self.node.links, meta.blocksizes
        while self.index < len(links):
            i = self.index
            bsize = sizes[i]
            c_start, c_end = self.pos, self.pos + bsize
            self.index, self.pos = i + 1, c_end
            if c_end <= self.lo or bsize == 0:
                continue
            if c_start >= self.hi:
                self.index = len(links)
                break
            return (links[i].cid, bsize, max(self.lo, c_start) - c_start,
                    min(self.hi, c_end) - c_start)
        return None


def _read_range(getter: BlockGetter, root: UnixFSNode, start: int, end: int) -> Iterator[bytes]:
    # Depth-first over an explicit stack of cursors (a deep trickle DAG, or a hostile one, cannot
    # overflow Python's recursion limit). Children are fetched lazily, one at a time, when the
    # reader gets to them: memory is the interior nodes on the current root-to-leaf path plus
    # the one leaf being yielded, however wide the DAG (1024 x 1 MiB leaves per node by default).
    if start < len(root.data):
        yield root.data[start:min(end, len(root.data))]
    stack: list[_Cursor] = [_Cursor(root, start, end)] if root.links else []
    while stack:
        top = stack[-1]
        nxt = top.next_child()
        if nxt is None:
            stack.pop()
            continue
        child_cid, bsize, lo, hi = nxt
        child = get_node(getter, child_cid)
        if child.kind != "file":
            raise CodecError(f"{top.node.cid}: file links to a {child.kind} node {child_cid}")
        if child.file_size != bsize:
            raise CodecError(f"{top.node.cid}: child {child_cid} holds {child.file_size} bytes, "
                             f"blocksizes says {bsize}")
        data = child.data
        if lo < len(data):
            yield data[lo:min(hi, len(data))]
        if child.links:
            stack.append(_Cursor(child, lo, hi))
        del child, data  # hold nothing of a leaf once its bytes are yielded


def list_dir(getter: BlockGetter, cid: CID, *, resolve: bool = True) -> Iterator[Entry]:
    """The entries of a UnixFS directory (plain or HAMT-sharded), in link order.

    With `resolve` (Kubo's --resolve-type/--size, the default) each child block is fetched to
    report its type and size; without it, type is "unknown" and size is the link's Tsize.
    Raises InvalidInput if `cid` is not a directory.
    """
    node = get_node(getter, cid)
    yield from list_node(getter, node, resolve=resolve)


def _raw_size(getter: BlockGetter, stored_size: Any, cid: CID) -> int:
    if stored_size is not None:
        try:
            return int(stored_size(cid))
        except NotFound:  # not here: the getter fetches it (or names the problem)
            pass
    return len(load_block(getter, cid))


def list_node(getter: BlockGetter, node: UnixFSNode, *, resolve: bool = True) -> Iterator[Entry]:
    """The entries of an already decoded directory node; the links come from the one lister
    (`unixfs.listing.dir_entries`: lean dag-pb parsing, every HAMT check)."""
    if node.kind not in ("directory", "hamt-shard"):
        raise InvalidInput(f"{node.cid} is a {node.kind}, not a directory")
    links = dir_entries(lambda c: load_block(getter, c), node.cid)
    from_bytes = CID.from_bytes
    stored_size = getattr(getter, "size", None)  # a blockstore knows a block's length unread
    for name, raw_cid, tsize in links:
        child_cid = from_bytes(raw_cid)
        if not resolve:
            yield Entry(name, child_cid, tsize, "unknown", tsize)
        elif child_cid.codec == RAW:  # a raw leaf is a file of its block's length: no decoding
            yield Entry(name, child_cid, _raw_size(getter, stored_size, child_cid), "file", tsize)
        else:
            child = get_node(getter, child_cid)
            kind = entry_type(child)
            size = child.file_size if kind == "file" else len(child.data) if kind == "symlink" else 0
            yield Entry(name, child_cid, size, kind, tsize)
