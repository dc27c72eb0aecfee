"""node/leaf_ring.py: fixed-size chunks read into reused buffers, stored as views of them.

The ring may read into a slot again only once its leaf is hashed and written: these tests use
tiny rings and a slow background writer, so a slot reused too early would store (or hash) the
wrong bytes, and check every stored block against its CID."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025, AddTuning
from jiaozi_node.ipld.block import verify
from jiaozi_node.node import Node
from jiaozi_node.node.files import AddSession, BlockBatcher, add_file, add_path, add_stream
from jiaozi_node.node.leaf_ring import LeafRing
from jiaozi_node.unixfs.chunker import parse_chunker
from jiaozi_node.unixfs.importer import FileImporter, import_bytes

PROFILES = [
    dataclasses.replace(UNIXFS_V0_2015, name="v0-small", chunker="size-1000", max_links=5),
    dataclasses.replace(UNIXFS_V1_2025, name="v1-small", chunker="size-1024", max_links=5),
    dataclasses.replace(UNIXFS_V0_2015, name="trickle-v0", layout="trickle", chunker="size-1000", max_links=3),
    dataclasses.replace(UNIXFS_V0_2015, name="v1-pb-leaves", cid_version=1, chunker="size-999"),
    dataclasses.replace(UNIXFS_V1_2025, name="sha512-v1", hash_function="sha2-512", chunker="size-4096"),
]


def content(n: int, seed: bytes = b"ring") -> bytes:
    return hashlib.shake_128(seed).digest(n)


class SlowCopyingStore:
    """Copies each block's bytes at put_many time (as the pack engine's pwritev does), slowly, so
    the reader runs ahead; records when each put_many returned."""

    put_copies_data = True

    def __init__(self, delay: float = 0.002) -> None:
        self.blocks: dict[bytes, bytes] = {}
        self.delay = delay
        self.calls = 0
        self.lock = threading.Lock()

    def put_many(self, blocks) -> None:  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        with self.lock:
            for b in blocks:
                self.blocks[bytes(b.cid)] = bytes(b.data)
            self.calls += 1


def run_ring(profile, data_list: list[bytes], *, slots: int, batch_bytes: int, threads: int = 2):  # type: ignore[no-untyped-def]
    store = SlowCopyingStore()
    size = parse_chunker(profile.chunker).size
    roots = []
    with ThreadPoolExecutor(threads) as pool, ThreadPoolExecutor(1) as writer:
        sink = BlockBatcher(store, batch_bytes=batch_bytes, writer=writer, max_batches_in_flight=1)
        ring = LeafRing(sink, profile, size, group=2, slots=slots)
        for data in data_list:
            imp = FileImporter(profile, executor=pool, max_pending=2, group=2)
            roots.append(ring.import_stream(io.BytesIO(data), imp)[0])
        sink.flush()
    return store, roots, ring


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_tiny_ring_same_cids_and_every_block_verifies(profile) -> None:  # type: ignore[no-untyped-def]
    size = parse_chunker(profile.chunker).size
    sizes = [0, 1, size - 1, size, size + 1, 2 * size, 5 * size + 3, 40 * size, 3]
    datas = [content(n, bytes([i])) for i, n in enumerate(sizes)]
    # 7 slots: the ring wraps many times; batches of ~3 chunks written slowly in the background.
    store, roots, ring = run_ring(profile, datas, slots=7, batch_bytes=3 * size)
    for data, root in zip(datas, roots, strict=True):
        assert root == import_bytes(data, profile)[0]
    from jiaozi_node.ipld.cid import CID

    for key, raw in store.blocks.items():
        verify(CID.from_bytes(key), raw)  # a slot reused too early would store other bytes
    _, expected_blocks, _ = zip(*(import_bytes(d, profile) for d in datas), strict=True)
    assert {bytes(b.cid) for bs in expected_blocks for b in bs} == set(store.blocks)
    assert ring.nslots == 7


def test_short_reads_and_one_thread() -> None:
    profile = PROFILES[0]

    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.f = io.BytesIO(data)

        def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
            return self.f.readinto(memoryview(buf)[:333])

    data = content(12345)
    store = SlowCopyingStore(0)
    with ThreadPoolExecutor(1) as pool:
        sink = BlockBatcher(store, batch_bytes=2000)
        ring = LeafRing(sink, profile, 1000, group=3, slots=1)  # raised to the minimum (2 groups + 1)
        root, tsize = ring.import_stream(Pipe(data), FileImporter(profile, executor=pool, max_pending=3, group=3))
        sink.flush()
    assert ring.nslots == 7
    expected, _, link = import_bytes(data, profile)
    assert (root, tsize) == (expected, link.tsize)


def test_wait_written_sends_a_partial_batch() -> None:
    from jiaozi_node.ipld.block import Block
    from jiaozi_node.ipld.cid import CID

    store = SlowCopyingStore(0)
    with ThreadPoolExecutor(1) as writer:
        sink = BlockBatcher(store, batch_bytes=1 << 20, writer=writer)
        sink.put([Block(CID.of(b"a"), b"a"), Block(CID.of(b"b"), b"b")])
        assert sink.written == 0 and store.calls == 0
        sink.wait_written(1)  # in the batch still being filled: sent now, and waited for
        assert sink.written == 2 and store.calls == 1
        sink.wait_written(2)
        assert store.calls == 1
        sink.flush()
    assert store.calls == 1


@pytest.mark.parametrize("profile", [UNIXFS_V0_2015, UNIXFS_V1_2025], ids=lambda p: p.name)
def test_add_uses_the_ring_on_the_pack_store(tmp_path: Path, profile) -> None:  # type: ignore[no-untyped-def]
    node = Node.open(tmp_path / "repo")
    try:
        data = content(3 * (1 << 20) + 5)
        (tmp_path / "f").write_bytes(data)
        tuning = AddTuning(put_batch_bytes=1 << 20)  # several batches, the ring wraps
        with AddSession(node, profile=profile, only_hash=False, pin=True, tuning=tuning) as a:
            with open(tmp_path / "f", "rb", buffering=0) as f:
                cid, _ = a.stream(f)
            a.finish([cid])
            assert a._ring is not None
        assert cid == import_bytes(data, profile)[0]
        assert b"".join(node.files.cat(cid)) == data  # read back: every block verified
        # many files in one session share the ring; the directory matches the plain importer's
        d = tmp_path / "d"
        d.mkdir()
        for i in range(30):
            (d / f"{i:02d}").write_bytes(content(i * 70001, bytes([i])))
        root = add_path(node, [d], recursive=True, profile=profile, tuning=tuning)[-1].cid
        hashed = add_path(node, [d], recursive=True, profile=profile, only_hash=True)[-1].cid
        assert root == hashed
        for i in range(30):
            assert b"".join(node.files.cat(f"{root}/{i:02d}")) == content(i * 70001, bytes([i]))
    finally:
        node.close()


def test_other_stores_take_the_plain_path(tmp_path: Path) -> None:
    Node.open(tmp_path / "repo").repo.set_config("Datastore.Engine", "flatfs")
    node = Node.open(tmp_path / "repo")
    try:
        assert not getattr(node.blocks, "put_copies_data", False)
        with AddSession(node, profile=UNIXFS_V1_2025, only_hash=False, pin=False) as a:
            cid, _ = a.stream(io.BytesIO(content(5000)))
            a.finish([cid])
            assert a._ring is None
        assert add_stream(node, io.BytesIO(content(5000)), only_hash=True).cid == cid
        (tmp_path / "g").write_bytes(content(5000))
        assert add_file(node, tmp_path / "g").cid == cid
    finally:
        node.close()


def test_a_ring_smaller_than_the_pending_chunks_refuses_to_overwrite() -> None:
    profile = PROFILES[1]
    store = SlowCopyingStore(0)
    with ThreadPoolExecutor(1) as pool:
        sink = BlockBatcher(store, batch_bytes=1 << 20)
        ring = LeafRing(sink, profile, 1024, group=1, slots=3)
        gate = threading.Event()
        pool.submit(gate.wait)  # the hashing thread is busy: nothing gets collected
        imp = FileImporter(profile, executor=pool, max_pending=50, group=1)
        try:
            with pytest.raises(RuntimeError, match="smaller than"):
                ring.import_stream(io.BytesIO(content(10 * 1024)), imp)
        finally:
            gate.set()


@pytest.mark.parametrize("profile", PROFILES[:4], ids=lambda p: p.name)
def test_dag_pb_groups_read_with_readv_from_a_file_and_a_pipe(tmp_path: Path, profile) -> None:  # type: ignore[no-untyped-def]
    import os

    from jiaozi_node.node import leaf_ring

    size = parse_chunker(profile.chunker).size
    data = content(9 * size + 17)
    path = tmp_path / "f"
    path.write_bytes(data)
    calls = []
    real = os.readv

    def counting(fd, bufs):  # type: ignore[no-untyped-def]
        calls.append(len(bufs))
        return real(fd, bufs)

    expected = import_bytes(data, profile)[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(leaf_ring.os, "readv", counting)
        with open(path, "rb", buffering=0) as f:
            _, roots, _ = run_ring_on(profile, f)
        assert roots == [expected]
        framed = leaf_ring.leaf_frame_type(profile) is not None
        assert bool(calls) == framed and all(n <= 2 for n in calls)  # group=2: one readv per group
        # A pipe written in small pieces: readv returns short reads, resumed inside a slot.
        r, w = os.pipe()
        writer = threading.Thread(target=lambda: [os.write(w, data[i: i + 777]) for i in range(0, len(data), 777)]
                                  and os.close(w))
        writer.start()
        with open(r, "rb", buffering=0) as f:
            assert isinstance(f, io.FileIO)
            _, roots, _ = run_ring_on(profile, f)
        writer.join()
        assert roots == [expected]
        # More slots per group than readv takes buffers at once (IOV_MAX): several calls.
        big = content(1500 * 16 + 5)
        small = dataclasses.replace(profile, chunker="size-16")
        with open(tmp_path / "g", "wb") as g:
            g.write(big)
        calls.clear()
        with open(tmp_path / "g", "rb", buffering=0) as f:
            _, roots, _ = run_ring_on(small, f, group=1500)
        assert roots == [import_bytes(big, small)[0]]
        assert not framed or max(calls) == 1024


def run_ring_on(profile, f, group: int = 2):  # type: ignore[no-untyped-def]
    store = SlowCopyingStore(0)
    size = parse_chunker(profile.chunker).size
    with ThreadPoolExecutor(2) as pool, ThreadPoolExecutor(1) as writer:
        sink = BlockBatcher(store, batch_bytes=3 * size, writer=writer, max_batches_in_flight=1)
        ring = LeafRing(sink, profile, size, group=group, slots=7)
        root = ring.import_stream(f, FileImporter(profile, executor=pool, max_pending=2, group=group))[0]
        sink.flush()
    from jiaozi_node.ipld.cid import CID

    for key, raw in store.blocks.items():
        verify(CID.from_bytes(key), raw)
    return store, [root], ring
