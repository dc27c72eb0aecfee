"""The one retrieval path, with fake block sources (no network)."""

from __future__ import annotations

import math
import os

import pytest
import trio

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.errors import HashMismatch, NotFound, Timeout
from jiaozi_node.ipld.block import Block, VerifiedBlock, verify_block
from jiaozi_node.ipld.cid import CID, RAW
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.exporter import read_file
from jiaozi_node.unixfs.importer import import_bytes


class Source:
    """Serves from a dict after `delay` seconds; `lie` returns wrong bytes."""

    def __init__(self, name: str, blocks: dict[CID, bytes], *, delay: float = 0.0,
                 lie: bool = False) -> None:
        self.name = name
        self.blocks = blocks
        self.delay = delay
        self.lie = lie
        self.calls: list[CID] = []

    async def fetch(self, cid: CID) -> bytes:
        self.calls.append(cid)
        await trio.sleep(self.delay)
        if cid not in self.blocks:
            await trio.sleep(math.inf)
        return b"wrong bytes" if self.lie else self.blocks[cid]


BLK = Block.create(b"payload", codec=RAW)


async def test_local_first_and_no_source_raises_not_found():
    store = MemoryBlockstore()
    store.put(BLK.cid, BLK.data)
    src = Source("s", {})
    assert await Retrieval(store, [src]).get(BLK.cid) == BLK.data and src.calls == []
    with pytest.raises(NotFound):
        await Retrieval(MemoryBlockstore()).get(BLK.cid)


async def test_fetched_block_verified_stored_and_announced():
    store = MemoryBlockstore()
    announced: list[CID] = []
    r = Retrieval(store, [Source("s", {BLK.cid: BLK.data})], on_stored=announced.extend)
    assert await r.get(BLK.cid) == BLK.data
    assert store.get(BLK.cid) == BLK.data and announced == [BLK.cid]


async def test_race_fastest_correct_source_wins_liar_never_does(autojump_clock):
    store = MemoryBlockstore()
    liar = Source("liar", {BLK.cid: BLK.data}, delay=0.0, lie=True)
    slow = Source("slow", {BLK.cid: BLK.data}, delay=5.0)
    r = Retrieval(store, [liar, slow], timeout_s=30)
    assert await r.get(BLK.cid) == BLK.data
    assert trio.current_time() >= 5.0
    assert store.get(BLK.cid) == BLK.data


async def test_liars_fail_fast_and_nothing_is_stored():
    store = MemoryBlockstore()
    for sources in ([Source("liar", {BLK.cid: BLK.data}, lie=True)],
                    [Source("a", {BLK.cid: BLK.data}, lie=True), Source("b", {BLK.cid: BLK.data}, lie=True)]):
        with pytest.raises(HashMismatch):
            await Retrieval(store, sources, timeout_s=3).get(BLK.cid)
    assert not store.has(BLK.cid)


async def test_nobody_answers_times_out(autojump_clock):
    r = Retrieval(MemoryBlockstore(), [Source("a", {}), Source("b", {})], timeout_s=3)
    with pytest.raises(Timeout, match="within 3s"):
        await r.get(BLK.cid)


async def test_identity_cid_needs_no_source():
    cid = CID.of(b"inline", codec=RAW, hash_code=0)
    assert await Retrieval(MemoryBlockstore()).get(cid) == b"inline"


async def test_fetch_dag_walks_local_and_remote_blocks_and_batches_writes():
    data = os.urandom(3 * 1024 * 1024)
    root, blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    remote = {b.cid: b.data for b in blocks}
    store = MemoryBlockstore()
    store.put(blocks[0].cid, blocks[0].data)  # one block already local
    batches: list[int] = []
    src = Source("s", remote)
    r = Retrieval(store, [src], on_stored=lambda cids: batches.append(len(cids)),
                  batch_bytes=1024 * 1024)
    walked = await r.fetch_dag(root)
    assert walked == len(blocks)
    assert len(src.calls) == len(blocks) - 1
    assert b"".join(read_file(store, root)) == data
    assert sum(batches) == len(blocks) - 1 and len(batches) < len(blocks) - 1


async def test_fetch_dag_does_not_read_local_raw_leaves():
    """A raw block has no links: a walk over a mostly-local DAG (a pull of a small change) asks
    the store whether each leaf is there, never reads and re-hashes it; missing ones are fetched."""
    data = os.urandom(3 * 1024 * 1024 + 5)
    root, blocks, _ = import_bytes(data, UNIXFS_V1_2025)
    leaves = [b for b in blocks if b.cid.codec == RAW]
    assert len(leaves) > 2

    class CountingStore(MemoryBlockstore):
        def __init__(self) -> None:
            super().__init__()
            self.reads: list[CID] = []

        def get(self, cid):  # type: ignore[no-untyped-def]
            self.reads.append(cid)
            return super().get(cid)

        def size(self, cid):  # type: ignore[no-untyped-def]
            if not self.has(cid):  # as the engines do: from the index, without reading the bytes
                raise NotFound(str(cid))
            return len(super().get(cid))  # (uncounted: not a read Retrieval made)

    store = CountingStore()
    for b in blocks:
        if b.cid != leaves[0].cid:
            store.put(b.cid, b.data)
    src = Source("s", {b.cid: b.data for b in blocks})
    sizes: dict[CID, int] = {}
    walked = await Retrieval(store, [src]).fetch_dag(root, on_block=lambda c, n: sizes.setdefault(c, n))
    assert walked == len(blocks) and src.calls == [leaves[0].cid]  # only the missing leaf travels
    assert not {b.cid for b in leaves[1:]} & set(store.reads)  # no local leaf read
    assert sizes == {b.cid: len(b.data) for b in blocks}, (root, sizes)
    assert b"".join(read_file(store, root)) == data


async def test_fetch_dag_names_each_wants_place_in_reading_order():
    """Each fetch runs with its block's breadth-first place as `want_order` (bitswap priorities
    follow it), however trio scheduled the workers."""
    from jiaozi_node.bitswap.session import current_want_order
    from jiaozi_node.ipld import codecs

    data = os.urandom(3 * 1024 * 1024)
    root, blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    remote = {b.cid: b.data for b in blocks}
    order: dict[CID, int | None] = {}

    class Recording(Source):
        async def fetch(self, cid: CID) -> bytes:
            order[cid] = current_want_order()
            return await super().fetch(cid)

    await Retrieval(MemoryBlockstore(), [Recording("s", remote)]).fetch_dag(root)
    expected, level = [], [root]
    while level:  # breadth-first, children in link order
        expected.extend(level)
        level = [c for p in level for c in codecs.links(p, remote[p])]
    assert [order[c] for c in expected] == list(range(len(expected)))
    assert current_want_order() is None


async def test_fetch_dag_timeout_names_the_block(autojump_clock):
    data = os.urandom(600 * 1024)
    root, blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    remote = {b.cid: b.data for b in blocks}
    missing = next(b.cid for b in blocks if b.cid != root)
    del remote[missing]
    store = MemoryBlockstore()
    with pytest.raises(Timeout, match=str(missing)):
        await Retrieval(store, [Source("s", remote)], timeout_s=2).fetch_dag(root)
    assert store.has(root)  # what was verified before the failure is kept


async def test_thread_getter_from_worker_thread():
    store = MemoryBlockstore()
    r = Retrieval(store, [Source("s", {BLK.cid: BLK.data}, delay=0.01)])
    getter = r.thread_getter()
    assert await trio.to_thread.run_sync(getter.get, BLK.cid) == BLK.data
    assert store.has(BLK.cid)


class SlowStore(MemoryBlockstore):
    """put_many takes `delay` s (in the worker thread, like an fsync'd LMDB commit)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.batches: list[int] = []

    def put_many(self, blocks):  # type: ignore[no-untyped-def]
        import time

        blocks = list(blocks)
        time.sleep(self.delay)
        self.batches.append(sum(len(b.data) for b in blocks))
        super().put_many(blocks)


async def test_fetch_dag_writes_in_background_large_batches_bounded_memory():
    data = os.urandom(6 * 1024 * 1024)
    root, blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    store = SlowStore(0.02)
    batch = 1024 * 1024
    r = Retrieval(store, [Source("s", {b.cid: b.data for b in blocks})], batch_bytes=batch,
                  concurrency=4)
    peak = 0
    orig_get = r.get

    async def get(cid, **kw):  # type: ignore[no-untyped-def]
        nonlocal peak
        out = await orig_get(cid, **kw)
        peak = max(peak, r._pending_bytes)
        return out

    r.get = get  # type: ignore[method-assign]
    assert await r.fetch_dag(root) == len(blocks)
    assert b"".join(read_file(store, root)) == data
    # no convoy of tiny writes: every write but the last is a full batch
    assert all(n >= batch for n in store.batches[:-1]), store.batches
    # verified-but-unwritten bytes stay bounded: two batches plus the blocks in flight
    assert peak <= 2 * batch + 4 * 256 * 1024 + 1024, peak
    assert not r._pending and r._pending_bytes == 0


class DiscardStore(MemoryBlockstore):
    """Keeps only the CIDs it was given (so the test holds the only other reference to the bytes)."""

    def put_many(self, blocks):  # type: ignore[no-untyped-def]
        for b in blocks:
            super().put(b.cid, b"")


async def test_idle_fetch_dag_workers_do_not_keep_the_blocks_they_walked():
    """Each worker used to keep its last block in a local while it waited for the next CID:
    with `concurrency` workers a whole file stayed in memory until the fetch ended."""
    import sys

    data = os.urandom(4 * 1024 * 1024)
    root, blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    last = blocks[-2].cid if blocks[-1].cid == root else blocks[-1].cid
    handed_out: list[bytes] = []
    release = trio.Event()

    class Tracking(Source):
        async def fetch(self, cid: CID) -> bytes:
            if cid == last:
                await release.wait()
            out = bytes(bytearray(self.blocks[cid]))  # a fresh object only we and Retrieval see
            handed_out.append(out)
            return out

    store = DiscardStore()
    r = Retrieval(store, [Tracking("s", {b.cid: b.data for b in blocks})], concurrency=64, batch_bytes=1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(r.fetch_dag, root)
        with trio.fail_after(10):
            while len(handed_out) < len(blocks) - 1 or r._pending:  # noqa: ASYNC110 - progress, no event
                await trio.sleep(0.01)
        held = [sys.getrefcount(b) - 3 for b in handed_out]  # minus our list, `b` and the argument
        release.set()
    assert held == [0] * len(held)


class VerifiedSource(Source):
    """Hands over `VerifiedBlock`s, as bitswap and the gateway source do."""

    async def fetch(self, cid: CID) -> VerifiedBlock:  # type: ignore[override]
        return verify_block(cid, await super().fetch(cid))


async def test_verified_block_is_not_hashed_again(monkeypatch):
    import jiaozi_node.node.retrieval as retrieval_mod

    calls: list[CID] = []
    real = retrieval_mod.verify
    monkeypatch.setattr(retrieval_mod, "verify", lambda cid, data: (calls.append(cid), real(cid, data)))
    src = VerifiedSource("checked", {BLK.cid: BLK.data})
    assert await Retrieval(MemoryBlockstore(), [src]).get(BLK.cid) == BLK.data and calls == []
    assert await Retrieval(MemoryBlockstore(), [Source("plain", {BLK.cid: BLK.data})]).get(BLK.cid)
    assert calls == [BLK.cid]


async def test_a_flag_on_a_source_no_longer_skips_the_check():
    """The old `hash_checked = True` flag (or any attribute) cannot make raw bytes trusted."""
    src = Source("claims", {BLK.cid: BLK.data}, lie=True)
    src.hash_checked = True  # type: ignore[attr-defined]
    with pytest.raises(HashMismatch):
        await Retrieval(MemoryBlockstore(), [src]).get(BLK.cid)


async def test_a_verified_block_of_another_cid_is_refused():
    other = Block.create(b"other", codec=RAW)

    class Swapper(Source):
        async def fetch(self, cid: CID) -> VerifiedBlock:  # type: ignore[override]
            return verify_block(other.cid, other.data)

    with pytest.raises(HashMismatch, match="another CID"):
        await Retrieval(MemoryBlockstore(), [Swapper("swap", {})]).get(BLK.cid)


def test_only_ipld_block_makes_a_verified_block():
    with pytest.raises(TypeError):
        VerifiedBlock(BLK.cid.buffer, b"forged")  # type: ignore[call-arg]
    vb = verify_block(BLK.cid, BLK.data)
    with pytest.raises(AttributeError):
        vb.data = b"changed"  # type: ignore[misc]
    with pytest.raises(HashMismatch):
        verify_block(BLK.cid, b"forged")


async def test_from_defaults_takes_the_nodes_limits_and_bounds_verified_blocks():
    from dataclasses import replace

    from jiaozi_node.config import BitswapLimits, Defaults, IpldLimits
    from jiaozi_node.errors import LimitExceeded

    defaults = replace(Defaults(), ipld=IpldLimits(max_block_bytes=len(BLK.data) - 1),
                       bitswap=BitswapLimits(fetch_timeout_s=3.0, session_max_in_flight=5,
                                             store_batch_bytes=1234))
    r = Retrieval.from_defaults(MemoryBlockstore(), [VerifiedSource("v", {BLK.cid: BLK.data})], defaults)
    assert (r.timeout_s, r.concurrency, r.batch_bytes, r.max_block_bytes) == (3.0, 5, 1234, len(BLK.data) - 1)
    assert Retrieval.from_defaults(MemoryBlockstore(), [], defaults, timeout_s=9.0).timeout_s == 9.0
    with pytest.raises(LimitExceeded, match="limit"):
        await r.get(BLK.cid)


async def test_add_verified_blocks_are_written_with_the_fetched_ones():
    """Blocks proven another way (VerifiedBlock, e.g. a sync history answer) join the next
    batch: no write of their own, readable at once, announced like fetched ones."""
    from jiaozi_node.ipld.block import hash_block

    store = SlowStore(0.0)
    announced: list = []
    r = Retrieval(store, [Source("s", {BLK.cid: BLK.data})], on_stored=announced.extend)
    vb = hash_block(b"\x01\x55\x12\x20", b"other")
    r.add_verified([vb])
    assert not store.has(vb.cid) and await r.get(vb.cid) == b"other"  # from the batch
    await r.get(BLK.cid)  # a fetch: both written in one batch
    assert store.has(vb.cid) and store.has(BLK.cid) and len(store.batches) == 1
    assert set(announced) == {vb.cid, BLK.cid}
