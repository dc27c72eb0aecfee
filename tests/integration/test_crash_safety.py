"""Crash safety of every blockstore engine: a writer process is `kill -9`ed at random moments.

After each kill the store is reopened and checked:
- every listed block's stored bytes hash to its key, read WITHOUT verification (so the engine
  itself never kept a partial block), and `get` (which verifies) returns them;
- every batch whose `put_many` returned before the kill is complete (committed data survives);
- the store still accepts writes, and the next round crashes it again (recovery over recovery).
The seed is printed so a failing round can be replayed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from jiaozi_node.ipld import multihash
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.store.open import ENGINES

ROUNDS = 6
MAX_ROUNDS = 4 * ROUNDS  # extra rounds a slow (loaded) machine may need before the writer got going

WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[4])
    from crash_blocks import batch, open_engine
    store = open_engine(sys.argv[1], sys.argv[2])
    rnd = int(sys.argv[3])
    print("ready", flush=True)
    i = 0
    while True:
        if i % 5 == 4 and hasattr(store, "compact"):   # rewrite and delete packs too
            store.compact(dead_ratio=0.2)
        if i % 7 == 6:                       # delete an older batch now and then (GC-like)
            print("d", i - 5, flush=True)
            for b in batch(rnd, i - 5):
                store.delete(b.cid)
            print("D", i - 5, flush=True)
        bs = batch(rnd, i)
        if i % 3 == 0:
            for b in bs:
                store.put(b.cid, b.data)
        else:
            store.put_many(bs)
        print("B", i, flush=True)
        i += 1
""")

BLOCKS_MODULE = textwrap.dedent("""
    import dataclasses
    import random
    from jiaozi_node.config import STORE_LIMITS
    from jiaozi_node.ipld.block import Block
    from jiaozi_node.ipld.cid import RAW
    from jiaozi_node.store.open import ENGINES
    from jiaozi_node.store.pack import PackBlockstore

    # the pack engine with tiny limits: flushes, merges and pack rollovers every few batches
    TINY = dataclasses.replace(STORE_LIMITS, pack_tail_entries=20, pack_tail_batches=4,
                               pack_max_bytes=3 << 20, pack_slice_entries=16)

    def open_engine(name, path, **kw):
        if name == "pack-tiny":
            return PackBlockstore(path, limits=TINY, **kw)
        return ENGINES[name](path, **kw)

    def batch(rnd, i):
        rng = random.Random(f"{rnd}-{i}")
        sizes = [rng.choice([100, 1024, 4096, 256 * 1024, 1024 * 1024]) for _ in range(rng.randint(1, 12))]
        return [Block.create(rng.randbytes(n), codec=RAW) for n in sizes]
""")


def _batch(rnd: int, i: int) -> list[Block]:
    rng = random.Random(f"{rnd}-{i}")
    sizes = [rng.choice([100, 1024, 4096, 256 * 1024, 1024 * 1024]) for _ in range(rng.randint(1, 12))]
    return [Block.create(rng.randbytes(n), codec=RAW) for n in sizes]


def _run_writer(engine: str, path, rnd: int, helper_dir, delay: float) -> list[tuple[str, int]]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, engine, str(path), str(rnd), str(helper_dir)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    events = []
    for line in out.split("\n")[:-1]:  # only complete lines (the kill may cut the last one)
        kind, n = line.split()
        events.append((kind, int(n)))
    return events


@pytest.mark.parametrize("engine", [*sorted(ENGINES), "pack-tiny"])
def test_kill_9_never_leaves_partial_blocks(engine, tmp_path):
    seed = random.randrange(1 << 30)
    print(f"crash test seed {seed}")
    rng = random.Random(seed)
    helper_dir = tmp_path / "helper"
    helper_dir.mkdir()
    (helper_dir / "crash_blocks.py").write_text(BLOCKS_MODULE)
    sys.path.insert(0, str(helper_dir))
    try:
        from crash_blocks import open_engine  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(helper_dir))
        sys.modules.pop("crash_blocks", None)
    path = tmp_path / "store"
    committed: dict[bytes, bytes] = {}  # keys that must be present after the crash
    total_batches = 0
    rnd = -1
    # ROUNDS kills at random moments; on a loaded machine the writer may commit little in them,
    # so more rounds follow (bounded) until it has committed more batches than there were kills.
    while (rnd := rnd + 1) < ROUNDS or (total_batches <= ROUNDS and rnd < MAX_ROUNDS):
        events = _run_writer(engine, path, rnd, helper_dir, rng.uniform(0.05, 0.6))
        doubtful: set[bytes] = set()
        for kind, i in events:
            keys = {b.cid.multihash: b.data for b in _batch(rnd, i)}
            if kind == "B":
                committed.update(keys)
                total_batches += 1
            elif kind == "d":
                doubtful.update(keys)
                for k in keys:
                    committed.pop(k, None)
            elif kind == "D":
                doubtful.difference_update(keys)

        raw = open_engine(engine, path, verify_on_read=False)
        listed = list(raw.cids())
        for cid in listed:
            data = raw.get(cid)
            assert multihash.digest(multihash.SHA2_256, data) == cid.multihash, \
                f"seed {seed} round {rnd}: partial/garbled block {cid} kept by {engine}"
        raw.close()
        store = open_engine(engine, path)
        listed_keys = {c.multihash for c in listed}
        missing = [k for k in committed if k not in listed_keys and k not in doubtful]
        assert not missing, f"seed {seed} round {rnd}: {len(missing)} committed blocks lost"
        for cid in listed[:: max(1, len(listed) // 50)]:
            store.get(cid)  # verifies
        probe = Block.create(b"after crash %d" % rnd, codec=RAW)
        store.put(probe.cid, probe.data)
        assert store.get(probe.cid) == probe.data
        store.close()
    assert total_batches > ROUNDS, "the writer never got going: the test proved nothing"
