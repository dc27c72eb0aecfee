"""git's ancestry suffixes on a ref or commit CID (pure): `main~2`, `main^`, `main^2`, `v1~1^2`.

    split_ancestry("main~2^2") -> ("main", ((1, 2), (2, 1)))     # (parent index, times)
    walk_ancestry(parents_of, cid, steps) -> the commit they name

As in git: `~N` follows the first parent N times (`~` = `~1`); `^N` takes the N-th parent once
(`^` = `^1`, `^0` = the commit itself). Ref names cannot contain `~` or `^`
(`versioning/names.check_ref_name`), so a suffix is never part of a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from ..config import VERSIONING_LIMITS
from ..errors import InvalidInput, NotFound

_SUFFIX = re.compile(r"(?:[~^]\d*)+$")
_STEP = re.compile(r"([~^])(\d*)")

T = TypeVar("T")


def split_ancestry(spec: str, *, max_steps: int = VERSIONING_LIMITS.max_ancestry_steps
                   ) -> tuple[str, tuple[tuple[int, int], ...]]:
    """`REF~N^M…` -> (REF, ((parent index, times), …)); no suffix -> (spec, ()).
    A count over `max_steps` (VersioningLimits.max_ancestry_steps) is refused."""
    m = _SUFFIX.search(spec)
    if m is None or m.start() == 0:
        return spec, ()
    steps = []
    for kind, digits in _STEP.findall(m.group(0)):
        n = int(digits) if digits else 1
        if n > max_steps:
            raise InvalidInput(f"{spec!r}: {kind}{n} is more than {max_steps} steps "
                               "(VersioningLimits.max_ancestry_steps)")
        steps.append((1, n) if kind == "~" else (n, 1))
    return spec[:m.start()], tuple(steps)


def walk_ancestry(parents_of: Callable[[T], Sequence[T]], start: T,
                  steps: Sequence[tuple[int, int]], *, spec: str = "") -> T:
    """Follow `steps` from `start`; `parents_of(cid)` gives a commit's parents in order.
    NotFound naming the spec when a commit has no such parent (git: "unknown revision")."""
    cid = start
    for index, times in steps:
        if index == 0:
            continue
        for _ in range(times):
            parents = parents_of(cid)
            if len(parents) < index:
                raise NotFound(f"{spec or cid!s}: commit {cid} has no parent number {index}"
                               if index > 1 else f"{spec or cid!s}: goes past the first commit {cid}")
            cid = parents[index - 1]
    return cid
