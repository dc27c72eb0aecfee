"""Walking a DAG in the local blockstore: what pins keep alive and what GC must not delete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import NotFound
from ..ipld import codecs
from ..ipld.cid import CID, RAW
from .base import Blockstore
from .keys import is_identity, key_of


def walk(blocks: Blockstore, roots: Iterable[CID], *, seen: set[bytes] | None = None) -> Iterator[CID]:
    """Yield every CID reachable from `roots` (roots included), each multihash once.

    Raw blocks are only checked for presence, never read. A block that is not local raises NotFound
    naming it (and the root it hangs under). `seen` (multihash keys) may be shared between calls.
    """
    seen = set() if seen is None else seen
    for root in roots:
        stack = [root]
        while stack:
            cid = stack.pop()
            key = key_of(cid)
            if key in seen:
                continue
            if cid.codec == RAW and not is_identity(cid):
                if not blocks.has(cid):
                    raise _missing(cid, root)
                seen.add(key)
                yield cid
                continue
            try:
                data = blocks.get(cid)
            except NotFound:
                raise _missing(cid, root) from None
            seen.add(key)
            yield cid
            children = codecs.links(cid, data)
            stack.extend(reversed(children))


def _missing(cid: CID, root: CID) -> NotFound:
    if cid == root:
        return NotFound(f"block {cid} is not in the local blockstore")
    return NotFound(f"block {cid} (under {root}) is not in the local blockstore")


def reachable(blocks: Blockstore, roots: Iterable[CID]) -> set[bytes]:
    """The multihash keys of every block reachable from `roots`."""
    seen: set[bytes] = set()
    for _ in walk(blocks, roots, seen=seen):
        pass
    return seen
