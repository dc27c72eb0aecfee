"""Index entries as numpy columns (store/pack/entries.py)."""

from __future__ import annotations

import random

import numpy as np

from jiaozi_node.store.pack.entries import Entries
from jiaozi_node.store.pack.format import TOMBSTONE, key_hash


def _key(rng: random.Random, length: int = 34) -> bytes:
    return bytes([0x12, 0x20]) + rng.randbytes(length - 2)


def test_entries_build_sorts_by_hash_and_keeps_every_column():
    rng = random.Random(1)
    rows = [(_key(rng, rng.randint(3, 40)), rng.randrange(9), rng.randrange(1 << 40), rng.randrange(1 << 20),
             rng.choice([0, TOMBSTONE])) for _ in range(200)]
    e = Entries.build(rows)
    assert len(e) == 200 and e.width == max(len(r[0]) for r in rows)
    assert np.all(e.h[1:] >= e.h[:-1])
    got = {e.key(i): (int(e.loc["pack"][i]), int(e.loc["off"][i]), int(e.loc["len"][i]), int(e.loc["flags"][i]))
           for i in range(len(e))}
    assert got == {r[0]: r[1:] for r in rows}
    assert all(int(e.h[i]) == key_hash(e.key(i)) for i in range(len(e)))
    wide = e.widened(60)
    assert wide.width == 60 and [wide.key(i) for i in range(len(e))] == [e.key(i) for i in range(len(e))]
    assert e.widened(e.width) is e
    assert len(Entries.empty()) == 0 and len(Entries.build([])) == 0


def test_take_and_part_keep_rows_together():
    rng = random.Random(2)
    e = Entries.build([(_key(rng, rng.randint(3, 40)), 1, i, i, 0) for i in range(50)])
    idx = np.array([5, 0, 49, 5])
    t = e.take(idx)
    assert [t.key(i) for i in range(4)] == [e.key(int(j)) for j in idx]
    assert t.loc.tolist() == e.loc[idx].tolist() and t.h.tolist() == e.h[idx].tolist()
    p = e.part(10, 20)
    assert [p.key(i) for i in range(10)] == [e.key(i) for i in range(10, 20)]
    assert np.shares_memory(p.h, e.h)  # a view, not a copy
