from __future__ import annotations

import dataclasses
import json
import os
import random

import pytest

from jiaozi_node.config import STORE_LIMITS
from jiaozi_node.errors import CorruptBlock, NotFound
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.ipld.multihash import SHA2_256, SHA2_512
from jiaozi_node.store.pack import PackBlockstore
from jiaozi_node.store.pack.format import HEADER
from jiaozi_node.testing.blockstore import CHECKS, blocks, flip_byte_in_file

# Tiny limits so that a few hundred blocks exercise flushes, merges, rollovers and compaction.
SMALL = dataclasses.replace(STORE_LIMITS, pack_tail_entries=16, pack_tail_batches=5, pack_max_bytes=20_000,
                            pack_slice_entries=7, pack_batch_entries=50)


def _open(path, **kw):
    return PackBlockstore(path, limits=SMALL, **kw)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check, tmp_path):
    check(lambda: PackBlockstore(tmp_path / "s"))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance_with_tiny_limits(check, tmp_path):
    check(lambda: _open(tmp_path / "s"))


def _assert_matches(store, model):
    assert sorted(store.cids()) == sorted(b.cid for b in model.values())
    assert len(store) == len(model)
    for b in model.values():
        assert store.get(b.cid) == b.data
        assert store.size(b.cid) == len(b.data)


@pytest.mark.parametrize("hash_codes", [(SHA2_256,), (SHA2_256, SHA2_512)], ids=["sha2-256", "mixed-widths"])
def test_random_operations_match_a_model(tmp_path, hash_codes):
    """Puts, deletes, re-puts of deleted blocks, reopen and compaction against a dict; also with
    34- and 66-byte multihashes (sha2-256, sha2-512) mixed in one store."""
    rng = random.Random(5)
    pool = [Block.create(rng.randbytes(rng.randint(1, 3000)), codec=RAW, hash_code=rng.choice(hash_codes))
            for _ in range(300)]
    model: dict[bytes, Block] = {}
    s = _open(tmp_path / "s")
    for step in range(200):
        op = rng.random()
        if op < 0.5:
            bs = rng.sample(pool, rng.randint(1, 20))
            s.put_many(bs)
            model.update((b.cid.multihash, b) for b in bs)
        elif op < 0.8:
            bs = rng.sample(pool, rng.randint(1, 20))
            gone = s.delete_many([b.cid for b in bs])
            assert sorted(gone) == sorted({b.cid for b in bs if b.cid.multihash in model})
            for b in bs:
                model.pop(b.cid.multihash, None)
        elif op < 0.9:
            s.close()
            s = _open(tmp_path / "s")
        else:
            s.compact()
        for b in rng.sample(pool, 10):
            assert s.has(b.cid) == (b.cid.multihash in model)
        if step % 25 == 0:
            _assert_matches(s, model)
    _assert_matches(s, model)
    widths = {r[2] for r in json.loads((tmp_path / "s" / "MANIFEST").read_text())["runs"]}
    assert widths <= {34, 66}
    s.close()


def test_index_stays_logarithmic(tmp_path):
    s = _open(tmp_path / "s")
    for i in range(40):
        s.put_many(blocks(20, 50, seed=i))
    assert len(s) == 800
    assert len(s._run_list) <= 8  # ~log2(800 / 16) + 2
    s.close()


def test_compaction_gives_space_back(tmp_path):
    s = _open(tmp_path / "s")
    bs = blocks(100, 1000)
    for i in range(0, 100, 10):
        s.put_many(bs[i: i + 10])
    packs_before = len(list((tmp_path / "s" / "packs").iterdir()))
    assert packs_before > 3
    s.delete_many([b.cid for b in bs[:90]])
    used = s.disk_usage()
    removed = s.compact()
    assert removed >= packs_before - 2
    assert s.disk_usage() < used
    _assert_matches(s, {b.cid.multihash: b for b in bs[90:]})
    s.close()
    s = _open(tmp_path / "s")
    _assert_matches(s, {b.cid.multihash: b for b in bs[90:]})


def test_two_store_objects_see_each_others_writes(tmp_path):
    """Like two processes: no shared memory, only the files (flock + manifest + pack tail)."""
    a, b = _open(tmp_path / "s"), _open(tmp_path / "s")
    bs = blocks(60, 500)
    for i in range(0, 60, 6):
        a.put_many(bs[i: i + 3])
        b.put_many(bs[i + 3: i + 6])
    for store in (a, b):
        assert sorted(store.cids()) == sorted(x.cid for x in bs)
    a.delete_many([x.cid for x in bs[:30]])
    assert not b.has(bs[0].cid)
    with pytest.raises(NotFound):
        b.get(bs[1].cid)
    b.compact()
    assert a.get(bs[59].cid) == bs[59].data  # a's view is stale: it re-reads the manifest
    _assert_matches(a, {x.cid.multihash: x for x in bs[30:]})
    a.close()
    b.close()


def test_unfinished_batch_is_ignored_then_truncated(tmp_path):
    s = PackBlockstore(tmp_path / "s")
    good = blocks(3, 100)
    s.put_many(good)
    pack = tmp_path / "s" / "packs" / "00000000.pack"
    size = pack.stat().st_size
    s.close()
    # a killed writer: a header and part of a body, no table
    with open(pack, "ab") as f:
        f.write(HEADER.pack(b"JZB1", 2, 34, 0, 5000) + os.urandom(3000))
    s = PackBlockstore(tmp_path / "s")
    assert sorted(s.cids()) == sorted(b.cid for b in good)
    extra = blocks(1, 100, seed=9)[0]
    s.put(extra.cid, extra.data)
    assert s.get(extra.cid) == extra.data
    assert pack.stat().st_size < size + 3000  # the garbage was cut off before appending
    s.close()


def test_corrupt_block_on_disk_raises(tmp_path):
    s = PackBlockstore(tmp_path / "s")
    good, bad = blocks(2, 5000, seed=3)
    s.put_many([good, bad])
    s.close()
    flip_byte_in_file(tmp_path / "s" / "packs" / "00000000.pack", bad.data[2000:2100])
    s = PackBlockstore(tmp_path / "s")
    assert s.get(good.cid) == good.data
    with pytest.raises(CorruptBlock):
        s.get(bad.cid)


def test_hash_collisions_in_the_index_are_resolved_by_key(tmp_path):
    """Two multihashes with the same last 8 bytes (what the index hashes on)."""
    from jiaozi_node.ipld.cid import CID
    from jiaozi_node.store.pack.format import key_hash

    s = _open(tmp_path / "s")
    a, b = blocks(2, 100, seed=11)
    fake = CID(1, RAW, bytes([0x12, 0x20]) + b"\x01" * 24 + a.cid.multihash[-8:])
    assert key_hash(fake.multihash) == key_hash(a.cid.multihash)
    s.put(a.cid, a.data)
    s.put(fake, b.data)  # stored under a key whose bytes do not hash to it: verify would fail
    for i in range(5):
        s.put_many(blocks(20, 50, seed=100 + i))  # push both into runs, merge them
    assert s.has(a.cid) and s.has(fake)
    assert s.get(a.cid) == a.data
    s.delete(fake)
    assert s.has(a.cid) and not s.has(fake)
    s.compact()
    assert s.get(a.cid) == a.data and not s.has(fake)
    s.close()


def test_index_rewrites_grow_logarithmically_and_data_is_written_once(tmp_path, monkeypatch):
    """What keeps writes from degrading as the store grows: block bytes are appended once (packs
    grow by the data plus a small per-batch table), and each index entry is rewritten about
    log2(N / tail) times by merges, not once per commit."""
    import math

    from jiaozi_node.store.pack import upkeep as store_mod

    written = []
    real = store_mod.write_run

    def counting(*a, **kw):
        n = real(*a, **kw)
        written.append(n)
        return n

    monkeypatch.setattr(store_mod, "write_run", counting)
    limits = dataclasses.replace(SMALL, pack_max_bytes=1 << 30, pack_tail_batches=1000)
    s = PackBlockstore(tmp_path / "s", limits=limits)
    n, data = 0, 0
    for i in range(150):
        bs = blocks(20, 100, seed=1000 + i)
        s.put_many(bs)
        n += len(bs)
        data += sum(len(b.data) for b in bs)
    assert len(s) == n == 3000
    bound = n * (math.log2(n / limits.pack_tail_entries) + 2)
    assert sum(written) <= bound, (sum(written), bound)
    pack_bytes = sum(p.stat().st_size for p in (tmp_path / "s" / "packs").iterdir())
    assert pack_bytes == data + 150 * (32 + 20 * (22 + 34))  # data + headers/tables, nothing more
    s.close()


def _packs(root):
    return sorted(p.name for p in (root / "packs").iterdir())


def test_damaged_header_in_the_middle_of_the_tail_loses_only_that_batch(tmp_path):
    """Bit rot in a batch header hides the batches after it from readers; the next writer finds
    them again (by their magic and CRC), keeps the blocks that verify, and seals the pack."""
    s = PackBlockstore(tmp_path / "s")
    a, b, c = blocks(3, 700, seed=21), blocks(3, 700, seed=22), blocks(3, 700, seed=23)
    for bs in (a, b, c):
        s.put_many(bs)
    s.close()
    pack = tmp_path / "s" / "packs" / "00000000.pack"
    raw = bytearray(pack.read_bytes())
    raw[0] ^= 0xFF  # batch a's magic
    pack.write_bytes(bytes(raw))
    s = PackBlockstore(tmp_path / "s")
    d = blocks(1, 700, seed=24)[0]
    s.put(d.cid, d.data)  # the writer recovers b and c, then appends to a new pack
    for blk in (*b, *c, d):
        assert s.get(blk.cid) == blk.data
    for blk in a:
        assert not s.has(blk.cid)
    assert _packs(tmp_path / "s") == ["00000000.pack", "00000001.pack"]
    s.close()
    s = PackBlockstore(tmp_path / "s")
    assert sorted(s.cids()) == sorted(x.cid for x in (*b, *c, d))
    s.close()


def test_a_forged_batch_inside_block_data_is_not_trusted_on_recovery(tmp_path):
    """A hostile block can carry bytes that look like a valid batch (magic, table, CRC). If damage
    makes the writer search for batches, such a forged one is found, but its entries do not verify
    against their hashes, so it cannot plant or shadow a block."""
    from jiaozi_node.ipld.cid import CID
    from jiaozi_node.store.pack.format import encode_header, encode_table

    ghost = blocks(1, 500, seed=31)[0]  # never stored: the forged entry claims its key
    payload = b"not the ghost's bytes"
    header = encode_header(1, len(ghost.cid.multihash), len(payload))
    s = PackBlockstore(tmp_path / "s")
    filler = blocks(1, 300, seed=32)[0]
    s.put(filler.cid, filler.data)
    pack = tmp_path / "s" / "packs" / "00000000.pack"
    hostile_at = pack.stat().st_size + HEADER.size  # where the hostile block's bytes will start
    forged = header + payload + encode_table(header, [ghost.cid.multihash], [hostile_at + HEADER.size],
                                             [len(payload)], [0])
    hostile = Block.create(forged, codec=RAW)
    s.put(hostile.cid, hostile.data)
    s.close()
    raw = bytearray(pack.read_bytes())
    raw[hostile_at - HEADER.size] ^= 0xFF  # damage the header of the batch holding the hostile block
    pack.write_bytes(bytes(raw))
    s = PackBlockstore(tmp_path / "s")
    trigger = blocks(1, 100, seed=33)[0]
    s.put(trigger.cid, trigger.data)  # the writer searches past the damage and finds the forgery
    assert not s.has(ghost.cid)
    assert s.has(filler.cid) and s.has(trigger.cid) and not s.has(CID(1, RAW, hostile.cid.multihash))
    s.put(ghost.cid, ghost.data)
    assert s.get(ghost.cid) == ghost.data
    s.close()


def test_compact_with_nothing_to_reclaim_starts_no_new_pack(tmp_path):
    s = PackBlockstore(tmp_path / "s")
    s.put_many(blocks(10, 100))
    before = _packs(tmp_path / "s")
    for _ in range(3):
        assert s.compact() == 0
    assert _packs(tmp_path / "s") == before
    s.close()


def test_vectorised_lookups_agree_with_key_by_key_ones(tmp_path):
    """has_many / put_many dedupe of >= pack_vector_lookup_min keys take the numpy path: same
    answers as single lookups, across runs, tombstones, re-puts and a forged hash collision."""
    from jiaozi_node.ipld.cid import CID

    limits = dataclasses.replace(SMALL, pack_merge_ratio=0, pack_vector_lookup_min=64)  # no merges
    s = PackBlockstore(tmp_path / "s", limits=limits)
    bs = blocks(400, 60, seed=41)
    for i in range(0, 400, 40):
        s.put_many(bs[i: i + 40])
    s.delete_many([b.cid for b in bs[::3]])  # tombstones, some flushed into runs below
    s.put_many(bs[:30])  # some deleted ones come back
    collider = CID(1, RAW, bytes([0x12, 0x20]) + b"\x07" * 24 + bs[1].cid.multihash[-8:])
    s.put(collider, b"x")
    absent = [b.cid for b in blocks(100, 60, seed=42)]
    probe = [b.cid for b in bs] + absent + [collider]
    assert len(s._run_list) >= 5 and len(probe) >= limits.pack_vector_lookup_min
    expected = [s.has(c) for c in probe]  # one key at a time
    assert s.has_many(probe) == expected
    assert expected.count(True) == len(set(range(400)) - set(range(0, 400, 3)) | set(range(30))) + 1
    s.close()


def test_use_after_close_is_a_clear_error(tmp_path):
    from jiaozi_node.errors import RepoError

    s = PackBlockstore(tmp_path / "s")
    b = blocks(1)[0]
    s.put(b.cid, b.data)
    s.close()
    s.close()  # idempotent
    for call in (lambda: s.get(b.cid), lambda: s.has(b.cid), lambda: s.put(b.cid, b.data), lambda: list(s.cids())):
        with pytest.raises(RepoError, match="closed"):
            call()


def test_body_writeback_starts_every_kick_bytes_and_views_are_stored(tmp_path, monkeypatch):
    """A commit hands each `pack_writeback_kick_bytes` of its body to the disk as written (the
    final fdatasync still makes it durable); blocks may be memoryviews (put_copies_data)."""
    from jiaozi_node.store.pack import store as pack_store

    if pack_store._START_WRITEBACK is None:
        pytest.skip("no posix_fadvise writeback hint on this platform")
    calls: list[tuple[int, int]] = []
    real = os.posix_fadvise
    monkeypatch.setattr(pack_store.os, "posix_fadvise",
                        lambda fd, off, n, advice: (calls.append((off, n)), real(fd, off, n, advice))[1])
    bs = blocks(10, 3000)
    lim = dataclasses.replace(STORE_LIMITS, pack_writeback_kick_bytes=7000)
    s = PackBlockstore(tmp_path / "s", limits=lim)
    assert s.put_copies_data
    buf = bytearray(b"".join(b.data for b in bs))
    views = [Block(b.cid, memoryview(buf)[i * 3000: (i + 1) * 3000]) for i, b in enumerate(bs)]
    s.put_many(views)
    buf[:] = bytes(len(buf))  # the store kept no reference to the caller's buffer
    # header (24 B) + 3 blocks reach 7000 B: ranges of 9024, 9000, 9000 B, the last block unkicked
    assert [n for _, n in calls] == [24 + 9000, 9000, 9000]
    assert [off for off, _ in calls] == [0, 9024, 18024]
    s.close()
    s = PackBlockstore(tmp_path / "s", limits=lim)
    assert all(s.get(b.cid) == b.data for b in bs)
    calls.clear()
    s.close()
    s = PackBlockstore(tmp_path / "t", limits=dataclasses.replace(STORE_LIMITS, pack_writeback_kick_bytes=0))
    s.put_many(bs)
    t = PackBlockstore(tmp_path / "u", sync=False)
    t.put_many(bs)
    assert calls == []  # 0 turns it off, and so does sync=False (nothing waits for the disk)
    s.close()
    t.close()
