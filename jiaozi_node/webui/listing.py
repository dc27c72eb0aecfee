"""A directory's entries for the tree browser, fast enough for 100 000 entries (pure).

`versioning.tree.list_dir` builds a CID object per entry; a 10 000-entry HAMT directory then costs
~250 ms of Python before the first row is shown. Here each directory block (plain, or every shard
of a HAMT) is read once and its links are taken straight from the dag-pb bytes as
(name, CID bytes, Tsize) — strictly: any field dag-pb does not define, a truncated varint or
length, a link without a hash, a bad HAMT prefix raises CodecError. CID objects are built only for
the rows of the page shown.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import CodecError
from ..ipld import varint
from ..ipld.cid import CID, DAG_PB
from ..unixfs import pb

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


def dir_entries(get: Getter, cid: CID, *, max_entries: int) -> list[Entry]:
    """Every entry of a plain or HAMT-sharded UnixFS directory (link order)."""
    out: list[Entry] = []
    stack = [cid]
    first = True
    prefixes: dict[int, set[str]] = {}
    while stack:
        c = stack.pop()
        if c.codec != DAG_PB:
            raise CodecError(f"{c} is not a UnixFS directory ({c.codec_name})")
        links, data = pb_links(get(c))
        if data is None:
            raise CodecError(f"{c}: dag-pb node without UnixFS data")
        meta = pb.decode(data)
        if meta.type == pb.DataType.Directory and first:
            seen = set()
            for h, name, tsize in links:
                if not name or name in seen:
                    raise CodecError(f"{c}: directory with an empty or repeated link name")
                seen.add(name)
                out.append((name, h, tsize))
        elif meta.type == pb.DataType.HAMTShard:
            fanout = meta.fanout or 0
            if fanout <= 1 or fanout & (fanout - 1):
                raise CodecError(f"{c}: HAMT fanout {fanout} is not a power of two")
            width = len(f"{fanout - 1:X}")
            valid = prefixes.get(fanout)
            if valid is None:
                valid = prefixes[fanout] = {f"{i:0{width}X}" for i in range(fanout)}
            subs = []
            for h, name, tsize in links:
                if name[:width] not in valid:
                    raise CodecError(f"{c}: HAMT link name {name!r} lacks a hex prefix")
                if len(name) == width:
                    subs.append(CID.from_bytes(h))
                else:
                    out.append((name[width:], h, tsize))
            stack.extend(reversed(subs))
        else:
            raise CodecError(f"{c} is not a directory (UnixFS {meta.type.name})")
        first = False
        if len(out) > max_entries:
            raise CodecError(f"directory {cid} has more than {max_entries} entries")
    return out
