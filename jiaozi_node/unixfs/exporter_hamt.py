"""Reading HAMT-sharded UnixFS directories (pure), as boxo and Helia write them.

A shard node is a dag-pb block with UnixFS Type HAMTShard, hashType murmur3-x64-64 (0x22) and a
power-of-two fanout (256 everywhere in practice). Each link name starts with the slot index in
upper-case hex, padded to the width of `fanout - 1` ("00".."FF" for 256): a name that is only the
prefix points to a sub-shard one level down; a longer name is an entry whose real name follows the
prefix. The slot of a name at depth d is the d-th group of log2(fanout) bits of its hash, taken
from the most significant bit of the hash's first byte.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import CodecError, NotFound
from ..ipld.dagpb import PBLink
from .exporter_data import BlockGetter, UnixFSNode, get_node
from .hamt import hamt_hash  # one hash function for building and reading (murmur3-x64-64)

HASH_BITS = 64


def _geometry(shard: UnixFSNode) -> tuple[int, int]:
    """(bits per level, hex prefix width) of a shard node."""
    fanout = shard.meta.fanout if shard.meta else None
    if not fanout:
        raise CodecError(f"{shard.cid}: HAMT shard without fanout")
    return fanout.bit_length() - 1, len(f"{fanout - 1:X}")


def _slot(hash_int: int, depth: int, bits: int) -> int:
    used = depth * bits
    if used + bits > HASH_BITS:
        raise CodecError(f"HAMT deeper than its {HASH_BITS}-bit hash allows (depth {depth})")
    return (hash_int >> (HASH_BITS - used - bits)) & ((1 << bits) - 1)


def _split(shard: UnixFSNode, link: PBLink, pad: int) -> tuple[int, str | None]:
    """(slot index, entry name or None for a sub-shard) of one shard link."""
    name = link.name or ""
    if len(name) < pad:
        raise CodecError(f"{shard.cid}: HAMT link name {name!r} shorter than its {pad}-digit prefix")
    prefix = name[:pad]
    try:
        index = int(prefix, 16)
    except ValueError:
        raise CodecError(f"{shard.cid}: HAMT link name {name!r} has no hex prefix") from None
    if prefix != prefix.upper() or prefix.startswith(("+", "-")):
        raise CodecError(f"{shard.cid}: HAMT link name {name!r} has a malformed prefix")
    return index, (name[pad:] if len(name) > pad else None)


def _sub_shard(getter: BlockGetter, parent: UnixFSNode, link: PBLink) -> UnixFSNode:
    child = get_node(getter, link.cid)
    if child.kind != "hamt-shard":
        raise CodecError(f"{parent.cid}: HAMT sub-shard link {link.name!r} is not a shard node")
    if child.meta and parent.meta and child.meta.fanout != parent.meta.fanout:
        raise CodecError(f"{link.cid}: HAMT sub-shard fanout differs from its parent's")
    return child


def hamt_lookup(getter: BlockGetter, shard: UnixFSNode, name: str) -> tuple[PBLink, list[UnixFSNode]]:
    """Find the entry `name` in a sharded directory.

    Returns the entry's link (its name field still carries the hex prefix) and the shard nodes
    visited on the way (the root shard first), which a trustless CAR must include to prove the path.
    Raises NotFound if there is no such entry.
    """
    hash_int = int.from_bytes(hamt_hash(name), "big")
    node, depth, visited = shard, 0, [shard]
    while True:
        bits, pad = _geometry(node)
        slot = _slot(hash_int, depth, bits)
        for link in node.links:
            index, entry = _split(node, link, pad)
            if index != slot:
                continue
            if entry is None:
                node = _sub_shard(getter, node, link)
                visited.append(node)
                depth += 1
                break
            if entry == name:
                return link, visited
            raise NotFound(f"no link named {name!r} under {shard.cid}")
        else:
            raise NotFound(f"no link named {name!r} under {shard.cid}")


def hamt_shard_nodes(getter: BlockGetter, shard: UnixFSNode) -> Iterator[UnixFSNode]:
    """Every shard node of a sharded directory, pre-order (what enumerating it needs)."""
    yield shard
    for node, name, _link in _walk(getter, shard):
        if name is None:
            yield node


def _walk(getter: BlockGetter, shard: UnixFSNode) -> Iterator[tuple[UnixFSNode, str | None, PBLink]]:
    """Pre-order walk: yields (sub-shard node, None, link) on entering a sub-shard and
    (parent shard, entry name, link) for each entry."""
    stack: list[tuple[UnixFSNode, int]] = [(shard, 0)]
    max_depth = HASH_BITS // max(1, _geometry(shard)[0])
    while stack:
        node, i = stack.pop()
        if i >= len(node.links):
            continue
        stack.append((node, i + 1))
        _bits, pad = _geometry(node)
        link = node.links[i]
        _index, entry = _split(node, link, pad)
        if entry is None:
            if len(stack) > max_depth:
                raise CodecError(f"{shard.cid}: HAMT deeper than its hash allows")
            child = _sub_shard(getter, node, link)
            yield child, None, link
            stack.append((child, 0))
        else:
            yield node, entry, link
