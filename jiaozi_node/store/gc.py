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

from ..ipld.cid import CID
from .keys import key_of
from .pins import PinStore

# Deletions grouped into one engine transaction (LMDB/SQLite) per this many blocks.
SWEEP_CHUNK = 4096


def collect(pins: PinStore) -> Iterator[CID]:
    """Run GC; yields each removed block's CID (raw CIDv1, see store/keys.py) as it goes."""
    blocks = pins.blocks
    with pins.lock.exclusive():
        keep = pins.protected_keys()
        doomed = [c for c in blocks.cids() if key_of(c) not in keep]
        delete_many = getattr(blocks, "delete_many", None)
        for i in range(0, len(doomed), SWEEP_CHUNK):
            chunk = doomed[i : i + SWEEP_CHUNK]
            if delete_many is not None:
                yield from delete_many(chunk)
                continue
            for cid in chunk:
                blocks.delete(cid)
                yield cid
        cleanup = getattr(blocks, "remove_stale_temp_files", None)
        if cleanup is not None:
            cleanup()
