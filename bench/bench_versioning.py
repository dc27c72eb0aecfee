"""Versioning benchmarks, each printed with a reference measured in the same run.

    python bench/bench_versioning.py                 # full sizes (issue 5)
    python bench/bench_versioning.py --files 2000 --mib 20 --csv-mib 32 --pull-mib 20
    python bench/bench_versioning.py --engine lmdb   # every repo's Datastore.Engine

1. Commit of FILES files (MIB MiB total, in 100 directories) into a fresh repo, then a re-commit
   after changing 10 files (--commit-rounds times, each edit dated past the stat cache's racy
   window): time (goal: re-commit >= 20x faster), new bytes and new blocks (goal: only the 10
   files' blocks + the changed directory nodes + the commit). Reference: hashlib sha256 over the
   same bytes (ratio = commit throughput / sha256 throughput).
2. `diff` between the two commits: blocks read (goal: O(changes), not O(files)).
3. Dedup across versions: a CSV of CSV_MIB MiB (256 MiB by default instead of the issue's 1 GiB,
   to keep the run short on a shared 2-core machine; the ratio does not depend on the size), one
   line inserted in the middle, re-committed with fixed 1 MiB chunks (the default profile), and
   with the rabin and buzhash content-defined chunkers: new blocks and new bytes for each.
4. Pull of a PULL_MIB MiB dataset from another jzfs node (`SyncClient.fetch`: refs + commit check
   + Bitswap) against a plain fetch of the same root by a third node (`Retrieval.fetch_dag`, what
   `jzfs get` does), --pull-rounds rounds in alternating order: ratio = get time / pull time,
   median of the per-round ratios (goal >= 0.9).

Everything stays on 127.0.0.1. Numbers go to stdout; docs quote them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

from jiaozi_node.node import Node
from jiaozi_node.versioning.diff import diff_trees

MiB = 1024 * 1024
ENGINE = ["default"]  # --engine: Datastore.Engine of every repo the bench creates


def open_node(path: Path) -> Node:
    """A node on a fresh repo at `path` whose blockstore is the --engine one."""
    from jiaozi_node.repo import Repo

    Repo.init(path).set_config("Datastore.Engine", ENGINE[0])
    return Node.open(path)


def make_tree(root: Path, files: int, total: int, seed: int = 1) -> list[Path]:
    rng = random.Random(seed)
    per = total // files
    paths = []
    dirs = 100 if files >= 100 else 1
    for i in range(files):
        d = root / f"dir{i % dirs:03d}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"file{i:05d}.dat"
        p.write_bytes(rng.randbytes(per))
        paths.append(p)
    return paths


def bench_commit(tmp: Path, files: int, mib: int, rounds: int) -> None:
    print(f"\n== 1. commit of {files} files, {mib} MiB ==")
    data = tmp / "data"
    paths = make_tree(data, files, mib * MiB)
    blob = b"".join(p.read_bytes() for p in paths[:200])
    t = time.perf_counter()
    for p in paths:
        hashlib.sha256(p.read_bytes()).digest()
    t_sha = time.perf_counter() - t
    del blob
    time.sleep(0.2)  # let every file's mtime age past the stat cache's racy window
    # Noise on a shared machine is large: the first commit is timed in 2 fresh repos + the bench
    # repo, the re-commit ROUNDS times (10 other files each time); the best of each is compared
    # (the goal's figure, as before), and the medians are printed too.
    firsts = []
    for k in range(2):
        with open_node(tmp / f"first{k}") as other:
            other.versioning.create_repo("ds", now=1)
            t = time.perf_counter()
            other.versioning.commit("ds", data, branch="main", message="first", now=2)
            firsts.append(time.perf_counter() - t)
        shutil.rmtree(tmp / f"first{k}")
    with open_node(tmp / "repo") as node:
        vs = node.versioning
        vs.create_repo("ds", now=1)
        t = time.perf_counter()
        r1 = vs.commit("ds", data, branch="main", message="first", now=2)
        firsts.append(time.perf_counter() - t)
        t_first = min(firsts)
        seconds, r2, changed = [], None, []
        rng = random.Random(7)
        base_commit = r1.cid
        for rnd in range(rounds):
            changed = rng.sample(paths, 10)
            edited_ns = time.time_ns() - 1_000_000_000
            for p in changed:
                b = bytearray(p.read_bytes())
                b[len(b) // 2] ^= 0xFF
                p.write_bytes(bytes(b))
                # Dated 1 s back, past the stat cache's racy window, as an edit made a moment
                # before the commit is. (Edits stamped "now" were recorded as racily clean, so
                # every round after the first also re-read the previous round's files and rebuilt
                # their directories. Sleeping instead idles the vCPU, and the commit right after
                # an idle runs ~8% slower here, unlike the back-to-back first commits.)
                os.utime(p, ns=(edited_ns, edited_ns))
            t = time.perf_counter()
            r2 = vs.commit("ds", data, branch="main", message=f"change {rnd}", now=3 + rnd)
            seconds.append(time.perf_counter() - t)
            if rnd == 0:
                base_commit, first_change, first_changed = r1.cid, r2, changed
        t_second = min(seconds)
        r2 = first_change
        changed_dirs = len({p.parent for p in first_changed})
        total = mib * MiB
        print(f"first commit (best of {len(firsts)}: {', '.join(f'{x:.2f}' for x in firsts)} s): "
              f"{t_first:.2f} s ({total / t_first / 1e6:.0f} MB/s), "
              f"{r1.stats.new_bytes} bytes new in {r1.stats.new_blocks} blocks")
        print(f"sha256 of the same files (reference): {t_sha:.2f} s ({total / t_sha / 1e6:.0f} MB/s); "
              f"commit/sha256 throughput ratio = {t_sha / t_first:.2f}")
        print(f"re-commit after changing 10 files (best of {rounds}: {', '.join(f'{x:.3f}' for x in seconds)} s): "
              f"{t_second:.3f} s, {r2.stats.hashed_files} files read, "
              f"{r2.stats.new_bytes} bytes new in {r2.stats.new_blocks} blocks")
        expected = 10 + changed_dirs + 1 + 1  # file leaves + changed dirs + root dir + commit
        print(f"  expected new blocks: 10 files + {changed_dirs} changed dirs + root dir + commit = {expected}")
        print(f"speed-up first/re-commit = {t_first / t_second:.1f}x (goal >= 20x); medians "
              f"{statistics.median(firsts):.2f} s / {statistics.median(seconds):.3f} s = "
              f"{statistics.median(firsts) / statistics.median(seconds):.1f}x")

        reads = 0

        def counting(cid):
            nonlocal reads
            reads += 1
            return node.blocks.get(cid)

        c1, c2 = vs.load_commit(base_commit), vs.load_commit(r2.cid)
        t = time.perf_counter()
        changes = diff_trees(counting, c1.root, c2.root)
        t_diff = time.perf_counter() - t
        print(f"\n== 2. diff ==\n{len(changes)} changes, {reads} blocks read of {files + 101} tree nodes, "
              f"{t_diff * 1000:.1f} ms")


def make_csv(path: Path, mib: int) -> int:
    rng = random.Random(3)
    with open(path, "wb") as f:
        written = 0
        i = 0
        while written < mib * MiB:
            rows = [f"{i + k},{rng.getrandbits(48):012x},{rng.random():.6f},sensor-{(i + k) % 97}\n"
                    for k in range(10000)]
            chunk = "".join(rows).encode()
            f.write(chunk)
            written += len(chunk)
            i += 10000
    return written


def bench_dedup(tmp: Path, mib: int) -> None:
    print(f"\n== 3. dedup: one line inserted into a {mib} MiB CSV ==")
    src = tmp / "csv"
    src.mkdir()
    size = make_csv(src / "data.csv", mib)
    for chunker in ("size-1048576", "rabin", "buzhash"):
        repo = tmp / f"repo-{chunker}"
        with open_node(repo) as node:
            node.repo.set_config("Versioning.Chunker", chunker)
            vs = node.versioning
            vs.create_repo("ds", now=1)
            work = tmp / f"work-{chunker}"
            shutil.copytree(src, work)
            t = time.perf_counter()
            r1 = vs.commit("ds", work, branch="main", message="v1", now=2)
            t1 = time.perf_counter() - t
            with open(work / "data.csv", "r+b") as f:
                f.seek(size // 2)
                rest = f.read()
                nl = rest.index(b"\n") + 1
                f.seek(size // 2 + nl)
                f.write(b"999999999,inserted,0.5,sensor-x\n" + rest[nl:])
            r2 = vs.commit("ds", work, branch="main", message="v2", now=3)
            print(f"{chunker:>13}: first commit {r1.stats.new_blocks} blocks ({size / t1 / 1e6:.0f} MB/s); "
                  f"after the insert: {r2.stats.new_blocks} new blocks, {r2.stats.new_bytes} new bytes "
                  f"= {100 * r2.stats.new_bytes / size:.2f}% of the file")
            shutil.rmtree(work)
        shutil.rmtree(repo)


async def _pull_vs_get(tmp: Path, mib: int, rounds: int) -> None:
    from jiaozi_node.node.retrieval import Retrieval
    from jiaozi_node.versioning.sync import SyncClient

    services = ("jiaozi_node.bitswap.service", "jiaozi_node.versioning.sync")
    data = tmp / "pull-data"
    make_tree(data, 200, mib * MiB, seed=5)
    a = open_node(tmp / "pa")
    a.versioning.create_repo("ds", now=1)
    commit = a.versioning.commit("ds", data, branch="main", message="v", now=2)
    root = commit.commit.root
    kw = dict(listen=["/ip4/127.0.0.1/tcp/0"], services=services, peering=False, bootstrap=False)
    times: dict[str, list[float]] = {"get": [], "pull": []}

    async def get(on, node) -> None:
        await on.host.connect(addr)
        bs = on.services["bitswap"]
        r = Retrieval(node.blocks, [bs], on_stored=bs.notify_new_blocks)
        t = time.perf_counter()
        await r.fetch_dag(root)
        times["get"].append(time.perf_counter() - t)

    async def pull(on, node) -> None:
        client = SyncClient(on)
        peer = await client.connect(addr)
        node.versioning.create_repo("ds", now=1)
        node.versioning.trust_add(a.repo.peer_id)
        t = time.perf_counter()
        await client.fetch(peer, "ds", remote="a")
        times["pull"].append(time.perf_counter() - t)

    # `rounds` rounds in alternating order, each receiver a fresh node. Reported: the median of the
    # per-round ratios (the goal's figure: one lucky run on a shared machine cannot decide it) and,
    # as before, best get / best pull.
    async with a.online(**kw) as oa:
        addr = oa.host.addrs()[0]
        for rnd in range(rounds):
            order = (get, pull) if rnd % 2 == 0 else (pull, get)
            for k, fn in enumerate(order):
                node = open_node(tmp / f"r{rnd}{k}")
                async with node.online(**kw) as on:
                    await fn(on, node)
                node.close()
                shutil.rmtree(tmp / f"r{rnd}{k}")
    a.close()
    t_get, t_pull = min(times["get"]), min(times["pull"])
    ratios = [g / p for g, p in zip(times["get"], times["pull"], strict=True)]
    total = mib * MiB
    print(f"\n== 4. pull vs plain get, {mib} MiB, {rounds} rounds ==")
    print(f"get (fetch_dag of the root): median {statistics.median(times['get']):.2f} s, best {t_get:.2f} s "
          f"({total / t_get / 1e6:.1f} MB/s)")
    print(f"pull (refs + commit checks + data): median {statistics.median(times['pull']):.2f} s, best {t_pull:.2f} s "
          f"({total / t_pull / 1e6:.1f} MB/s)")
    print(f"ratio get/pull = {statistics.median(ratios):.2f} (median of the per-round ratios "
          f"{min(ratios):.2f}-{max(ratios):.2f}; goal >= 0.9); best/best {t_get / t_pull:.2f}; all runs: "
          f"get {', '.join(f'{x:.2f}' for x in times['get'])} s, pull {', '.join(f'{x:.2f}' for x in times['pull'])} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--csv-mib", type=int, default=256)
    ap.add_argument("--pull-mib", type=int, default=100)
    ap.add_argument("--pull-rounds", type=int, default=6, help="get/pull rounds, alternating order")
    ap.add_argument("--commit-rounds", type=int, default=5, help="re-commits timed (10 other files each)")
    ap.add_argument("--only", choices=("commit", "dedup", "pull"), default=None)
    ap.add_argument("--engine", default="default", choices=("default", "pack", "lmdb", "sqlite", "flatfs"),
                    help="Datastore.Engine of every repo the bench creates")
    args = ap.parse_args()
    ENGINE[0] = args.engine
    print(f"blockstore engine: {args.engine}")
    tmp = Path(tempfile.mkdtemp(prefix="jzfs-bench-vers-"))
    os.environ["JZFS_PATH"] = str(tmp / "unused")
    try:
        if args.only in (None, "commit"):
            bench_commit(tmp, args.files, args.mib, args.commit_rounds)
        if args.only in (None, "dedup"):
            bench_dedup(tmp, args.csv_mib)
        if args.only in (None, "pull"):
            trio.run(_pull_vs_get, tmp, args.pull_mib, args.pull_rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
