"""HAMT-sharded UnixFS directories (pure), as boxo `ipld/unixfs/hamt` and js `hamt-sharding` build
them.

* hash: murmur3-x64-128 with seed 0, first 64 bits (h1) written big-endian — boxo uses
  spaolacci/murmur3 `New64().Sum(nil)`; multicodec 0x22 (murmur3-x64-64) in `hashType`.
* fanout 256 = 8 bits per level: the slot at depth d is byte d of that hash.
* a slot holding one entry is a link named `%02X` + name to the entry itself; a slot where
  several entries collide is a link named `%02X` to a child shard (recursively, next byte).
  For an insert-only build (which `add` is) this trie is canonical, so it is built directly.
* node Data: UnixFS{Type HAMTShard, Data = bitfield, hashType 0x22, fanout 256}; bitfield = the
  big-endian integer with bit i set for each used slot i, leading zero bytes stripped (go-bitfield
  `Bytes()`; js reverses its little-endian sparse-array bytes to the same thing).
* links in slot order (= name order, since names start with the upper-case hex slot).
"""

from __future__ import annotations

from collections.abc import Iterable

import mmh3

from ..config import ImportProfile
from ..errors import InvalidInput, LimitExceeded
from ..ipld import dagpb, multihash
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB
from . import pb
from .directory import DirEntry

# 64 hash bits / 8 bits per level: boxo fails with "sharded directory too deep" past this.
_MAX_DEPTH_BITS = 64


def hamt_hash(name: str) -> bytes:
    """The 8 hash bytes boxo uses for a directory entry name."""
    h1, _ = mmh3.hash64(name.encode("utf-8"), seed=0, x64arch=True, signed=False)  # keywords: mmh3 5.x ignores a positional `signed`
    return h1.to_bytes(8, "big")


def _bits_per_level(fanout: int) -> int:
    if fanout <= 0 or fanout & (fanout - 1) or fanout < 8:
        raise InvalidInput(f"HAMT fanout must be a power of two >= 8, not {fanout}")
    return fanout.bit_length() - 1


def _slot(h: bytes, consumed: int, nbits: int) -> int:
    """boxo hashBits.next: take `nbits` bits MSB-first starting at bit `consumed`."""
    if consumed + nbits > len(h) * 8:
        raise LimitExceeded("sharded directory too deep (hash bits exhausted)")
    value = int.from_bytes(h, "big")
    return (value >> (len(h) * 8 - consumed - nbits)) & ((1 << nbits) - 1)


def build_hamt(entries: Iterable[DirEntry], *, profile: ImportProfile) -> tuple[CID, int, list[Block]]:
    """Build the shard tree; returns (root CID, root Tsize, all shard blocks, children first)."""
    fanout = profile.hamt_fanout
    nbits = _bits_per_level(fanout)
    pad = len(f"{fanout - 1:X}")
    hash_code = multihash.code_of(profile.hash_function)
    blocks: list[Block] = []
    keyed = [(hamt_hash(e.name), e) for e in entries]

    def shard(items: list[tuple[bytes, DirEntry]], consumed: int) -> tuple[CID, int]:
        slots: dict[int, list[tuple[bytes, DirEntry]]] = {}
        for h, e in items:
            slots.setdefault(_slot(h, consumed, nbits), []).append((h, e))
        links: list[dagpb.PBLink] = []
        bitfield = 0
        for idx in sorted(slots):
            bitfield |= 1 << idx
            group = slots[idx]
            prefix = f"{idx:0{pad}X}"
            if len(group) == 1:
                e = group[0][1]
                links.append(dagpb.PBLink(e.cid, prefix + e.name, e.tsize))
            else:
                child_cid, child_tsize = shard(group, consumed + nbits)
                links.append(dagpb.PBLink(child_cid, prefix, child_tsize))
        bf = bitfield.to_bytes((bitfield.bit_length() + 7) // 8, "big")
        data = dagpb.encode(dagpb.PBNode(tuple(links), pb.hamt_shard(bf, fanout=fanout)))
        cid = CID(profile.cid_version, DAG_PB, multihash.digest(hash_code, data))
        blocks.append(Block(cid, data))
        return cid, len(data) + sum(link.tsize or 0 for link in links)

    root, tsize = shard(keyed, 0)
    return root, tsize, blocks
