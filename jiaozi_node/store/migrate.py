"""Move a repo's blocks to another blockstore engine (`jzfs repo migrate --engine NAME`).

Every block is read from the current engine *with* verification (a rotten block stops the
migration with CorruptBlock and nothing is switched), written to the new engine in batches, and
only when the new store holds every block does config `Datastore.Engine` change; the old store's
directory is removed after that (unless asked to keep it). A crash at any point leaves the repo on
its old engine, whole; running the migration again resumes (blocks already copied are skipped by
the new engine's dedupe). GC is held off for the duration (the repo's GC lock, exclusive), so no
block can be swept between being listed and being copied; the caller makes sure no daemon is
writing to the repo meanwhile.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from ..config import STORE_LIMITS, StoreLimits
from ..errors import InvalidInput, RepoError
from ..ipld.block import Block
from ..repo import Repo
from .base import Blockstore
from .lock import GcLock
from .open import BLOCKS_DIR, ENGINES, engine_name, open_blockstore


def migrate(repo: Repo, target: str, *, keep_old: bool = False,
            on_block: Callable[[int], None] | None = None, limits: StoreLimits = STORE_LIMITS) -> int:
    """Copy every block to engine `target` and switch the repo to it; returns the block count."""
    source = engine_name(repo)
    if target not in ENGINES:
        raise InvalidInput(f"unknown engine {target!r} (known: {', '.join(sorted(ENGINES))})")
    if target == source:
        raise InvalidInput(f"the repo already uses the {source} engine")
    with GcLock(repo.path).exclusive():
        # Name the source engine in the config before the target's directory exists: with
        # `default`, a half-copied target directory could otherwise be taken for the repo's store.
        repo.set_config("Datastore.Engine", source)
        src = open_blockstore(repo, limits=limits)  # verifies every block it reads
        dst = ENGINES[target](repo.path / BLOCKS_DIR / target, limits=limits)
        try:
            count = _copy(src, dst, on_block, batch_bytes=limits.max_batch_bytes)
            missing = sum(1 for cid in src.cids() if not dst.has(cid))
            if missing:
                raise RepoError(f"migration to {target} incomplete: {missing} blocks missing; "
                                f"the repo stays on {source}")
        finally:
            dst.close()
            src.close()
        repo.set_config("Datastore.Engine", target)
    if not keep_old:
        shutil.rmtree(repo.path / BLOCKS_DIR / source, ignore_errors=True)
    return count


def _copy(src: Blockstore, dst: Blockstore, on_block: Callable[[int], None] | None, *,
          batch_bytes: int = STORE_LIMITS.max_batch_bytes) -> int:
    batch: list[Block] = []
    size = count = 0
    for cid in src.cids():
        data = src.get(cid)
        batch.append(Block(cid, data))
        size += len(data)
        count += 1
        if size >= batch_bytes:
            dst.put_many(batch)
            batch, size = [], 0
        if on_block is not None:
            on_block(len(data))
    if batch:
        dst.put_many(batch)
    return count
