"""What the gateway serves, over a SYNC block getter (pure: no I/O of its own, no trio).

- `resolve_path`: walk path segments from a root CID (UnixFS directories, HAMT shards, and
  DAG-CBOR/DAG-JSON maps and lists through links), returning the terminal CID, the CID reached at
  each segment (X-Ipfs-Roots) and the blocks needed to prove the path (for CAR responses).
- `car_blocks`: the blocks of a trustless CAR response in DFS pre-order without duplicates:
  the path-proof blocks, then the DAG under the terminal CID limited by `dag-scope` (and
  `entity-bytes`), walked by `car/traverse.py`.

The getter raises NotFound for a missing block; whatever it returns has been verified (the local
store re-hashes on read; the retrieval path verifies before handing anything over).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..car.traverse import dag_blocks
from ..errors import CodecError, NotFound
from ..ipld import codecs
from ..ipld.cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW
from ..unixfs.exporter_data import BlockGetter, decode_node, load_block
from ..unixfs.exporter_hamt import hamt_lookup


@dataclass(frozen=True)
class Resolved:
    cid: CID
    roots: tuple[CID, ...]  # the CID reached after each step, root first (X-Ipfs-Roots)
    proof: tuple[CID, ...]  # blocks read to walk the path (root first), for CAR responses


def _walk_ipld(value: Any, name: str, where: CID) -> Any:
    if isinstance(value, dict):
        if name not in value:
            raise NotFound(f"no field named {name!r} in {where}")
        return value[name]
    if isinstance(value, list):
        try:
            return value[int(name)]
        except (ValueError, IndexError):
            raise NotFound(f"no index {name!r} in a list of {where}") from None
    raise NotFound(f"cannot walk {name!r} into a scalar in {where}")


def resolve_path(getter: BlockGetter, root: CID, segments: tuple[str, ...]) -> Resolved:
    """Follow `segments` from `root`. Raises NotFound naming the missing link."""
    cid = root
    roots = [root]
    proof: list[CID] = []
    i = 0
    while i < len(segments):
        name = segments[i]
        block = load_block(getter, cid)
        proof.append(cid)
        if cid.codec == DAG_PB:
            node = decode_node(cid, block)
            if node.kind == "directory":
                for link in node.links:
                    if link.name == name:
                        cid = link.cid
                        break
                else:
                    raise NotFound(f"no link named {name!r} under {node.cid}")
            elif node.kind == "hamt-shard":
                link, visited = hamt_lookup(getter, node, name)
                proof.extend(n.cid for n in visited[1:])
                cid = link.cid
            else:
                raise NotFound(f"no link named {name!r} under {node.cid}: it is a {node.kind}")
            i += 1
        elif cid.codec in (DAG_CBOR, DAG_JSON):
            value: Any = codecs.decode(cid, block)
            while i < len(segments) and not isinstance(value, CID):
                value = _walk_ipld(value, segments[i], cid)
                i += 1
            if not isinstance(value, CID):
                raise NotFound(f"path {'/'.join(segments)!r} ends inside block {cid}, not at a link")
            cid = value
        elif cid.codec == RAW:
            raise NotFound(f"no link named {name!r} under {cid}: it is a raw block")
        else:
            raise CodecError(f"cannot walk a path through codec {cid.codec_name}")
        roots.append(cid)
    return Resolved(cid, tuple(roots), tuple(proof))


def car_blocks(getter: BlockGetter, resolved: Resolved, scope: str,
               entity_bytes: tuple[int, int | None] | None = None) -> Iterator[tuple[CID, bytes]]:
    """Blocks for a CAR answer, each at most once (dups=n): the path proof, then the terminal
    element's blocks by `dag-scope` from the CAR traversal (`car/traverse.dag_blocks`).
    Identity CIDs are skipped (their data is in the CID itself)."""
    sent: set[bytes] = set()
    for cid in resolved.proof:
        if cid.multihash not in sent and cid.multihash[0] != 0x00:
            sent.add(cid.multihash)
            yield cid, load_block(getter, cid)
    eb = None
    if entity_bytes is not None:
        lo, hi = entity_bytes
        eb = f"{lo}:{'*' if hi is None else hi}"
    for block in dag_blocks(getter, resolved.cid, (), scope=scope, entity_bytes=eb):
        if block.cid.multihash not in sent:  # a proof block never reappears below the target
            yield block.cid, block.data
