"""Merging index entries: newest wins per key, optionally dropping tombstones, in h-slices so
memory stays bounded however large the index is. Pure (arrays in, arrays out)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .entries import Entries
from .format import TOMBSTONE


def _dedupe(e: Entries) -> np.ndarray:
    """Indices (into `e`, which is h-sorted with older entries first among equal h) to keep:
    the newest entry of each key."""
    n = len(e)
    if n < 2:
        return np.arange(n)
    same = e.h[1:] == e.h[:-1]
    if not same.any():
        return np.arange(n)
    keep = np.ones(n, bool)
    first = np.r_[True, ~same]
    gid = np.cumsum(first) - 1
    size = np.bincount(gid)
    starts = np.nonzero(first)[0]
    # Groups of two (the usual case: a key and its newer version, from an overwrite, a tombstone
    # or a compaction move): drop the older one if the keys are equal.
    i = np.nonzero(same & (size[gid[:-1]] == 2))[0]
    eq = np.all(e.keys[i] == e.keys[i + 1], axis=1) & (e.loc["klen"][i] == e.loc["klen"][i + 1])
    keep[i[eq]] = False
    # Larger groups (a 64-bit hash collision, or many versions): key by key, newest first.
    for g in np.nonzero(size > 2)[0]:
        seen: set[bytes] = set()
        for j in range(int(starts[g] + size[g]) - 1, int(starts[g]) - 1, -1):
            k = e.key(j)
            keep[j] = k not in seen
            seen.add(k)
    return np.nonzero(keep)[0]


def merge(sources: Sequence[Entries], *, drop_tombstones: bool) -> Entries:
    """One h-sorted, deduplicated Entries from `sources` given oldest first."""
    sources = [s for s in sources if len(s)]
    if not sources:
        return Entries.empty()
    width = max(s.width for s in sources)
    sources = [s.widened(width) for s in sources]
    allh = np.concatenate([s.h for s in sources])
    loc = np.concatenate([s.loc for s in sources])
    keys = np.concatenate([s.keys for s in sources])
    e = Entries(allh, loc, keys)
    if len(sources) > 1:
        e = e.take(np.argsort(allh, kind="stable"))
    keep = _dedupe(e)
    if len(keep) < len(e):
        e = e.take(keep)
    if drop_tombstones:
        dead = (e.loc["flags"] & TOMBSTONE) != 0
        if dead.any():
            e = e.take(np.nonzero(~dead)[0])
    return e


def sliced(sources: Sequence[Entries], *, drop_tombstones: bool, slice_entries: int) -> Iterator[Entries]:
    """`merge` of h-sorted sources, produced in consecutive h-ranges of about `slice_entries`
    entries each (boundaries are chosen on the largest source)."""
    sources = [s for s in sources if len(s)]
    total = sum(len(s) for s in sources)
    if not total:
        return
    nslices = max(1, -(-total // slice_entries))
    biggest = max(sources, key=len)
    cuts = [int(biggest.h[(len(biggest) * k) // nslices]) for k in range(1, nslices)]
    bounds = sorted(set(cuts))
    starts = [0] * len(sources)
    for b in [*bounds, None]:
        part = []
        for si, s in enumerate(sources):
            end = len(s) if b is None else int(np.searchsorted(s.h, np.uint64(b), side="left"))
            part.append(s.part(starts[si], end))
            starts[si] = end
        out = merge(part, drop_tombstones=drop_tombstones)
        if len(out):
            yield out
