"""UnixFS directories (pure): plain dag-pb directories, and the switch to HAMT shards.

    build_directory(entries, profile=...) -> (cid, tsize, blocks)

takes existing entries (name, CID, Tsize) — nothing is re-read — and returns a plain directory or,
when it would be too big, a HAMT-sharded one (hamt.py), the way Kubo/boxo and Helia decide:

* profile.hamt_size_estimation == "links" (unixfs-v0-2015, boxo SizeEstimationLinks, Helia
  'links-bytes'): estimate = sum(len(name bytes) + len(CID bytes)) over the entries;
* "block" (unixfs-v1-2025, boxo SizeEstimationBlock, Helia 'block-bytes'): estimate = the exact
  size of the plain directory's dag-pb block;
* shard when estimate > profile.hamt_threshold_bytes (256 KiB). Current boxo and Helia use `>`;
  Kubo <= 0.3x (boxo <= 0.2x) used `>=`: the two differ only for a directory whose estimate is
  exactly 262144 bytes.

Links are sorted by name bytes (boxo sorts links with a stable sort on the name; @ipld/dag-pb's
`prepare` does the same). Names are UTF-8 strings, as dag-pb requires; names must be non-empty,
contain no "/" and be unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..config import ImportProfile
from ..errors import InvalidInput
from ..ipld import dagpb, multihash
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB
from . import pb


@dataclass(frozen=True, slots=True)
class DirEntry:
    name: str
    cid: CID
    tsize: int


def _uvarint_len(v: int) -> int:
    return max(1, (v.bit_length() + 6) // 7)


def link_serialized_size(name_len: int, cid_len: int, tsize: int) -> int:
    """Bytes one named link adds to a PBNode (boxo linkSerializedSize / Helia pb-size)."""
    inner = (1 + _uvarint_len(cid_len) + cid_len + 1 + _uvarint_len(name_len) + name_len
             + 1 + _uvarint_len(tsize))
    return 1 + _uvarint_len(inner) + inner


# PBNode Data field of a plain directory without mode/mtime: 0a 02 08 01
PLAIN_DIR_DATA_FIELD = 1 + 1 + len(pb.DIRECTORY_DATA)


def estimated_size(entries: Iterable[DirEntry], profile: ImportProfile) -> int:
    """The size compared with profile.hamt_threshold_bytes (see module docstring)."""
    mode = profile.hamt_size_estimation
    if mode == "links":
        return sum(len(e.name.encode("utf-8")) + len(e.cid.buffer) for e in entries)
    if mode == "block":
        return PLAIN_DIR_DATA_FIELD + sum(
            link_serialized_size(len(e.name.encode("utf-8")), len(e.cid.buffer), e.tsize) for e in entries)
    raise InvalidInput(f"unknown hamt_size_estimation {mode!r} (links or block)")


def needs_sharding(entries: list[DirEntry], profile: ImportProfile) -> bool:
    threshold = profile.hamt_threshold_bytes
    return threshold > 0 and estimated_size(entries, profile) > threshold


def _checked(entries: Iterable[DirEntry]) -> list[DirEntry]:
    items = list(entries)
    seen: set[str] = set()
    for e in items:
        if not e.name or "/" in e.name or e.name in (".", ".."):
            raise InvalidInput(f"invalid directory entry name {e.name!r}")
        if e.name in seen:
            raise InvalidInput(f"duplicate directory entry name {e.name!r}")
        seen.add(e.name)
        try:
            e.name.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"directory entry name {e.name!r} is not valid UTF-8") from None
    return items


def plain_directory(entries: Iterable[DirEntry], *, profile: ImportProfile) -> tuple[CID, int, list[Block]]:
    """A single dag-pb Directory node, links sorted by name bytes."""
    items = sorted(_checked(entries), key=lambda e: e.name.encode("utf-8"))
    node = dagpb.PBNode(tuple(dagpb.PBLink(e.cid, e.name, e.tsize) for e in items), pb.DIRECTORY_DATA)
    data = dagpb.encode(node)
    cid = CID(profile.cid_version, DAG_PB, multihash.digest(multihash.code_of(profile.hash_function), data))
    return cid, len(data) + sum(e.tsize for e in items), [Block(cid, data)]


def build_directory(entries: Iterable[DirEntry], *, profile: ImportProfile) -> tuple[CID, int, list[Block]]:
    """A directory from existing entries: plain, or HAMT-sharded when over the threshold.

    Returns (root CID, cumulative Tsize of the root, blocks to store). Pure: the caller stores.
    """
    items = _checked(entries)
    if needs_sharding(items, profile):
        from .hamt import build_hamt

        return build_hamt(items, profile=profile)
    return plain_directory(items, profile=profile)
