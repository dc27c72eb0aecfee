"""Blockstore engines measured side by side, with references measured in the same run.

    python bench/bench_blockstore.py                 # all engines, 1M-block growth test
    python bench/bench_blockstore.py --quick         # smaller, for a smoke run
    python bench/bench_blockstore.py --kubo          # also Kubo AddFile of 256 MiB

References (same run, same disk): hashlib SHA-256 over the same bytes, a plain sequential write of
the same bytes into one file followed by one fsync (the disk's ceiling for a crash-safe write),
and optionally Kubo 0.22's AddFile (flatfs, fsync) via the interop harness, which the `jzfs add`
target (>= 1.5x Kubo) is stated against. Every figure is printed with its ratio to a reference;
the machine is shared and noisy, so each throughput is the median of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jiaozi_node.ipld.block import Block  # noqa: E402
from jiaozi_node.ipld.cid import CID, RAW  # noqa: E402
from jiaozi_node.store.open import ENGINES  # noqa: E402

MiB = 1 << 20


def make_blocks(total: int, size: int, seed: int) -> list[Block]:
    rng = random.Random(seed)
    return [Block.create(rng.randbytes(size), codec=RAW) for _ in range(total // size)]


def small_blocks(n: int, seed: int, lo: int = 1024, hi: int = 4096) -> list[Block]:
    rng = random.Random(seed)
    return [Block.create(rng.randbytes(rng.randint(lo, hi)), codec=RAW) for _ in range(n)]


def median_of(repeat: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeat))


class Bench:
    def __init__(self, workdir: Path, repeat: int) -> None:
        self.workdir = workdir
        self.repeat = repeat
        self.results: dict[str, dict[str, float]] = {}

    def fresh(self, engine: str):  # type: ignore[no-untyped-def]
        path = self.workdir / f"store-{engine}"
        shutil.rmtree(path, ignore_errors=True)
        return ENGINES[engine](path)

    # ---------------------------------------------------------------- references

    def reference(self, blocks: list[Block]) -> dict[str, float]:
        total = sum(len(b.data) for b in blocks)

        def sha() -> float:
            t = time.perf_counter()
            for b in blocks:
                hashlib.sha256(b.data).digest()
            return total / (time.perf_counter() - t) / 1e6

        def seq_write() -> float:
            p = self.workdir / "seq.bin"
            t = time.perf_counter()
            with open(p, "wb") as f:
                for b in blocks:
                    f.write(b.data)
                f.flush()
                os.fsync(f.fileno())
            dt = time.perf_counter() - t
            p.unlink()
            return total / dt / 1e6

        return {"sha256_MBps": median_of(self.repeat, sha), "seq_write_fsync_MBps": median_of(self.repeat, seq_write)}

    # ---------------------------------------------------------------- per engine

    def put_throughput(self, engine: str, blocks: list[Block]) -> float:
        total = sum(len(b.data) for b in blocks)

        def once() -> float:
            s = self.fresh(engine)
            t = time.perf_counter()
            s.put_many(blocks)
            dt = time.perf_counter() - t
            s.close()
            return total / dt / 1e6

        return median_of(self.repeat, once)

    def small_ops(self, engine: str, blocks: list[Block], n_single: int) -> dict[str, float]:
        s = self.fresh(engine)
        t = time.perf_counter()
        for i in range(0, len(blocks), 1000):
            s.put_many(blocks[i : i + 1000])
        put_many_rate = len(blocks) / (time.perf_counter() - t)
        extra = small_blocks(n_single, seed=99)
        t = time.perf_counter()
        for b in extra:
            s.put(b.cid, b.data)
        single_rate = n_single / (time.perf_counter() - t)
        rng = random.Random(5)
        sample = [blocks[rng.randrange(len(blocks))].cid for _ in range(20000)]
        t = time.perf_counter()
        for c in sample:
            s.get(c)
        get_rate = len(sample) / (time.perf_counter() - t)
        absent = [b.cid for b in small_blocks(10000, seed=123, lo=10, hi=20)]
        probe = sample[:10000] + absent
        t = time.perf_counter()
        for c in probe:
            s.has(c)
        has_rate = len(probe) / (time.perf_counter() - t)
        s.close()
        return {"small_put_many_per_s": put_many_rate, "small_put_single_per_s": single_rate,
                "small_get_per_s": get_rate, "has_per_s": has_rate}

    def big_get(self, engine: str, blocks: list[Block]) -> float:
        s = self.fresh(engine)
        s.put_many(blocks)
        total = sum(len(b.data) for b in blocks)
        t = time.perf_counter()
        for b in random.Random(3).sample(blocks, len(blocks)):
            s.get(b.cid)
        dt = time.perf_counter() - t
        s.close()
        return total / dt / 1e6

    def growth(self, engine: str, n: int, extra_checkpoints: tuple[int, ...] = ()) -> dict[str, float]:
        """Time per op (µs) with 1k blocks stored, and again with `n` blocks stored; plus the
        amortised fill cost (every flush, merge and commit included) in the first and the last
        tenth of the fill."""
        s = self.fresh(engine)
        out: dict[str, float] = {}
        stored: list[CID] = []  # CIDs only: a million blocks' bytes would not fit in a shared box
        data_bytes = 0
        checkpoints = sorted({1000, n, *(c for c in extra_checkpoints if 1000 < c < n)})
        gen = random.Random(77)
        batch_times: list[tuple[int, float, int]] = []  # (blocks stored before, seconds, blocks)
        t_fill = time.perf_counter()
        for target in checkpoints:
            while len(stored) < target:
                k = min(10000, target - len(stored))
                batch = [Block.create(gen.randbytes(gen.randint(1024, 4096)), codec=RAW) for _ in range(k)]
                t = time.perf_counter()
                s.put_many(batch)
                batch_times.append((len(stored), time.perf_counter() - t, k))
                stored.extend(x.cid for x in batch)
                data_bytes += sum(len(x.data) for x in batch)
            if target == n:
                out["fill_s"] = time.perf_counter() - t_fill
            # 10 batches of 1000 new blocks (one put_many each), per block
            probes = [[Block.create(gen.randbytes(1024), codec=RAW) for _ in range(1000)] for _ in range(10)]
            t = time.perf_counter()
            for probe in probes:
                s.put_many(probe)
            out[f"put_us@{target}"] = (time.perf_counter() - t) / 10_000 * 1e6
            for probe in probes:
                stored.extend(x.cid for x in probe)
                data_bytes += sum(len(x.data) for x in probe)
            rng = random.Random(target)
            sample = [stored[rng.randrange(len(stored))] for _ in range(5000)]
            t = time.perf_counter()
            for c in sample:
                s.get(c)
            out[f"get_us@{target}"] = (time.perf_counter() - t) / len(sample) * 1e6
            t = time.perf_counter()
            for c in sample:
                s.has(c)
            out[f"has_us@{target}"] = (time.perf_counter() - t) / len(sample) * 1e6
        for name, lo, hi in (("fill_us_first10pct", 0, n // 10), ("fill_us_last10pct", n - n // 10, n)):
            sel = [(sec, k) for before, sec, k in batch_times if lo <= before < hi]
            out[name] = sum(x for x, _ in sel) / max(1, sum(k for _, k in sel)) * 1e6
            out[name.replace("fill_us", "slowest_batch_s")] = max((x for x, _ in sel), default=0.0)
        t = time.perf_counter()
        count = sum(1 for _ in s.cids())
        out["cids_iter_s"] = time.perf_counter() - t
        out["count"] = count
        usage = getattr(s, "disk_usage", None)
        s.close()
        if usage is None:
            out["disk_MiB"] = sum(f.stat().st_blocks * 512 for f in (self.workdir / f"store-{engine}").rglob("*")
                                  if f.is_file()) / MiB
        else:
            out["disk_MiB"] = usage() / MiB
        out["data_MiB"] = data_bytes / MiB
        shutil.rmtree(self.workdir / f"store-{engine}", ignore_errors=True)
        return out


def kubo_addfile(workdir: Path, data_path: Path) -> float | None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
    try:
        from jzfs_interop import netns
        from jzfs_interop.kubo import KuboPeer
    except ImportError as exc:
        print(f"(Kubo reference unavailable: {exc})")
        return None
    netns.ensure_confined()
    with KuboPeer(workdir / "kubo") as kubo:
        t = time.perf_counter()
        kubo.add_file(data_path)
        dt = time.perf_counter() - t
    return data_path.stat().st_size / dt / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default=",".join(sorted(ENGINES)))
    # flatfs is left out by default: one fsynced file per block fills at ~1.2k blocks/s here, so a
    # million takes ~15 min (measured to 100k with `--growth-engines flatfs --growth-n 100000`).
    ap.add_argument("--growth-engines", default="pack,lmdb,sqlite")
    ap.add_argument("--growth-n", type=int, default=1_000_000)
    ap.add_argument("--growth-checkpoints", default="100000",
                    help="also measure put/get/has at these store sizes (comma-separated)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="64 MiB, 100k-block growth, 1 repeat")
    ap.add_argument("--kubo", action="store_true", help="also time Kubo AddFile of the 256 MiB file")
    ap.add_argument("--json", default=None, help="write all results to this file")
    ap.add_argument("--workdir", default=None, help="where stores are created (default: a temp dir)")
    args = ap.parse_args()
    total = 64 * MiB if args.quick else 256 * MiB
    if args.quick:
        args.growth_n, args.repeat = min(args.growth_n, 100_000), 1
    engines = args.engines.split(",")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="jzfs-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    b = Bench(work, args.repeat)
    results: dict[str, object] = {"total_MiB": total // MiB, "repeat": args.repeat}

    big1m = make_blocks(total, MiB, 1)
    big256 = make_blocks(total, 256 * 1024, 2)
    ref = b.reference(big1m)
    results["reference"] = ref
    print(f"reference: sha256 {ref['sha256_MBps']:.0f} MB/s, sequential write+fsync "
          f"{ref['seq_write_fsync_MBps']:.0f} MB/s ({total // MiB} MiB)")
    if args.kubo:
        data_path = work / "kubo-input.bin"
        with open(data_path, "wb") as f:
            for blk in big1m:
                f.write(blk.data)
        kubo = kubo_addfile(work, data_path)
        if kubo:
            ref["kubo_addfile_MBps"] = kubo
            print(f"reference: Kubo AddFile {total // MiB} MiB: {kubo:.0f} MB/s")

    smalls = small_blocks(20000 if not args.quick else 5000, seed=3)
    seq = ref["seq_write_fsync_MBps"]
    print(f"\n{'engine':8} {'put 1MiB':>10} {'put 256K':>10} {'get 1MiB':>10} {'small put':>11} "
          f"{'1-put/s':>8} {'small get':>10} {'has/s':>9}")
    for e in engines:
        r: dict[str, float] = {}
        r["put_1MiB_MBps"] = b.put_throughput(e, big1m)
        r["put_256KiB_MBps"] = b.put_throughput(e, big256)
        r["get_1MiB_MBps"] = b.big_get(e, big1m)
        r.update(b.small_ops(e, smalls, 500))
        results[e] = r
        print(f"{e:8} {r['put_1MiB_MBps']:>6.0f}MB/s {r['put_256KiB_MBps']:>6.0f}MB/s "
              f"{r['get_1MiB_MBps']:>6.0f}MB/s {r['small_put_many_per_s']:>9.0f}/s {r['small_put_single_per_s']:>8.0f} "
              f"{r['small_get_per_s']:>8.0f}/s {r['has_per_s']:>9.0f}")
    print("\nratios (put 1 MiB blocks):")
    for e in engines:
        r = results[e]  # type: ignore[assignment]
        line = f"  {e:8} {r['put_1MiB_MBps'] / seq:.2f}x sequential write+fsync, {r['put_1MiB_MBps'] / ref['sha256_MBps']:.2f}x sha256"
        if "kubo_addfile_MBps" in ref:
            line += f", {r['put_1MiB_MBps'] / ref['kubo_addfile_MBps']:.2f}x Kubo AddFile"
        print(line)

    for e in args.growth_engines.split(","):
        if not e:
            continue
        print(f"\ngrowth {e}: filling to {args.growth_n} blocks of 1-4 KiB ...", flush=True)
        extra = tuple(int(x) for x in args.growth_checkpoints.split(",") if x)
        g = b.growth(e, args.growth_n, extra)
        results[f"growth_{e}"] = g
        n = args.growth_n
        print(f"  fill {g['fill_s']:.1f} s ({n / g['fill_s']:.0f} puts/s), data {g['data_MiB']:.0f} MiB, "
              f"disk {g['disk_MiB']:.0f} MiB, cids() over all {g['cids_iter_s']:.1f} s")
        points = sorted(int(k.split("@")[1]) for k in g if k.startswith("put_us@"))
        for op in ("put", "get", "has"):
            a, z = g[f"{op}_us@1000"], g[f"{op}_us@{n}"]
            steps = ", ".join(f"{g[f'{op}_us@{p}']:.1f} at {p}" for p in points)
            print(f"  {op} µs/op: {steps} ({z / a:.2f}x from 1k to {n}", end="")
            if len(points) > 2:
                print(f", {z / g[f'{op}_us@{points[1]}']:.2f}x from {points[1]}", end="")
            print(")")
        a, z = g["fill_us_first10pct"], g["fill_us_last10pct"]
        print(f"  fill, amortised (batches of 10 000, merges included): {a:.1f} µs/block in the first "
              f"tenth, {z:.1f} in the last ({z / a:.2f}x); slowest batch {g['slowest_batch_s_first10pct']:.2f} s "
              f"/ {g['slowest_batch_s_last10pct']:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True) if not args.workdir else None


if __name__ == "__main__":
    main()
