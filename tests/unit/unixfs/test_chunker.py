"""Chunker specs (Kubo's parser rules) and the fixed-size chunker."""

from __future__ import annotations

import hashlib

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.unixfs.chunker import (
    ChunkerSpec,
    FixedSizeChunker,
    make_chunker,
    max_chunk_bytes,
    parse_chunker,
)

MAX_CHUNK_BYTES = max_chunk_bytes()


def data(n: int) -> bytes:
    return hashlib.shake_128(b"chunker").digest(n)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", ChunkerSpec("size", size=262144)),
        ("default", ChunkerSpec("size", size=262144)),
        ("size-1048576", ChunkerSpec("size", size=1048576)),
        ("rabin", ChunkerSpec("rabin", min=87381, avg=262144, max=393216)),
        ("rabin-1000", ChunkerSpec("rabin", min=333, avg=1000, max=1500)),
        ("rabin-16-64-128", ChunkerSpec("rabin", min=16, avg=64, max=128)),
        ("rabin-min:16-avg:64-max:128", ChunkerSpec("rabin", min=16, avg=64, max=128)),
        ("buzhash", ChunkerSpec("buzhash")),
    ],
)
def test_parse(spec: str, expected: ChunkerSpec) -> None:
    assert parse_chunker(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["size-0", "size--5", "size-x", "size-1-2", f"size-{MAX_CHUNK_BYTES + 1}", "rabin-8-64-128",
     "rabin-64-64-128", "rabin-16-128-128", f"rabin-16-64-{MAX_CHUNK_BYTES + 1}", "rabin-1-2",
     "rabin-max:16-avg:64-max:128", "buzhash-5", "fastcdc", "rabin-30"],
)
def test_parse_rejects(spec: str) -> None:
    with pytest.raises(InvalidInput):
        parse_chunker(spec)


def test_max_chunk_leaves_room_for_framing() -> None:
    assert MAX_CHUNK_BYTES == 2 * 1024 * 1024 - 256
    parse_chunker(f"size-{MAX_CHUNK_BYTES}")


@pytest.mark.parametrize("feed", [1, 7, 1000, 4096, 10_000, 100_000])
def test_fixed_size_any_feeding(feed: int) -> None:
    blob = data(50_000)
    ch = FixedSizeChunker(4096)
    out: list[bytes] = []
    for i in range(0, len(blob), feed):
        out += ch.feed(memoryview(blob)[i : i + feed])
    out += ch.close()
    assert b"".join(out) == blob
    assert [len(c) for c in out] == [4096] * 12 + [50_000 - 12 * 4096]
    assert all(type(c) is bytes for c in out)


def test_fixed_size_exact_multiple_and_empty() -> None:
    ch = FixedSizeChunker(10)
    assert ch.feed(b"a" * 20) == [b"a" * 10, b"a" * 10]
    assert ch.close() == []
    assert FixedSizeChunker(10).close() == []


def test_fixed_size_does_not_keep_the_callers_buffer() -> None:
    buf = bytearray(b"x" * 15)
    ch = FixedSizeChunker(10)
    first = ch.feed(buf)
    buf[:] = b"y" * 15  # the caller reuses its read buffer
    assert first == [b"x" * 10]
    assert ch.close() == [b"x" * 5]


def test_make_chunker_kinds() -> None:
    assert type(make_chunker("size-5")).__name__ == "FixedSizeChunker"
    assert type(make_chunker("rabin")).__name__ == "RabinChunker"
    assert type(make_chunker("buzhash")).__name__ == "BuzhashChunker"
