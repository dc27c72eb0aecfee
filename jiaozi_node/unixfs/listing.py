"""Listing UnixFS directories (pure): the one lister behind `jzfs ls`, the RPC `ls`, the gateway's
directory pages, `unixfs.walk` (get, tar, checkout) and the web UI's tree browser.

    dir_entries(getter.get, cid)               # [(name, CID bytes, Tsize)], link order
    pb_links(block)                            # ([(hash bytes, name, tsize)], Data) of one dag-pb block

Each directory block (plain, or every shard of a HAMT) is read once and its links are taken
straight from the dag-pb bytes as (name, CID bytes, Tsize); building a CID object and decoding
every link through `ipld.dagpb` per entry cost ~250 ms per 10 000 entries before the first row.
Parsing is strict: any field dag-pb does not define, a truncated varint or length, a link without
a hash, a name that is not UTF-8, a HAMT with a foreign hash, a fanout that is not a power of two
in 2..1024, a link name without its hex slot prefix, a sub-shard that is not a shard of the same
fanout, or one nested deeper than its 64-bit hash allows raises CodecError. Callers build CID
objects only for what they show (`exporter.list_dir` for every entry, the web UI for one page).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import CodecError
from ..ipld import varint
from ..ipld.cid import CID, DAG_PB
from . import pb
from .exporter_hamt import HASH_BITS
from .pb import MURMUR3_X64_64

Getter = Callable[[CID], bytes]
Entry = tuple[str, bytes, int]  # name, CID bytes, link Tsize

_varint = partial(varint.decode_protobuf, what="dag-pb")


def pb_links(data: bytes) -> tuple[list[tuple[bytes, str, int]], bytes | None]:
    """(links as (hash bytes, name, tsize), Data bytes or None) of one dag-pb block.
    Single-byte varints (every key, most lengths) take the inline path."""
    i, n = 0, len(data)
    links: list[tuple[bytes, str, int]] = []
    append = links.append
    node_data = None
    while i < n:
        key = data[i]
        i += 1
        if key != 0x12 and key != 0x0A:
            raise CodecError(f"dag-pb: unknown field key {key}")
        ln = data[i] if i < n else 0x80
        if ln < 0x80:
            i += 1
        else:
            ln, i = _varint(data, i, n)
        end = i + ln
        if end > n:
            raise CodecError("dag-pb: field runs past the block")
        if key == 0x0A:
            if node_data is not None:
                raise CodecError("dag-pb: Data twice")
            node_data = data[i:end]
            i = end
            continue
        h, name, tsize = None, "", 0
        j = i
        while j < end:
            k = data[j]
            j += 1
            if k == 0x18:
                if j < end and data[j] < 0x80:
                    tsize = data[j]
                    j += 1
                else:
                    tsize, j = _varint(data, j, end)
                continue
            if k != 0x0A and k != 0x12:
                raise CodecError(f"dag-pb: unknown link field key {k}")
            ln2 = data[j] if j < end else 0x80
            if ln2 < 0x80:
                j += 1
            else:
                ln2, j = _varint(data, j, end)
            e = j + ln2
            if e > end:
                raise CodecError("dag-pb: link field runs past the link")
            if k == 0x0A:
                h = data[j:e]
            else:
                try:
                    name = data[j:e].decode("utf-8")
                except UnicodeDecodeError:
                    raise CodecError("dag-pb: link name is not UTF-8") from None
            j = e
        if h is None:
            raise CodecError("dag-pb: link without a hash")
        append((h, name, tsize))
        i = end
    return links, node_data


def _shard_geometry(c: CID, meta: pb.UnixFSData, fanout: int | None) -> tuple[int, int]:
    """(fanout, hex prefix width) of a shard node; `fanout` is the root's (None for the root)."""
    if meta.hash_type != MURMUR3_X64_64:
        raise CodecError(f"{c}: HAMT shard with unsupported hash type {meta.hash_type}")
    f = meta.fanout or 0
    if f < 2 or f > 1024 or f & (f - 1):
        raise CodecError(f"{c}: HAMT fanout {meta.fanout} is not a power of two in 2..1024")
    if fanout is not None and f != fanout:
        raise CodecError(f"{c}: HAMT sub-shard fanout differs from its parent's")
    return f, len(f"{f - 1:X}")


def _node(get: Getter, c: CID, *, root: bool) -> tuple[list[tuple[bytes, str, int]], pb.UnixFSData]:
    if c.codec != DAG_PB:
        if not root:
            raise CodecError(f"{c}: HAMT sub-shard link is not a shard node ({c.codec_name})")
        raise CodecError(f"{c} is not a UnixFS directory ({c.codec_name})")
    links, data = pb_links(get(c))
    if data is None:
        raise CodecError(f"{c}: dag-pb node without UnixFS data")
    meta = pb.decode(data)
    if not root and meta.type != pb.DataType.HAMTShard:
        raise CodecError(f"{c}: HAMT sub-shard link is not a shard node")
    return links, meta


def dir_entries(get: Getter, cid: CID, *, max_entries: int | None = None,
                unique_names: bool = False) -> list[Entry]:
    """Every entry of a plain or HAMT-sharded UnixFS directory, in link order (HAMT: pre-order,
    a sub-shard's entries at its link's place, as boxo and Helia list them). `max_entries`
    bounds the answer (CodecError "more than N entries"); `unique_names` refuses an empty or
    repeated name in a plain directory (a page sorted by name must not hide one entry behind
    another; `ls` shows the links as they are, like Kubo)."""
    links, meta = _node(get, cid, root=True)
    if meta.type == pb.DataType.Directory:
        if unique_names:
            seen = set()
            for _h, name, _t in links:
                if not name or name in seen:
                    raise CodecError(f"{cid}: directory with an empty or repeated link name")
                seen.add(name)
        if max_entries is not None and len(links) > max_entries:
            raise CodecError(f"directory {cid} has more than {max_entries} entries")
        return [(name, h, tsize) for h, name, tsize in links]
    if meta.type != pb.DataType.HAMTShard:
        raise CodecError(f"{cid} is not a directory (UnixFS {meta.type.name})")
    fanout, width = _shard_geometry(cid, meta, None)
    max_depth = HASH_BITS // (fanout.bit_length() - 1)
    valid = {f"{i:0{width}X}" for i in range(fanout)}
    limit = max_entries if max_entries is not None else -1
    out: list[Entry] = []
    append = out.append
    # pre-order over an explicit stack of (shard id, its links, next index): no recursion
    stack: list[tuple[CID, list[tuple[bytes, str, int]], int]] = [(cid, links, 0)]
    while stack:
        c, links, i = stack[-1]
        if i == len(links):
            stack.pop()
            continue
        stack[-1] = (c, links, i + 1)
        h, name, tsize = links[i]
        if name[:width] not in valid:
            if len(name) < width:
                raise CodecError(f"{c}: HAMT link name {name!r} shorter than its {width}-digit prefix")
            raise CodecError(f"{c}: HAMT link name {name!r} lacks a hex prefix")
        if len(name) > width:
            append((name[width:], h, tsize))
            if len(out) == limit + 1:
                raise CodecError(f"directory {cid} has more than {max_entries} entries")
            continue
        if len(stack) >= max_depth:
            raise CodecError(f"{cid}: HAMT deeper than its hash allows")
        sub = CID.from_bytes(h)
        sub_links, sub_meta = _node(get, sub, root=False)
        _shard_geometry(sub, sub_meta, fanout)
        stack.append((sub, sub_links, 0))
    return out
