"""Garbage collection: delete every block not reachable from a pin or a registered GC root.

Mark: the multihashes reachable from recursive pins and from the roots providers
(`PinStore.add_root_provider`, `pins.ROOT_PROVIDERS`), plus direct pins. If any of those DAGs is
incomplete the walk raises NotFound and nothing is deleted (as Kubo's GC refuses to run on a
broken pin set). Sweep: every stored block outside that set is deleted.

Concurrency: the whole mark-and-sweep runs under the repo's GC lock held EXCLUSIVE (store/lock.py),
so it waits for writers holding it SHARED (an `add` until its pin is recorded) and they wait for
it; a block written and pinned under the shared lock is never swept.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..config import STORE_LIMITS
from ..errors import NotFound
from ..ipld.cid import CID
from .base import Blockstore
from .keys import key_of
from .pins import PinStore


def collect(pins: PinStore, *, chunk: int = STORE_LIMITS.gc_sweep_chunk) -> Iterator[CID]:
    """Run GC; yields each removed block's CID (raw CIDv1, see store/keys.py) as it goes."""
    blocks = pins.blocks
    with pins.lock.exclusive():
        keep = pins.protected_keys()
        doomed: list[CID] = []
        for cid in blocks.cids():  # engines page their listing, so deleting as we go is safe
            if key_of(cid) not in keep:
                doomed.append(cid)
                if len(doomed) >= chunk:
                    yield from _sweep(blocks, doomed)
                    doomed = []
        yield from _sweep(blocks, doomed)
        for hook in ("remove_stale_temp_files", "compact"):  # engine housekeeping, if any
            cleanup = getattr(blocks, hook, None)
            if cleanup is not None:
                cleanup()


def _sweep(blocks: Blockstore, cids: list[CID]) -> Iterator[CID]:
    delete_many = getattr(blocks, "delete_many", None)
    if delete_many is not None:
        yield from delete_many(cids)
        return
    for cid in cids:
        try:
            blocks.delete(cid)
        except NotFound:
            continue
        yield cid
