"""go-ipfs-chunker buzhash: the vectorised chunker equals a direct port of boxo's loop."""

from __future__ import annotations

import hashlib

import pytest

from jiaozi_node.unixfs.buzhash import (
    BUZ_MAX,
    BUZ_MIN,
    BYTEHASH,
    BuzhashChunker,
    buzhash_hits,
    buzhash_reference,
)


def data(n: int, seed: bytes = b"buz") -> bytes:
    return hashlib.shake_128(seed).digest(n)


def chunk_all(blob: bytes, feed: int) -> list[bytes]:
    ch = BuzhashChunker()
    out: list[bytes] = []
    for i in range(0, len(blob), feed):
        out += ch.feed(blob[i : i + feed])
    return out + ch.close()


def test_table_is_boxos() -> None:
    assert len(BYTEHASH) == 256
    assert int(BYTEHASH[0]) == 0x6236E7D5 and int(BYTEHASH[255]) == 0x5C41857D
    assert len(set(int(x) for x in BYTEHASH)) == 256


BLOB = data(3 * 1024 * 1024 + 12345)
REF = buzhash_reference(BLOB)


@pytest.mark.parametrize("feed", [1 << 22, 1 << 20, 100_000, 7777])
def test_matches_reference(feed: int) -> None:
    blob, ref = BLOB, REF
    out = chunk_all(blob, feed)
    assert [len(c) for c in out] == ref
    assert b"".join(out) == blob
    assert len(ref) > 5 and all(BUZ_MIN <= n <= BUZ_MAX for n in ref[:-1])


def test_zeros_cut_at_max_and_short_tail() -> None:
    blob = bytes(BUZ_MAX * 2 + 1000)
    assert [len(c) for c in chunk_all(blob, 1 << 20)] == buzhash_reference(blob)


@pytest.mark.parametrize("n", [0, 1, BUZ_MIN - 1, BUZ_MIN, BUZ_MIN + 1, BUZ_MAX, BUZ_MAX + 1])
def test_boundaries(n: int) -> None:
    blob = data(n, b"edge")
    assert [len(c) for c in chunk_all(blob, 65536)] == buzhash_reference(blob)


def test_hits_equal_rolling_state() -> None:
    blob = data(3000, b"hits")
    mask = (1 << 4) - 1
    hits = set(buzhash_hits(blob, mask=mask).tolist())
    tab = [int(x) for x in BYTEHASH]
    for c in range(32, len(blob) + 1):
        h = 0
        for b in blob[c - 32 : c]:
            h = (((h << 1) | (h >> 31)) & 0xFFFFFFFF) ^ tab[b]
        assert ((h & mask) == 0) == (c in hits)
