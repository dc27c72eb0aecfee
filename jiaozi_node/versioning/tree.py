"""Reading dataset trees (UnixFS directories, plain and HAMT-sharded) for diff and merge (pure).

Everything here works over a SYNC block getter `get(cid) -> bytes` that has already verified the
bytes (the blockstore re-hashes on read). Only the blocks actually needed are read: a directory
listing reads the directory's own blocks, never its children, so comparing two trees can skip
identical subtrees by CID alone. The kind of a child (file or directory) is read lazily with
`kind_of`, one block, only when a caller needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..config import TREE_LIMITS
from ..errors import CodecError
from ..ipld import dagpb
from ..ipld.cid import CID, DAG_PB, RAW
from ..unixfs import pb
from ..unixfs.tree_plan import too_deep

Getter = Callable[[CID], bytes]

FILE = "file"
DIR = "dir"
SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class Link:
    """A named child: its CID and the cumulative size recorded in the parent's link."""

    cid: CID
    tsize: int


@dataclass(frozen=True, slots=True)
class DirNode:
    """A decoded directory block: plain (`entries`) or one HAMT shard node (`slots`)."""

    hamt: bool
    entries: dict[str, Link]  # plain dir: name -> link; HAMT: entries stored directly in this node
    shards: dict[int, CID]  # HAMT only: slot -> child shard CID
    entry_slots: dict[int, str]  # HAMT only: slot -> entry name stored in that slot
    fanout: int = 0


def kind_of(get: Getter, cid: CID) -> str:
    """FILE, DIR or SYMLINK. Raw leaves are files without reading anything."""
    if cid.codec == RAW:
        return FILE
    if cid.codec != DAG_PB:
        raise CodecError(f"{cid}: {cid.codec_name} is not a UnixFS node")
    node = dagpb.decode(get(cid))
    if node.data is None:
        raise CodecError(f"{cid}: dag-pb node without UnixFS data")
    t = pb.decode(node.data).type
    if t in (pb.DataType.Directory, pb.DataType.HAMTShard):
        return DIR
    if t == pb.DataType.Symlink:
        return SYMLINK
    if t in (pb.DataType.File, pb.DataType.Raw):
        return FILE
    raise CodecError(f"{cid}: unsupported UnixFS type {t.name}")


def _hex_width(fanout: int) -> int:
    return len(f"{fanout - 1:X}")


def read_dir_node(get: Getter, cid: CID) -> DirNode:
    """Decode one directory block. Raises CodecError if `cid` is not a UnixFS directory."""
    if cid.codec != DAG_PB:
        raise CodecError(f"{cid} is not a UnixFS directory ({cid.codec_name})")
    node = dagpb.decode(get(cid))
    if node.data is None:
        raise CodecError(f"{cid}: dag-pb node without UnixFS data")
    data = pb.decode(node.data)
    if data.type == pb.DataType.Directory:
        entries = {}
        for link in node.links:
            name = link.name or ""
            if not name or name in entries:
                raise CodecError(f"{cid}: directory with an empty or repeated link name")
            entries[name] = Link(link.cid, link.tsize or 0)
        return DirNode(False, entries, {}, {})
    if data.type == pb.DataType.HAMTShard:
        fanout = data.fanout or 0
        if fanout <= 1 or fanout & (fanout - 1):
            raise CodecError(f"{cid}: HAMT fanout {fanout} is not a power of two")
        width = _hex_width(fanout)
        entries, shards, entry_slots = {}, {}, {}
        for link in node.links:
            name = link.name or ""
            try:
                slot = int(name[:width], 16)
            except ValueError:
                raise CodecError(f"{cid}: HAMT link name {name!r} lacks a hex prefix") from None
            if slot >= fanout or slot in shards or slot in entry_slots:
                raise CodecError(f"{cid}: HAMT slot {slot} used twice or out of range")
            if len(name) == width:
                shards[slot] = link.cid
            else:
                entries[name[width:]] = Link(link.cid, link.tsize or 0)
                entry_slots[slot] = name[width:]
        return DirNode(True, entries, shards, entry_slots, fanout)
    raise CodecError(f"{cid} is not a directory (UnixFS {data.type.name})")


def list_dir(get: Getter, cid: CID) -> dict[str, Link]:
    """Every entry of a directory (all shards of a HAMT)."""
    out: dict[str, Link] = {}
    stack = [cid]
    while stack:
        node = read_dir_node(get, stack.pop())
        out.update(node.entries)
        stack.extend(node.shards.values())
    return out


def walk_files(get: Getter, cid: CID, prefix: str = "", *,
               max_depth: int = TREE_LIMITS.max_tree_depth) -> Iterator[tuple[str, CID, str]]:
    """Every file, symlink and empty directory under a tree: (path, cid, kind), in path order.

    Empty directories are reported as `path/` with kind DIR, so a tree with an empty directory
    differs visibly from one without. Iterative (no recursion); directories nested deeper than
    `max_depth` below `cid` raise LimitExceeded naming TreeLimits.max_tree_depth.
    """
    kind = kind_of(get, cid)
    if kind != DIR:
        yield prefix.rstrip("/"), cid, kind
        return
    entries = list_dir(get, cid)
    if not entries:
        if prefix:
            yield prefix, cid, DIR
        return
    stack = [(0, iter(sorted(entries.items())), prefix)]
    while stack:
        depth, it, pre = stack[-1]
        item = next(it, None)
        if item is None:
            stack.pop()
            continue
        name, link = item
        path = pre + name
        child_kind = kind_of(get, link.cid)
        if child_kind != DIR:
            yield path, link.cid, child_kind
            continue
        if depth + 1 > max_depth:
            raise too_deep(depth + 1, max_depth)
        sub = list_dir(get, link.cid)
        if not sub:
            yield path + "/", link.cid, DIR
            continue
        stack.append((depth + 1, iter(sorted(sub.items())), path + "/"))


def hamt_slot_entries(get: Getter, node: DirNode, slot: int) -> dict[str, Link]:
    """All entries stored under one slot of a HAMT node (one entry, or a whole sub-shard)."""
    if slot in node.shards:
        return list_dir(get, node.shards[slot])
    if slot in node.entry_slots:
        name = node.entry_slots[slot]
        return {name: node.entries[name]}
    return {}
