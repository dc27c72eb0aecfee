"""Walking commit history: log order, ancestry, merge base (pure, over a commit loader).

`load(cid) -> Commit` raises NotFound for a missing commit and CodecError/SignatureError for a bad
one; those propagate. Every walk keeps a visited set (so even a forged cycle cannot loop) and
stops with LimitExceeded after `max_depth` commits (config.VersioningLimits.max_history_depth).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from ..config import VERSIONING_LIMITS
from ..errors import LimitExceeded, NotFound
from ..ipld.cid import CID
from .objects import Commit

Loader = Callable[[CID], Commit]


def _too_deep(max_depth: int) -> LimitExceeded:
    return LimitExceeded(f"history deeper than {max_depth} commits (cycle or absurd depth); refusing")


def walk(load: Loader, heads: list[CID], *, max_depth: int = VERSIONING_LIMITS.max_history_depth,
         stop: set[CID] | None = None) -> Iterator[tuple[CID, Commit]]:
    """Commits reachable from `heads`, newest first (timestamp, then discovery order).

    Commits in `stop` (and their ancestors, unless reachable otherwise) are not visited.
    """
    stop = stop or set()
    seen: set[CID] = set()
    heap: list[tuple[int, int, CID, Commit]] = []
    counter = 0
    for h in heads:
        if h not in seen and h not in stop:
            seen.add(h)
            hc = load(h)
            heapq.heappush(heap, (-hc.timestamp, counter, h, hc))
            counter += 1
    emitted = 0
    while heap:
        _, _, cid, commit = heapq.heappop(heap)
        emitted += 1
        if emitted > max_depth:
            raise _too_deep(max_depth)
        yield cid, commit
        for p in commit.parents:
            if p in seen or p in stop:
                continue
            seen.add(p)
            pc = load(p)
            heapq.heappush(heap, (-pc.timestamp, counter, p, pc))
            counter += 1


def ancestors(load: Loader, head: CID, *, max_depth: int = VERSIONING_LIMITS.max_history_depth) -> set[CID]:
    """`head` and every commit reachable from it."""
    seen = {head}
    stack = [head]
    while stack:
        c = stack.pop()
        for p in load(c).parents:
            if p not in seen:
                seen.add(p)
                if len(seen) > max_depth:
                    raise _too_deep(max_depth)
                stack.append(p)
    return seen


def is_ancestor(load: Loader, ancestor: CID, descendant: CID, *,
                max_depth: int = VERSIONING_LIMITS.max_history_depth) -> bool:
    """True if `ancestor` is `descendant` or reachable from it."""
    if ancestor == descendant:
        return True
    return ancestor in ancestors(load, descendant, max_depth=max_depth)


def merge_base(load: Loader, a: CID, b: CID, *,
               max_depth: int = VERSIONING_LIMITS.max_history_depth) -> CID:
    """The best common ancestor of `a` and `b`: one that is not an ancestor of another common
    ancestor (the newest if several). Raises NotFound when the histories are unrelated."""
    common = ancestors(load, a, max_depth=max_depth) & ancestors(load, b, max_depth=max_depth)
    if not common:
        raise NotFound(f"{a} and {b} have no common ancestor")
    # Everything reachable from a parent of a common ancestor is redundant (one linear pass).
    redundant: set[CID] = set()
    stack = [p for c in common for p in load(c).parents]
    while stack:
        c = stack.pop()
        if c in redundant:
            continue
        redundant.add(c)
        stack.extend(load(c).parents)
    best = [c for c in common if c not in redundant]
    return max(best, key=lambda c: (load(c).timestamp, c.buffer))
