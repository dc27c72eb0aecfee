"""Garbage collection: delete every block not reachable from a pin or a registered GC root.

Mark: the multihashes reachable from recursive pins and from the roots providers
(`PinStore.add_root_provider`, `pins.ROOT_PROVIDERS`), plus direct pins. If any of those DAGs is
incomplete or holds a block that cannot be read (corrupt on disk), the mark still runs to the end,
reports every such block, and nothing is deleted (GcIncomplete; as Kubo's GC refuses to sweep on
a broken pin set). Sweep: every stored block outside that set is deleted.

Concurrency: the whole mark-and-sweep runs under the repo's GC lock held EXCLUSIVE (store/lock.py),
so it waits for writers holding it SHARED (an `add` until its pin is recorded) and they wait for
it; a block written and pinned under the shared lock is never swept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..config import STORE_LIMITS
from ..errors import NotFound, RepoError
from ..ipld.cid import CID
from .base import Blockstore
from .keys import key_of
from .pins import PinStore


class GcIncomplete(RepoError):
    """The mark found blocks it could not read; nothing was removed. `problems`: (cid, root, why)."""

    def __init__(self, problems: list[tuple[CID, CID, str]]) -> None:
        first = "; ".join(why for _, _, why in problems[:3])
        super().__init__(
            f"repo gc removed nothing: {len(problems)} block(s) under pins or refs are missing, corrupt "
            f"or unreadable, so what they link to cannot be known ({first}"
            f"{'; …' if len(problems) > 3 else ''}). `jzfs repo verify` lists corrupt blocks "
            "(`--drop` removes them so a fetch can bring them back); unpin or delete what needs them")
        self.problems = problems


def collect(pins: PinStore, *, chunk: int = STORE_LIMITS.gc_sweep_chunk,
            on_problem: Callable[[CID, CID, str], None] | None = None) -> Iterator[CID]:
    """Run GC; yields each removed block's CID (raw CIDv1, see store/keys.py) as it goes.

    The mark reads every pinned/ref'd DAG to the end even past a block it cannot read (missing,
    corrupt on disk, undecodable): each is reported to `on_problem(cid, root, why)` as found, then
    GcIncomplete is raised before anything is deleted — a corrupt node's links are unknown, so any
    block might be one of them (Kubo's GC refuses to sweep after mark errors for the same reason).
    A corrupt raw leaf links nowhere and is never read by the mark: it does not stop GC."""
    blocks = pins.blocks
    problems: list[tuple[CID, CID, str]] = []

    def report(cid: CID, root: CID, exc: Exception) -> None:
        problems.append((cid, root, str(exc)))
        if on_problem is not None:
            on_problem(cid, root, str(exc))

    with pins.lock.exclusive():
        keep = pins.protected_keys(on_error=report)
        if problems:
            raise GcIncomplete(problems)
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
