"""Newest-wins merging of index entries (store/pack/merge.py), against a dict model.

Sources are given oldest first and are each h-sorted with one entry per key (like runs and the
tail). Keys are drawn from a pool rigged with 64-bit hash collisions: keys that share their last 8
bytes (the index hash), in pairs and in groups of 3+, and keys of different lengths with the same
hash."""

from __future__ import annotations

import random

import numpy as np
import pytest

from jiaozi_node.store.pack.entries import Entries
from jiaozi_node.store.pack.format import TOMBSTONE, key_hash
from jiaozi_node.store.pack.merge import merge, sliced

Row = tuple[bytes, int, int, int, int]  # key, pack, off, len, flags


def _pool(rng: random.Random, n: int = 120) -> list[bytes]:
    keys = [bytes([0x12, 0x20]) + rng.randbytes(32) for _ in range(n)]
    # collisions: same last 8 bytes, different prefixes (and lengths)
    for _ in range(10):
        tail = rng.randbytes(8)
        for _ in range(rng.choice([2, 2, 3, 4, 6])):
            keys.append(rng.randbytes(rng.choice([8, 9, 20, 34, 40])).rjust(8, b"\0")[:-8] + tail)
    keys.append(b"\x01" * 8)  # the same h as ...
    keys.append(b"\x00\x01" + b"\x01" * 8)  # ... this longer key
    keys.append(b"\x01\x01" + b"\x01" * 8)
    return list(dict.fromkeys(keys))


def _sources(rng: random.Random, pool: list[bytes], nsrc: int, size: int) -> list[list[Row]]:
    out = []
    for s in range(nsrc):
        keys = rng.sample(pool, min(len(pool), rng.randint(0, size)))
        out.append([(k, s, rng.randrange(1 << 40), rng.randrange(1 << 20),
                     TOMBSTONE if rng.random() < 0.25 else 0) for k in keys])
    return out


def _model(sources: list[list[Row]], drop: bool) -> dict[bytes, tuple[int, int, int, int]]:
    m: dict[bytes, tuple[int, int, int, int]] = {}
    for rows in sources:
        for key, pack, off, length, flags in rows:
            m[key] = (pack, off, length, flags)
    return {k: v for k, v in m.items() if not (drop and v[3] & TOMBSTONE)}


def _as_dict(e: Entries) -> dict[bytes, tuple[int, int, int, int]]:
    out = {}
    for i in range(len(e)):
        off, length, pack, flags, _ = e.loc[i].tolist()
        key = e.key(i)
        assert key not in out, f"{key.hex()} kept twice"
        assert int(e.h[i]) == key_hash(key)
        out[key] = (pack, off, length, flags)
    return out


def _check_sorted(e: Entries) -> None:
    assert np.all(e.h[1:] >= e.h[:-1])


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("drop", [False, True])
def test_merge_matches_a_dict_model(seed, drop):
    rng = random.Random(seed)
    pool = _pool(rng)
    rows = _sources(rng, pool, rng.randint(1, 6), rng.choice([3, 40, 150]))
    out = merge([Entries.build(r) for r in rows], drop_tombstones=drop)
    _check_sorted(out)
    assert _as_dict(out) == _model(rows, drop)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("drop", [False, True])
def test_slices_give_the_same_result_as_one_merge(seed, drop):
    rng = random.Random(1000 + seed)
    pool = _pool(rng)
    srcs = [Entries.build(r) for r in _sources(rng, pool, rng.randint(1, 5), rng.choice([5, 60, 150]))]
    whole = merge(srcs, drop_tombstones=drop)
    for slice_entries in (1, 2, 7, 33, 10_000):
        parts = list(sliced(srcs, drop_tombstones=drop, slice_entries=slice_entries))
        assert all(len(p) for p in parts)
        for a, b in zip(parts, parts[1:], strict=False):  # consecutive, disjoint h-ranges
            assert int(a.h[-1]) < int(b.h[0])
        if not parts:
            assert len(whole) == 0
            continue
        joined = Entries(np.concatenate([p.h for p in parts]), np.concatenate([p.loc for p in parts]),
                         np.concatenate([p.widened(whole.width).keys for p in parts]))
        assert np.array_equal(joined.h, whole.h)
        assert _as_dict(joined) == _as_dict(whole)


def test_newest_wins_and_tombstones_are_dropped_only_when_asked():
    a, b = b"\x12\x20" + b"a" * 32, b"\x12\x20" + b"b" * 32
    old = Entries.build([(a, 0, 100, 10, 0), (b, 0, 200, 20, 0)])
    new = Entries.build([(a, 1, 0, 0, TOMBSTONE), (b, 2, 300, 30, 0)])
    kept = _as_dict(merge([old, new], drop_tombstones=False))
    assert kept == {a: (1, 0, 0, TOMBSTONE), b: (2, 300, 30, 0)}
    assert _as_dict(merge([old, new], drop_tombstones=True)) == {b: (2, 300, 30, 0)}
    # the order of sources is the age: reversed, the older versions win
    assert _as_dict(merge([new, old], drop_tombstones=True)) == {a: (0, 100, 10, 0), b: (0, 200, 20, 0)}


def test_keys_sharing_their_last_8_bytes_are_kept_apart():
    tail = b"\x07" * 8
    keys = [b"\x12\x20" + bytes([i]) * 24 + tail for i in range(5)] + [tail, b"\x00" + tail]
    assert len({key_hash(k) for k in keys}) == 1
    sources = [Entries.build([(k, s, 1000 * s + i, 1, 0) for i, k in enumerate(keys) if (i + s) % 2 == 0])
               for s in range(4)]
    out = _as_dict(merge(sources, drop_tombstones=False))
    assert set(out) == set(keys)
    for i, k in enumerate(keys):
        newest = max(s for s in range(4) if (i + s) % 2 == 0)
        assert out[k][:2] == (newest, 1000 * newest + i)
    # a pair of colliding keys (a group of two that are NOT the same key)
    pair = _as_dict(merge([Entries.build([(keys[0], 0, 1, 1, 0)]), Entries.build([(keys[1], 1, 2, 2, 0)])],
                          drop_tombstones=True))
    assert pair == {keys[0]: (0, 1, 1, 0), keys[1]: (1, 2, 2, 0)}
    # a key and a zero-padded longer key: the same padded bytes, told apart by length
    short, long_ = b"\x05" * 8, b"\x05" * 8 + b"\x00"
    both = merge([Entries.build([(short, 0, 1, 1, 0)]), Entries.build([(long_, 1, 2, 2, 0)])], drop_tombstones=True)
    assert len(both) == 2 or key_hash(short) != key_hash(long_)
    assert _as_dict(both) == {short: (0, 1, 1, 0), long_: (1, 2, 2, 0)}


def test_many_versions_of_one_key_in_many_sources():
    k = b"\x12\x20" + b"k" * 32
    srcs = [Entries.build([(k, s, s, 1, TOMBSTONE if s % 2 else 0)]) for s in range(9)]
    assert _as_dict(merge(srcs, drop_tombstones=True)) == {k: (8, 8, 1, 0)}
    assert _as_dict(merge(srcs[:8], drop_tombstones=True)) == {}
    assert _as_dict(merge(srcs[:8], drop_tombstones=False)) == {k: (7, 7, 1, TOMBSTONE)}


def test_sources_of_different_key_widths_and_empty_ones():
    short = Entries.build([(b"\x01\x02\x03", 0, 1, 1, 0)])
    wide = Entries.build([(b"\x12\x20" + b"w" * 60, 1, 2, 2, 0)])
    out = merge([Entries.empty(), short, Entries.empty(5), wide], drop_tombstones=True)
    assert out.width == 62
    assert _as_dict(out) == {b"\x01\x02\x03": (0, 1, 1, 0), b"\x12\x20" + b"w" * 60: (1, 2, 2, 0)}
    assert len(merge([], drop_tombstones=True)) == 0
    assert len(merge([Entries.empty()], drop_tombstones=False)) == 0
    assert list(sliced([Entries.empty(), Entries.empty()], drop_tombstones=True, slice_entries=3)) == []
    # everything deleted: no empty slices come out
    dead = Entries.build([(bytes([i]) * 10, 0, 0, 0, TOMBSTONE) for i in range(1, 30)])
    assert list(sliced([dead], drop_tombstones=True, slice_entries=4)) == []


def test_merge_does_not_change_its_sources():
    rng = random.Random(9)
    rows = _sources(rng, _pool(rng), 3, 50)
    srcs = [Entries.build(r) for r in rows]
    before = [(s.h.copy(), s.loc.copy(), s.keys.copy()) for s in srcs]
    merge(srcs, drop_tombstones=True)
    list(sliced(srcs, drop_tombstones=True, slice_entries=5))
    for s, (h, loc, keys) in zip(srcs, before, strict=True):
        assert np.array_equal(s.h, h) and np.array_equal(s.loc, loc) and np.array_equal(s.keys, keys)


def test_read_only_sources_like_mapped_runs():
    rng = random.Random(10)
    rows = _sources(rng, _pool(rng), 3, 60)
    srcs = []
    for r in rows:
        e = Entries.build(r)
        for arr in (e.h, e.loc, e.keys):
            arr.flags.writeable = False
        srcs.append(e)
    assert _as_dict(merge(srcs, drop_tombstones=True)) == _model(rows, True)
    joined: dict = {}
    for p in sliced(srcs, drop_tombstones=True, slice_entries=8):
        joined.update(_as_dict(p))
    assert joined == _model(rows, True)
