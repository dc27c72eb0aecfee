"""`jzfs repo verify` (Kubo's name): read every stored block and check it against its hash.

    for cid, problem in verify_blocks(node.blocks, drop=False): ...   # problem None: the block is fine

Every block the engine lists is read and re-hashed here, whatever the engine's own read check is
set to. A block that is missing after being listed (removed meanwhile by GC in another process)
is skipped, not reported. With `drop`, a corrupt block is deleted (Kubo's `--drop`): a later fetch
or `get` can bring the right bytes back, which a corrupt block in the store would prevent.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import HashMismatch, JzfsError, NotFound
from ..ipld.cid import CID
from .base import Blockstore
from .keys import check_stored


def check_block(blocks: Blockstore, cid: CID) -> str | None:
    """None when the stored bytes of `cid` hash to it; else what is wrong (NotFound propagates)."""
    try:
        check_stored(cid, blocks.get(cid))
    except NotFound:
        raise
    except HashMismatch:  # CorruptBlock too: the engine's own read check found it first
        return "its bytes do not match its hash"
    except (JzfsError, OSError, ValueError) as exc:
        text = str(exc)
        return text[len(f"block {cid} "):] if text.startswith(f"block {cid} ") else text
    return None


def verify_blocks(blocks: Blockstore, *, drop: bool = False) -> Iterator[tuple[CID, str | None, bool]]:
    """(cid, problem, removed) for every stored block, in the engine's order."""
    for cid in blocks.cids():
        try:
            problem = check_block(blocks, cid)
        except NotFound:
            continue
        removed = False
        if problem is not None and drop:
            try:
                blocks.delete(cid)
                removed = True
            except NotFound:
                removed = True
            except (JzfsError, OSError) as exc:
                problem = f"{problem}, failed to remove ({exc})"
        yield cid, problem, removed
