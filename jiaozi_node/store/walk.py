"""Walking a DAG in the local blockstore: what pins keep alive and what GC must not delete."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..errors import JzfsError, NotFound
from ..ipld import codecs
from ..ipld.cid import CID, RAW
from .base import Blockstore
from .keys import is_identity, key_of


def walk(blocks: Blockstore, roots: Iterable[CID], *, seen: set[bytes] | None = None,
         on_error: Callable[[CID, CID, Exception], None] | None = None) -> Iterator[CID]:
    """Yield every CID reachable from `roots` (roots included), each multihash once.

    Raw blocks are only checked for presence, never read. A block that is not local raises NotFound
    naming it (and the root it hangs under). `seen` (multihash keys) may be shared between calls.
    With `on_error(cid, root, exc)`, a block that is missing, corrupt or undecodable is reported
    there instead and the walk goes on without its children (which cannot be known).
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
                    if on_error is None:
                        raise _missing(cid, root)
                    seen.add(key)
                    on_error(cid, root, _missing(cid, root))
                    continue
                seen.add(key)
                yield cid
                continue
            try:
                data = blocks.get(cid)
                children = codecs.links(cid, data)
            except NotFound:
                if on_error is None:
                    raise _missing(cid, root) from None
                seen.add(key)
                on_error(cid, root, _missing(cid, root))
                continue
            except (JzfsError, ValueError) as exc:  # corrupt on disk, or bytes no codec accepts
                if on_error is None:
                    raise
                seen.add(key)
                on_error(cid, root, exc)
                continue
            seen.add(key)
            yield cid
            stack.extend(reversed(children))


def _missing(cid: CID, root: CID) -> NotFound:
    if cid == root:
        return NotFound(f"block {cid} is not in the local blockstore")
    return NotFound(f"block {cid} (under {root}) is not in the local blockstore")


def reachable(blocks: Blockstore, roots: Iterable[CID], *,
              on_error: Callable[[CID, CID, Exception], None] | None = None) -> set[bytes]:
    """The multihash keys of every block reachable from `roots` (see `walk` for `on_error`;
    a block reported there is in the set too)."""
    seen: set[bytes] = set()
    for _ in walk(blocks, roots, seen=seen, on_error=on_error):
        pass
    return seen
