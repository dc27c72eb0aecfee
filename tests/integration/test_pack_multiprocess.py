"""The pack engine shared by several processes at once: writers putting and deleting, readers
reading and listing, and one process compacting, all on the same store directory, with tiny limits
so that flushes, merges, pack rollovers and compactions happen throughout the run.

Each writer owns its blocks (and all of them put a few shared ones) and logs, after each call
returned, what it committed ("P"/"S" ids), and around each delete "d ids" (before) and "D ids"
(after). Readers check, against those logs, that:
- `get` returns the exact bytes of the block (or NotFound), never anything else, never another error;
- a block whose put was logged before the read started, and whose delete had not started by the
  time the read ended, is found (by `get`, `has_many` and a listing);
- a listing holds only blocks some writer could have put.
Afterwards the store holds exactly the blocks committed and not deleted, all of which verify,
before and after a final compaction and a reopen.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.store.pack import PackBlockstore
from jiaozi_node.store.pack.format import parse_manifest

WRITERS = 3
READERS = 2
OPS = 400  # per writer
VICTIMS = 5  # writers killed (kill -9) at random moments, one after another, during the run
VICTIM_OPS = 150
MAX_NEW = 6  # new blocks per put
SHARED = 24
LIMITS = {"pack_tail_entries": 24, "pack_tail_batches": 6, "pack_max_bytes": 40_000, "pack_slice_entries": 16,
          "pack_batch_entries": 20}

COMMON = textwrap.dedent("""
    import dataclasses, json, random, sys, time, traceback
    from pathlib import Path
    from jiaozi_node.config import STORE_LIMITS
    from jiaozi_node.errors import NotFound
    from jiaozi_node.ipld.block import Block
    from jiaozi_node.ipld.cid import RAW
    from jiaozi_node.store.pack import PackBlockstore

    role, root, arg, ops, max_new, nshared, writers = sys.argv[1], Path(sys.argv[2]), sys.argv[3], *map(int, sys.argv[4:8])
    LIMITS = dataclasses.replace(STORE_LIMITS, **json.loads(sys.argv[8]))
    real_writers, victim_ops = int(sys.argv[9]), int(sys.argv[10])   # logs real_writers.. are victims'
    STOP = root.parent / "stop"

    def blk(owner, i):
        rng = random.Random(f"{owner}-{i}")
        return Block.create(rng.randbytes(rng.choice([40, 300, 1200, 3000, 5000])), codec=RAW)

    def open_store():
        return PackBlockstore(root, limits=LIMITS)

    errors = []

    def fail(what):
        errors.append(what)
        if len(errors) > 20:
            finish({})

    def finish(stats):
        print(json.dumps({"errors": errors, **stats}), flush=True)
        sys.exit(0)
""")

WRITER = COMMON + textwrap.dedent("""
    w = int(arg)
    rng = random.Random(w)
    log = open(root.parent / f"log-{w}", "a", buffering=1)
    s = open_store()
    present, deleted, nxt = set(), [], 0
    for op in range(victim_ops if role == "victim" else ops):
        try:
            r = rng.random()
            if role == "victim" and r < 0.05:                     # so that some die compacting
                s.compact(dead_ratio=0.3)
            elif r < 0.25 and present:                               # delete some of ours
                ids = rng.sample(sorted(present), min(len(present), rng.randint(1, 8)))
                log.write("d %d %s\\n" % (w, " ".join(map(str, ids))))
                gone = s.delete_many([blk(w, i).cid for i in ids])
                if sorted(gone) != sorted(blk(w, i).cid for i in ids):
                    fail(f"writer {w}: delete_many returned {len(gone)} of {len(ids)} present blocks")
                log.write("D %d %s\\n" % (w, " ".join(map(str, ids))))
                present.difference_update(ids)
                deleted.extend(ids)
            elif r < 0.35 and deleted:                             # put deleted ones back
                ids = list(dict.fromkeys(rng.sample(deleted, min(len(deleted), 3))))
                s.put_many([blk(w, i) for i in ids])
                for i in ids:
                    deleted.remove(i)
                present.update(ids)
                log.write("P %d %s\\n" % (w, " ".join(map(str, ids))))
            elif r < 0.45:                                         # shared blocks (others may hold them)
                ids = rng.sample(range(nshared), 3)
                s.put_many([blk("shared", i) for i in ids])
                log.write("S -1 %s\\n" % " ".join(map(str, ids)))
            else:                                                  # new blocks, one by one or in a batch
                ids = list(range(nxt, nxt + rng.randint(1, max_new)))
                nxt += len(ids)
                if len(ids) == 1:
                    s.put(blk(w, ids[0]).cid, blk(w, ids[0]).data)
                else:
                    s.put_many([blk(w, i) for i in ids])
                present.update(ids)
                log.write("P %d %s\\n" % (w, " ".join(map(str, ids))))
            if present:
                i = rng.choice(sorted(present))
                if s.get(blk(w, i).cid) != blk(w, i).data:
                    fail(f"writer {w}: wrong bytes for its own block {i}")
        except Exception:
            fail(f"writer {w} op {op}: " + traceback.format_exc(limit=4))
    s.close()
    finish({"present": len(present)})
""")

READER = COMMON + textwrap.dedent("""
    me = int(arg)
    rng = random.Random(100 + me)
    known = {}                                           # cid -> (owner, i, data)
    for w in range(writers):
        for i in range((ops if w < real_writers else victim_ops) * max_new):
            b = blk(w, i)
            known[b.cid] = (w, i, b.data)
    for i in range(nshared):
        b = blk("shared", i)
        known[b.cid] = ("shared", i, b.data)
    by_id = {(o, i): cid for cid, (o, i, _) in known.items()}

    def read_logs():
        lines = []
        for w in range(writers):
            p = root.parent / f"log-{w}"
            raw = p.read_text() if p.exists() else ""
            lines.append([ln.split() for ln in raw.split("\\n")[:-1]])   # complete lines only
        return lines

    def state(lines):
        last, ever = {}, set()
        for per in lines:
            for op, w, *ids in per:
                owner = "shared" if op == "S" else int(w)
                for i in map(int, ids):
                    last[(owner, i)] = op
                    ever.add((owner, i))
        return last, ever

    def must_have(before, after):
        # put before the read began, no delete begun by the time it ended
        last, _ = state(before)
        sure = {k for k, op in last.items() if op in "PS"}
        for w, per in enumerate(after):
            for op, _, *ids in per[len(before[w]):]:
                if op == "d":
                    sure.difference_update((w, int(i)) for i in ids)
        return sure

    s = open_store()
    reads = lists = checked = 0
    it = 0
    while not STOP.exists():
        it += 1
        try:
            if it % 25 == 0:
                s.close()
                s = open_store()
            before = read_logs()
            _, ever = state(before)
            sample = rng.sample(sorted(ever, key=str), min(len(ever), 20)) if ever else []
            sample += [(rng.randrange(real_writers), ops * max_new - 1 - rng.randrange(5))]   # never put
            results = {}
            for key in sample:
                cid = by_id[key]
                try:
                    data = s.get(cid)
                except NotFound:
                    results[key] = False
                    continue
                reads += 1
                if data != known[cid][2]:
                    fail(f"reader {me}: WRONG BYTES for {key}")
                results[key] = True
            has = dict(zip(sample, s.has_many([by_id[k] for k in sample])))
            listed = None
            if it % 16 == 0:                             # a slow listing, reads and reopens meanwhile
                listed = set()
                other = open_store()
                for j, cid in enumerate(s.cids()):
                    listed.add(cid)
                    if j % 50 == 0:
                        key = rng.choice(sample)
                        try:
                            if s.get(by_id[key]) != known[by_id[key]][2]:
                                fail(f"reader {me}: WRONG BYTES for {key} while listing")
                        except NotFound:
                            pass
                        other.has(by_id[key])
                        s.disk_usage()
                other.close()
                lists += 1
            elif it % 8 == 0:
                listed = set(s.cids())
                lists += 1
                stray = [c for c in listed if c not in known]
                if stray:
                    fail(f"reader {me}: listing holds {len(stray)} blocks nobody put")
                n = len(s)
                if n < 0:
                    fail(f"reader {me}: len {n}")
            after = read_logs()
            sure = must_have(before, after)
            for key in sample:
                if key in sure:
                    checked += 1
                    if not results[key] or not has[key]:
                        fail(f"reader {me}: committed block {key} not found (get={results[key]}, has={has[key]})")
            if listed is not None:
                missing = [k for k in sure if by_id[k] not in listed]
                if missing:
                    fail(f"reader {me}: listing misses {len(missing)} committed blocks, e.g. {missing[:3]}")
        except Exception:
            fail(f"reader {me} iteration {it}: " + traceback.format_exc(limit=4))
    s.close()
    finish({"reads": reads, "lists": lists, "checked": checked})
""")

COMPACTOR = COMMON + textwrap.dedent("""
    s = open_store()
    runs = removed = 0
    while not STOP.exists():
        try:
            removed += s.compact(dead_ratio=0.3)
            runs += 1
            len(s)
        except Exception:
            fail("compactor: " + traceback.format_exc(limit=4))
        time.sleep(0.05)
    s.close()
    finish({"compactions": runs, "removed": removed})
""")


def _spawn(code: str, role: str, root: Path, arg: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, role, str(root), str(arg), str(OPS), str(MAX_NEW),
                             str(SHARED), str(WRITERS + VICTIMS), json.dumps(LIMITS), str(WRITERS), str(VICTIM_OPS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(p: subprocess.Popen, timeout: float) -> dict:
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"process {p.pid} hung; stderr: {err[-2000:]}") from None
    assert p.returncode == 0, err[-3000:]
    lines = out.strip().splitlines()
    assert lines, err[-3000:]
    return json.loads(lines[-1])


def _blk(owner: object, i: int) -> Block:
    rng = random.Random(f"{owner}-{i}")
    return Block.create(rng.randbytes(rng.choice([40, 300, 1200, 3000, 5000])), codec=RAW)


def _final_state(tmp_path: Path) -> tuple[set, set]:
    """From the writers' logs (all writers have finished or were killed): the blocks that must be
    present, and those that may be (a killed writer's unfinished put or delete)."""
    last: dict = {}
    for w in range(WRITERS + VICTIMS):
        log = tmp_path / f"log-{w}"
        for line in log.read_text().splitlines() if log.exists() else []:
            op, who, *ids = line.split()
            for i in map(int, ids):
                last[("shared" if op == "S" else int(who), i)] = op
    assert not [k for k, op in last.items() if op == "d" and k[0] in range(WRITERS)]  # deletes returned
    must = {_blk(*k) for k, op in last.items() if op in "PS"}
    maybe = {_blk(*k) for k, op in last.items() if op == "d"}
    maybe |= {_blk(w, i) for w in range(WRITERS, WRITERS + VICTIMS) for i in range(VICTIM_OPS * MAX_NEW)
              if (w, i) not in last}
    return must, maybe


def _check_store(root: Path, must: set, maybe: set) -> None:
    s = PackBlockstore(root)
    listed = {c.multihash for c in s.cids()}
    assert {b.cid.multihash for b in must} <= listed
    assert listed <= {b.cid.multihash for b in must | maybe}
    assert len(s) == len(listed)
    for b in must | maybe:
        if b.cid.multihash in listed:
            assert s.get(b.cid) == b.data
    s.close()


def test_writers_readers_and_a_compactor_share_one_store(tmp_path):
    root = tmp_path / "store"  # not created yet: the processes race to create it
    procs = [_spawn(WRITER, "writer", root, w) for w in range(WRITERS)]
    others = [_spawn(READER, "reader", root, r) for r in range(READERS)]
    others.append(_spawn(COMPACTOR, "compactor", root, 0))
    rng = random.Random(7)
    killed: list[bool] = []
    try:
        for v in range(VICTIMS):  # meanwhile, writers die at random moments (flock held or not)
            victim = _spawn(WRITER, "victim", root, WRITERS + v)
            time.sleep(rng.uniform(0.6, 1.8))
            victim.send_signal(signal.SIGKILL)
            victim.communicate()
            killed.append(victim.returncode == -signal.SIGKILL)
        writers = [_result(p, 240) for p in procs]
    finally:
        (tmp_path / "stop").touch()
    results = [_result(p, 120) for p in others]
    readers, compactor = results[:READERS], results[READERS]
    errors = [e for r in writers + results for e in r["errors"]]
    assert not errors, "\n".join(errors[:10])
    assert all(r["reads"] > 0 and r["checked"] > 0 and r["lists"] > 0 for r in readers), readers
    assert compactor["compactions"] > 0, compactor

    must, maybe = _final_state(tmp_path)
    assert len(must) > 100
    _check_store(root, must, maybe)
    manifest = parse_manifest((root / "MANIFEST").read_bytes())
    assert manifest["next_run"] > 3 and manifest["active"] > 3, manifest  # flushes, merges, rollovers happened
    s = PackBlockstore(root)
    s.compact(dead_ratio=0.0)
    s.close()
    _check_store(root, must, maybe)
    logged = [len(log.read_text().splitlines()) if log.exists() else 0
              for log in (tmp_path / f"log-{w}" for w in range(WRITERS, WRITERS + VICTIMS))]
    print(f"writers {writers} readers {readers} compactor {compactor} manifest {manifest}; victims killed "
          f"{killed} after logging {logged} operations")


COMPACT_ONCE = textwrap.dedent("""
    import dataclasses, json, sys
    from jiaozi_node.config import STORE_LIMITS
    from jiaozi_node.ipld.cid import CID
    from jiaozi_node.store.pack import PackBlockstore
    s = PackBlockstore(sys.argv[1], limits=dataclasses.replace(STORE_LIMITS, **json.loads(sys.argv[2])))
    s.delete_many([CID.decode(c) for c in sys.argv[3:]])
    print(s.compact())
    s.close()
""")


def _open_deleted_files(root: Path) -> list[str]:
    out = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith(str(root)) and target.endswith("(deleted)"):
            out.append(target)
    return out


def test_a_reader_lets_go_of_packs_another_process_compacted_away(tmp_path):
    """Otherwise a long-running daemon keeps every compacted pack open and `repo gc` gives no disk
    space back until it restarts."""
    import dataclasses

    from jiaozi_node.config import STORE_LIMITS
    from jiaozi_node.testing.blockstore import blocks

    root = tmp_path / "store"
    reader = PackBlockstore(root, limits=dataclasses.replace(STORE_LIMITS, **LIMITS))
    bs = blocks(100, 1000)
    for i in range(0, 100, 10):
        reader.put_many(bs[i: i + 10])
    for b in bs:
        assert reader.get(b.cid) == b.data  # every pack opened for reading
    out = subprocess.run([sys.executable, "-c", COMPACT_ONCE, str(root), json.dumps(LIMITS),
                          *(str(b.cid) for b in bs[:95])], capture_output=True, text=True, check=True).stdout
    assert int(out) >= 2
    for b in bs[95:]:
        assert reader.get(b.cid) == b.data
    assert not reader.has(bs[0].cid)
    assert _open_deleted_files(root) == []
    reader.close()
