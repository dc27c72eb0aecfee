"""Kubo's rabin chunker: the vectorised chunker equals a direct port of whyrusleeping/chunker.

Note: Helia's rabin (rabin-wasm, a port of datproject/rabin) is a different algorithm and does
not produce Kubo's chunks (ipfs/js-ipfs-unixfs#50), so the reference here is Go's code itself.
"""

from __future__ import annotations

import hashlib
from functools import cache

import pytest

from jiaozi_node.unixfs import rabin
from jiaozi_node.unixfs.rabin import IPFS_RABIN_POLY, RabinChunker, rabin_reference, split_mask


def data(n: int, seed: bytes = b"rabin") -> bytes:
    return hashlib.shake_128(seed).digest(n)


@cache
def reference(lo: int, avg: int, hi: int, n: int) -> list[int]:
    return rabin_reference(data(n), lo, avg, hi)


def chunk_all(ch: RabinChunker, blob: bytes, feed: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(0, len(blob), feed):
        out += ch.feed(blob[i : i + feed])
    return out + ch.close()


def test_polynomial_and_mask() -> None:
    assert IPFS_RABIN_POLY == 0x3DF305DFB2A805  # degree 53
    assert IPFS_RABIN_POLY.bit_length() - 1 == 53
    assert split_mask(262144) == (1 << 18) - 1
    assert split_mask(1000) == (1 << 9) - 1  # floor(log2(1000)) = 9


@pytest.mark.parametrize(("lo", "avg", "hi", "n"), [
    (16, 64, 128, 30_000), (100, 1000, 3000, 300_000), (87381, 262144, 393216, 3_000_000),
])
@pytest.mark.parametrize("feed", [1 << 22, 65536, 999])
def test_matches_reference(lo: int, avg: int, hi: int, n: int, feed: int) -> None:
    blob = data(n)
    ref = reference(lo, avg, hi, n)
    out = chunk_all(RabinChunker(lo, avg, hi), blob, feed)
    assert [len(c) for c in out] == ref
    assert b"".join(out) == blob
    assert all(lo <= len(c) <= hi for c in out[:-1])


def test_zeros_cut_at_max() -> None:
    # All-zero windows have digest 0, but a cut needs at least `min` bytes: so chunks of `min`.
    out = chunk_all(RabinChunker(16, 64, 128), bytes(1000), 1000)
    assert [len(c) for c in out] == rabin_reference(bytes(1000), 16, 64, 128)


def test_short_inputs() -> None:
    for n in (0, 1, 15, 16, 17, 100):
        blob = data(n)
        out = chunk_all(RabinChunker(16, 64, 128), blob, 7)
        assert [len(c) for c in out] == rabin_reference(blob, 16, 64, 128)


def test_hits_equal_bytewise_fingerprint() -> None:
    blob = data(5000, b"hits")
    mask = split_mask(64)
    hits = set(rabin.rabin_hits(blob, mask).tolist())
    for c in range(16, len(blob) + 1):
        fp = 0
        for b in blob[c - 16 : c]:
            fp = rabin._mod((fp << 8) | b)
        assert ((fp & mask) == 0) == (c in hits)
