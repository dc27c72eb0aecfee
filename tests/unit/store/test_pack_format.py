"""The pack engine's on-disk formats (store/pack/format.py): batches and the manifest, as pure
functions, then what a PackBlockstore does with damaged ones on disk (a clear one-line JzfsError,
or the damage ignored safely; never a raw json/struct/numpy error, never wrong bytes)."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from jiaozi_node.config import STORE_LIMITS
from jiaozi_node.errors import CorruptBlock, InvalidInput, JzfsError, NotFound, RepoError
from jiaozi_node.store.pack import PackBlockstore
from jiaozi_node.store.pack.format import (
    HEADER,
    TABLE_FIXED,
    TOMBSTONE,
    TRAILER,
    BatchHeader,
    Row,
    check_key,
    decode_header,
    decode_table,
    encode_header,
    encode_table,
    key_hash,
    parse_manifest,
)
from jiaozi_node.testing.blockstore import blocks

MAX = 100  # the most entries a header may claim in these tests


def _key(rng: random.Random, length: int = 34) -> bytes:
    return bytes([0x12, 0x20]) + rng.randbytes(length - 2)


def _batch(rows: list[tuple[bytes, bytes | None]], pos: int = 0) -> tuple[bytes, list[int]]:
    """A whole batch as the writer lays it out at `pos`, and the offsets of its blocks."""
    keys = [k for k, _ in rows]
    datas = [d for _, d in rows if d is not None]
    header = encode_header(len(rows), max(len(k) for k in keys), sum(len(d) for d in datas))
    offsets, lengths, flags = [], [], []
    cursor = pos + HEADER.size
    for _, d in rows:
        offsets.append(cursor if d is not None else 0)
        lengths.append(0 if d is None else len(d))
        flags.append(0 if d is not None else TOMBSTONE)
        cursor += lengths[-1]
    return header + b"".join(datas) + encode_table(header, keys, offsets, lengths, flags), offsets


def _decode(raw: bytes, pos: int = 0, pack: int = 7, max_entries: int = MAX) -> list[Row] | None:
    hdr = decode_header(raw, max_entries)
    if hdr is None:
        return None
    table_at = HEADER.size + hdr.body_len
    return decode_table(raw[: HEADER.size], hdr, raw[table_at:], pack, pos + HEADER.size)


def _raw_table(header: bytes, h: list[int], off: list[int], length: list[int], flags: list[int],
               klen: list[int], keys: bytes) -> bytes:
    """A table with a valid CRC over whatever columns it is given (to forge inconsistent ones)."""
    table = b"".join((np.asarray(h, "<u8").tobytes(), np.asarray(off, "<u8").tobytes(),
                      np.asarray(length, "<u4").tobytes(), np.asarray(flags, "u1").tobytes(),
                      np.asarray(klen, "u1").tobytes(), keys))
    return table + TRAILER.pack(zlib.crc32(header + table), b"JZE1")


# ------------------------------------------------------------------------------ keys


def test_key_hash_is_the_last_8_bytes_little_endian():
    key = bytes(range(40))
    assert key_hash(key) == int.from_bytes(key[-8:], "little")
    assert key_hash(b"\x01\x02") == 0x0201 << 48  # short keys are zero-padded in front
    assert key_hash(b"x" * 30 + key[-8:]) == key_hash(key)


def test_check_key_bounds():
    check_key(b"\x01")
    check_key(b"\x01" * 255)
    for bad in (b"", b"\x01" * 256):
        with pytest.raises(InvalidInput):
            check_key(bad)


# ------------------------------------------------------------------------------ batches


def test_batch_round_trip():
    rng = random.Random(2)
    rows: list[tuple[bytes, bytes | None]] = [(_key(rng, rng.randint(2, 60)), rng.randbytes(rng.randint(0, 500)))
                                              for _ in range(30)]
    rows += [(_key(rng), None) for _ in range(5)]  # tombstones
    pos = 12345
    raw, offsets = _batch(rows, pos)
    hdr = decode_header(raw, MAX)
    assert hdr == BatchHeader(35, max(len(k) for k, _ in rows), sum(len(d) for _, d in rows if d is not None))
    assert hdr.total_len == len(raw)
    assert hdr.table_len == 35 * (TABLE_FIXED + hdr.width)
    e = _decode(raw, pos, pack=7)
    assert e is not None and len(e) == 35
    for i, (key, data) in enumerate(rows):
        got_key, pack, off, length, flags = e[i]
        assert got_key == key and pack == 7
        if data is None:
            assert flags & TOMBSTONE
        else:
            assert flags == 0 and (off, length) == (offsets[i], len(data))
            assert raw[off - pos: off - pos + length] == data
    table = raw[HEADER.size + hdr.body_len:]
    assert list(struct.unpack_from("<35Q", table)) == [key_hash(k) for k, _ in rows]  # the h column


def test_an_empty_body_and_a_one_byte_key():
    raw, _ = _batch([(b"\x01", None)])
    e = _decode(raw)
    assert e == [(b"\x01", 7, 0, 0, TOMBSTONE)]


def test_decode_header_rejects_what_is_not_a_batch():
    good = encode_header(3, 34, 100)
    assert decode_header(good, MAX) == BatchHeader(3, 34, 100)
    assert decode_header(encode_header(MAX, 34, 0), MAX) is not None  # n at the limit is fine
    bad = [
        good[:-1],                                       # short
        b"",
        b"JZB2" + good[4:],                              # bad magic
        HEADER.pack(b"JZB1", 3, 34, 1, 100),             # reserved not 0
        encode_header(MAX + 1, 34, 0),                   # n over the limit
        encode_header(3, 0, 100),                        # width 0
        encode_header(3, 256, 100),                      # width over 255
        encode_header(2**32 - 1, 2**32 - 1, 2**64 - 1),
    ]
    for raw in bad:
        assert decode_header(raw, MAX) is None, raw


def _valid() -> tuple[bytes, BatchHeader]:
    rng = random.Random(3)
    raw, _ = _batch([(_key(rng), rng.randbytes(50)) for _ in range(4)] + [(_key(rng, 20), None)], pos=0)
    hdr = decode_header(raw, MAX)
    assert hdr is not None
    return raw, hdr


def test_decode_table_rejects_short_long_and_garbled_tables():
    raw, hdr = _valid()
    head, table = raw[: HEADER.size], raw[HEADER.size + hdr.body_len:]
    assert decode_table(head, hdr, table, 0, HEADER.size) is not None
    for cut in range(len(table)):  # every truncation
        assert decode_table(head, hdr, table[:cut], 0, HEADER.size) is None
    assert decode_table(head, hdr, table + b"\0", 0, HEADER.size) is None
    for i in range(len(table)):  # any flipped byte of the table or trailer: CRC or magic
        bad = bytearray(table)
        bad[i] ^= 0x40
        assert decode_table(head, hdr, bytes(bad), 0, HEADER.size) is None, i
    for i in range(len(head)):  # the header is covered by the CRC too
        bad = bytearray(head)
        bad[i] ^= 0x01
        assert decode_table(bytes(bad), hdr, table, 0, HEADER.size) is None, i
    assert decode_table(head, hdr, table[:-4] + b"JZE2", 0, HEADER.size) is None


def test_decode_table_rejects_entries_pointing_outside_the_body_even_with_a_valid_crc():
    key = bytes([0x12, 0x20]) + bytes(32)
    body_start, body_len = 1000, 100
    end = body_start + body_len
    header = encode_header(1, len(key), body_len)
    hdr = decode_header(header, MAX)
    assert hdr is not None

    def dec(off: int, length: int, flags: int = 0) -> list[Row] | None:
        return decode_table(header, hdr, encode_table(header, [key], [off], [length], [flags]), 0, body_start)

    assert dec(body_start, body_len) is not None
    assert dec(end - 1, 1) is not None
    assert dec(end, 0) is not None
    for off, length in [(body_start - 1, 1), (end - 1, 2), (end + 1, 0), (0, 10), (end, 1),
                        (2**64 - 5, 10), (2**64 - 1, 2**32 - 1), (2**63, 0), (body_start, 2**32 - 1)]:
        assert dec(off, length) is None, (off, length)
    assert dec(2**64 - 5, 10, TOMBSTONE) is not None  # a tombstone's place is never read


def test_decode_table_rejects_bad_key_lengths_with_a_valid_crc():
    header = encode_header(2, 4, 0)
    hdr = decode_header(header, MAX)
    assert hdr is not None
    keys = b"\x01\x02\x03\x04" * 2

    def dec(klen: list[int]) -> list[Row] | None:
        t = _raw_table(header, [1, 2], [0, 0], [0, 0], [TOMBSTONE] * 2, klen, keys)
        return decode_table(header, hdr, t, 0, HEADER.size)

    assert dec([4, 1]) is not None
    assert dec([0, 4]) is None
    assert dec([4, 5]) is None
    assert dec([255, 4]) is None


def test_decode_table_rejects_a_body_past_any_file_offset():
    key = b"\x01" * 10
    header = encode_header(1, len(key), 2**64 - 1)
    hdr = decode_header(header, MAX)
    assert hdr is not None
    table = encode_table(header, [key], [HEADER.size], [5], [0])
    assert decode_table(header, hdr, table, 0, HEADER.size) is None


def test_garbage_never_raises():
    """Random bytes and random mutations of a valid batch: decoding says None or yields entries
    that all point inside the batch's body, never an exception."""
    rng = random.Random(4)
    raw, _ = _valid()
    inputs = [rng.randbytes(rng.randint(0, 300)) for _ in range(500)]
    inputs += [b"JZB1" + rng.randbytes(rng.randint(0, 300)) for _ in range(500)]
    for _ in range(1000):
        m = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            m[rng.randrange(len(m))] = rng.randrange(256)
        inputs.append(bytes(m[: rng.choice([len(m), rng.randrange(len(m) + 1)])]))
    for data in inputs:
        for pos in (0, 5000):
            e = _decode(data, pos)
            if e is None:
                continue
            hdr = decode_header(data, MAX)
            assert hdr is not None
            for _, _, off, length, flags in e:
                assert flags & TOMBSTONE or pos + HEADER.size <= off <= off + length <= pos + HEADER.size + hdr.body_len


# ------------------------------------------------------------------------------ manifest

GOOD = {"format": 1, "runs": [[3, 10, 34], [5, 2, 36]], "active": 2, "tail_start": 4096, "next_run": 6}


def test_manifest_round_trip():
    assert parse_manifest(json.dumps(GOOD).encode()) == GOOD
    empty = {"format": 1, "runs": [], "active": 0, "tail_start": 0, "next_run": 0}
    assert parse_manifest(json.dumps(empty).encode()) == empty


@pytest.mark.parametrize("raw", [
    b"", b"{", b"\xff\xfe", b"null", b"[]", b"42", b'"x"',
    json.dumps({**GOOD, "format": 2}).encode(),
    json.dumps({k: v for k, v in GOOD.items() if k != "active"}).encode(),
    json.dumps({k: v for k, v in GOOD.items() if k != "runs"}).encode(),
    json.dumps({**GOOD, "runs": 5}).encode(),
    json.dumps({**GOOD, "runs": [5]}).encode(),
    json.dumps({**GOOD, "runs": ["abc"]}).encode(),
    json.dumps({**GOOD, "runs": [[1, 2]]}).encode(),
    json.dumps({**GOOD, "runs": [[1, 2, 3, 4]]}).encode(),
    json.dumps({**GOOD, "runs": [{"a": 1, "b": 2, "c": 3}]}).encode(),
    json.dumps({**GOOD, "runs": [[1, "2", 3]]}).encode(),
    json.dumps({**GOOD, "runs": [[1, 2.5, 3]]}).encode(),
    json.dumps({**GOOD, "runs": [[1, 0, 3]]}).encode(),          # an empty run is never named
    json.dumps({**GOOD, "runs": [[1, 2, 0]]}).encode(),          # key width 0
    json.dumps({**GOOD, "runs": [[1, 2, 256]]}).encode(),
    json.dumps({**GOOD, "runs": [[1, 2, 3], [1, 2, 3]]}).encode(),
    json.dumps({**GOOD, "runs": [[6, 2, 3]]}).encode(),          # not below next_run
    json.dumps({**GOOD, "active": -1}).encode(),
    json.dumps({**GOOD, "active": True}).encode(),
    json.dumps({**GOOD, "active": None}).encode(),
    json.dumps({**GOOD, "tail_start": 2**64}).encode(),
    b'{"format": 1, "runs": [], "active": 0, "tail_start": Infinity, "next_run": 0}',
    b'{"format": 1, "runs": [], "active": 0, "tail_start": NaN, "next_run": 0}',
])
def test_damaged_manifests_raise_one_repo_error(raw):
    with pytest.raises(RepoError, match="MANIFEST is damaged"):
        parse_manifest(raw)


def test_every_truncation_and_mutation_of_a_manifest_is_parsed_or_rejected_cleanly():
    raw = json.dumps(GOOD).encode()
    rng = random.Random(5)
    cases = [raw[:i] for i in range(len(raw))]
    for _ in range(1000):
        m = bytearray(raw)
        m[rng.randrange(len(m))] = rng.choice(b'0123456789[]{},:"-e.x \xff')
        cases.append(bytes(m))
    for c in cases:
        try:
            m = parse_manifest(c)
        except RepoError as exc:
            assert "\n" not in str(exc)
        else:
            assert set(m) == set(GOOD)


# ------------------------------------------------------------------------------ damage on disk

SMALL = dataclasses.replace(STORE_LIMITS, pack_tail_entries=16, pack_tail_batches=5, pack_max_bytes=20_000,
                            pack_slice_entries=7, pack_batch_entries=50)


def _filled(path: Path, n: int = 100, size: int = 1000) -> list:
    s = PackBlockstore(path, limits=SMALL)
    bs = blocks(n, size)
    for i in range(0, n, 10):
        s.put_many(bs[i: i + 10])
    s.close()
    return bs


def _manifest(path: Path) -> dict:
    return json.loads((path / "MANIFEST").read_text())


def _check_reads(s: PackBlockstore, bs: list, present: set) -> None:
    """Every block is either returned intact or reported missing/corrupt by a JzfsError; the ones in
    `present` are returned."""
    for b in bs:
        try:
            assert s.get(b.cid) == b.data
        except (NotFound, CorruptBlock):
            assert b.cid not in present
    for b in bs:
        if b.cid in present:
            assert s.get(b.cid) == b.data


@pytest.mark.parametrize("damage", ["truncated", "empty", "binary", "not-json-object", "run-missing-field"])
def test_a_damaged_manifest_is_a_repo_error_on_open(tmp_path, damage):
    _filled(tmp_path / "s")
    m = tmp_path / "s" / "MANIFEST"
    raw = m.read_bytes()
    m.write_bytes({"truncated": raw[: len(raw) // 2], "empty": b"", "binary": os.urandom(64),
                   "not-json-object": b"[1, 2]",
                   "run-missing-field": raw.replace(b'"runs": [[', b'"runs": [["x", ')}[damage])
    with pytest.raises(RepoError, match="MANIFEST is damaged"):
        PackBlockstore(tmp_path / "s", limits=SMALL)


def test_a_manifest_damaged_while_open_is_a_repo_error_on_the_next_read(tmp_path):
    bs = _filled(tmp_path / "s")
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    assert s.get(bs[0].cid) == bs[0].data
    good = (tmp_path / "s" / "MANIFEST").read_bytes()
    (tmp_path / "s" / "MANIFEST").write_bytes(b'{"format": 1, "runs": [[')
    s._changed()  # as if another process had committed
    for _ in range(2):  # not just once: the stale view is not served as if nothing happened
        with pytest.raises(RepoError):
            s.get(bs[0].cid)
        with pytest.raises(RepoError):
            s.has(bs[0].cid)
    (tmp_path / "s" / "MANIFEST").write_bytes(good)  # repaired
    assert s.get(bs[0].cid) == bs[0].data
    s.close()


def test_a_missing_manifest_never_reinitialises_a_store_holding_data(tmp_path):
    """Re-creating the manifest would start over at pack 0 and truncate pack 1 on rollover."""
    _filled(tmp_path / "s")
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "s" / "packs").iterdir()}
    assert len(sizes) > 2
    (tmp_path / "s" / "MANIFEST").unlink()
    with pytest.raises(RepoError, match="MANIFEST is missing"):
        PackBlockstore(tmp_path / "s", limits=SMALL)
    assert {p.name: p.stat().st_size for p in (tmp_path / "s" / "packs").iterdir()} == sizes


def test_a_store_whose_creation_was_interrupted_opens(tmp_path):
    """Killed between creating the empty first pack and writing the manifest."""
    (tmp_path / "s" / "packs").mkdir(parents=True)
    (tmp_path / "s" / "packs" / "00000000.pack").touch()
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    b = blocks(1)[0]
    s.put(b.cid, b.data)
    assert s.get(b.cid) == b.data
    s.close()


def test_a_missing_active_pack_is_a_repo_error(tmp_path):
    _filled(tmp_path / "s")
    (tmp_path / "s" / "packs" / f"{_manifest(tmp_path / 's')['active']:08d}.pack").unlink()
    with pytest.raises(RepoError, match="is missing"):
        PackBlockstore(tmp_path / "s", limits=SMALL)


def test_a_missing_sealed_pack_makes_its_blocks_corrupt_not_the_store(tmp_path):
    bs = _filled(tmp_path / "s")
    (tmp_path / "s" / "packs" / "00000001.pack").unlink()
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    errors = 0
    for b in bs:
        try:
            assert s.get(b.cid) == b.data
        except CorruptBlock as exc:
            assert "pack 1 is missing" in str(exc)
            errors += 1
    assert 0 < errors < len(bs)
    s.close()


def test_a_sealed_pack_truncated_mid_batch_gives_corrupt_blocks_never_wrong_bytes(tmp_path):
    bs = _filled(tmp_path / "s")
    pack = tmp_path / "s" / "packs" / "00000001.pack"
    os.truncate(pack, pack.stat().st_size // 2 + 17)
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    corrupt = 0
    for b in bs:
        try:
            assert s.get(b.cid) == b.data
        except CorruptBlock:
            corrupt += 1
    assert corrupt > 0
    s.close()


def _tail_store(path: Path) -> tuple[list, list, Path]:
    """A store whose active pack holds two batches in its tail (not yet in a run)."""
    s = PackBlockstore(path)
    first, second = blocks(3, 700, seed=1), blocks(3, 900, seed=2)
    s.put_many(first)
    s.put_many(second)
    s.close()
    assert _manifest(path)["runs"] == []
    return first, second, path / "packs" / "00000000.pack"


def test_the_active_pack_truncated_mid_batch_loses_that_batch_only(tmp_path):
    first, second, pack = _tail_store(tmp_path / "s")
    os.truncate(pack, pack.stat().st_size - 5)  # into the second batch's trailer
    s = PackBlockstore(tmp_path / "s")
    assert sorted(s.cids()) == sorted(b.cid for b in first)
    _check_reads(s, first + second, {b.cid for b in first})
    for b in second:
        with pytest.raises(NotFound):
            s.get(b.cid)
    s.put_many(second)  # written again after the cut
    _check_reads(s, first + second, {b.cid for b in first + second})
    s.close()
    s = PackBlockstore(tmp_path / "s")
    _check_reads(s, first + second, {b.cid for b in first + second})
    s.close()


@pytest.mark.parametrize("garbage", ["random", "zeros", "header-only", "copy-of-last-batch", "forged-table"])
def test_garbage_after_the_last_batch_is_ignored_then_cut(tmp_path, garbage):
    first, second, pack = _tail_store(tmp_path / "s")
    raw = pack.read_bytes()
    size = len(raw)
    hdr0 = decode_header(raw, STORE_LIMITS.pack_batch_entries)
    assert hdr0 is not None
    last = raw[hdr0.total_len:]
    if garbage == "forged-table":  # a well-formed batch whose entry points before its own body
        key = bytes(first[0].cid.multihash)
        header = encode_header(1, len(key), 4)
        extra = header + b"ABCD" + encode_table(header, [key], [HEADER.size], [4], [0])
    else:
        extra = {"random": os.urandom(5000), "zeros": bytes(5000),
                 "header-only": encode_header(2, 34, 10) + b"x" * 3,
                 "copy-of-last-batch": last}[garbage]
    with open(pack, "ab") as f:
        f.write(extra)
    s = PackBlockstore(tmp_path / "s")
    assert sorted(s.cids()) == sorted(b.cid for b in first + second)
    assert len(s) == 6
    _check_reads(s, first + second, {b.cid for b in first + second})
    third = blocks(2, 300, seed=3)
    s.put_many(third)
    assert pack.stat().st_size < size + len(extra) + 2000  # cut before appending
    s.close()
    s = PackBlockstore(tmp_path / "s")
    _check_reads(s, first + second + third, {b.cid for b in first + second + third})
    assert len(s) == 8
    s.close()


def test_garbage_appended_to_a_sealed_pack_is_ignored(tmp_path):
    bs = _filled(tmp_path / "s")
    with open(tmp_path / "s" / "packs" / "00000000.pack", "ab") as f:
        f.write(os.urandom(3000))
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    _check_reads(s, bs, {b.cid for b in bs})
    assert len(s) == len(bs)
    s.close()


def test_damage_reports_are_one_line_jzfs_errors(tmp_path):
    """What the CLI prints: `Error: <message>` of a JzfsError, so one line and no traceback."""
    _filled(tmp_path / "s")
    (tmp_path / "s" / "MANIFEST").write_bytes(struct.pack("<Q", 12345))
    with pytest.raises(JzfsError) as info:
        PackBlockstore(tmp_path / "s", limits=SMALL)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


def _three_batches(path: Path) -> tuple[list[list], Path, list[int]]:
    """A store whose active pack holds three batches in its tail, and where each batch starts."""
    s = PackBlockstore(path)
    groups = [blocks(3, 600, seed=10 + i) for i in range(3)]
    for g in groups:
        s.put_many(g)
    s.close()
    pack = path / "packs" / "00000000.pack"
    raw = pack.read_bytes()
    starts, pos = [], 0
    while pos < len(raw):
        starts.append(pos)
        hdr = decode_header(raw[pos:], STORE_LIMITS.pack_batch_entries)
        assert hdr is not None
        pos += hdr.total_len
    assert len(starts) == 3 and pos == len(raw)
    return groups, pack, starts


def _flip(path: Path, at: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0x10
    path.write_bytes(bytes(raw))


def test_a_damaged_batch_between_committed_ones_loses_only_its_own_blocks(tmp_path):
    """A flipped bit in a committed batch's table used to hide every later batch of the tail, and the
    next write cut them all off the pack for good."""
    groups, pack, starts = _three_batches(tmp_path / "s")
    hdr = decode_header(pack.read_bytes(), STORE_LIMITS.pack_batch_entries)
    assert hdr is not None
    _flip(pack, HEADER.size + hdr.body_len + 3)  # the first batch's table
    size = pack.stat().st_size
    s = PackBlockstore(tmp_path / "s")
    survivors = groups[1] + groups[2]
    assert sorted(s.cids()) == sorted(b.cid for b in survivors)
    _check_reads(s, [b for g in groups for b in g], {b.cid for b in survivors})
    extra = blocks(2, 100, seed=99)
    s.put_many(extra)
    assert pack.stat().st_size > size  # appended after the third batch, nothing cut
    s.close()
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    for i in range(6):  # flushes the tail into runs, merges, rolls over
        s.put_many(blocks(10, 500, seed=200 + i))
    _check_reads(s, [b for g in groups for b in g] + extra, {b.cid for b in survivors + extra})
    s.compact(dead_ratio=0.0)
    _check_reads(s, [b for g in groups for b in g] + extra, {b.cid for b in survivors + extra})
    s.close()


def test_a_damaged_last_batch_is_ignored_and_cut(tmp_path):
    groups, pack, starts = _three_batches(tmp_path / "s")
    _flip(pack, pack.stat().st_size - 12)  # the last batch's table
    s = PackBlockstore(tmp_path / "s")
    assert sorted(s.cids()) == sorted(b.cid for b in groups[0] + groups[1])
    s.put_many(blocks(1, 100, seed=98))
    assert pack.stat().st_size < starts[2] + 1000
    _check_reads(s, [b for g in groups for b in g], {b.cid for b in groups[0] + groups[1]})
    s.close()


def test_a_damaged_block_in_the_tail_is_corrupt_not_wrong(tmp_path):
    groups, pack, starts = _three_batches(tmp_path / "s")
    _flip(pack, starts[1] + HEADER.size + 5)  # a byte of the second batch's first block
    s = PackBlockstore(tmp_path / "s")
    assert len(s) == 9
    with pytest.raises(CorruptBlock):
        s.get(groups[1][0].cid)
    _check_reads(s, [b for g in groups for b in g], {b.cid for b in groups[0] + groups[1][1:] + groups[2]})
    s.close()


def test_a_replaced_manifest_is_noticed_even_with_the_same_inode_size_and_mtime(tmp_path, monkeypatch):
    """ext4 reuses the inode of the manifest before last, and without fine-grained timestamps two
    replacements within a clock tick share the mtime: a store going by (inode, mtime, size) kept a
    stale view, and as a writer wrote a manifest over runs it had never seen."""
    root = tmp_path / "s"
    a, b = PackBlockstore(root, limits=SMALL), PackBlockstore(root, limits=SMALL)
    first = blocks(5, 500, seed=1)
    a.put_many(first)
    assert a.has(first[0].cid)  # `a` has loaded the manifest as it is now
    frozen = os.stat(root / "MANIFEST")
    real_stat = os.stat
    as_seen_by_a = [False]

    def stat(path, *args, **kwargs):  # to `a`, every later manifest looks like that one
        if as_seen_by_a[0] and str(path).endswith("MANIFEST"):
            return frozen
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    later = [blocks(10, 700, seed=10 + i) for i in range(8)]  # flushes, merges and rollovers
    for g in later:
        b.put_many(g)
    assert _manifest(root)["active"] > 1
    mine = blocks(40, 600, seed=50)
    as_seen_by_a[0] = True
    for g in later:
        assert all(a.has(x.cid) for x in g)
    for i in range(0, 40, 10):
        a.put_many(mine[i: i + 10])
    as_seen_by_a[0] = False
    monkeypatch.undo()
    a.close()
    b.close()
    s = PackBlockstore(root, limits=SMALL)
    everything = first + [x for g in later for x in g] + mine
    _check_reads(s, everything, {x.cid for x in everything})
    assert len(s) == len(everything)
    s.close()


def test_the_active_pack_truncated_below_its_indexed_part(tmp_path):
    """Blocks already flushed to a run point past the cut: corrupt, never wrong; writes go on."""
    s = PackBlockstore(tmp_path / "s", limits=dataclasses.replace(SMALL, pack_max_bytes=200_000))
    bs = blocks(60, 1000)
    for i in range(0, 60, 10):
        s.put_many(bs[i: i + 10])
    s.close()
    m = _manifest(tmp_path / "s")
    assert m["runs"] and m["tail_start"] > 0
    pack = tmp_path / "s" / "packs" / f"{m['active']:08d}.pack"
    os.truncate(pack, m["tail_start"] // 2)
    s = PackBlockstore(tmp_path / "s", limits=SMALL)
    corrupt = 0
    for b in bs:
        try:
            assert s.get(b.cid) == b.data
        except CorruptBlock:
            corrupt += 1
    assert 0 < corrupt < len(bs)
    more = blocks(10, 500, seed=5)
    s.put_many(more)
    _check_reads(s, bs + more, {b.cid for b in more})
    s.close()
