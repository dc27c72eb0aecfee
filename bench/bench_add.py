"""`jzfs add` throughput and memory, with references measured in the same run.

    /work/venv/bin/python bench/bench_add.py            # 256 MiB add vs Kubo, only-hash vs hashlib, 1 GiB RSS
    /work/venv/bin/python bench/bench_add.py --quick    # 64 MiB, no 1 GiB run
    /work/venv/bin/python bench/bench_add.py --no-kubo  # without the Kubo reference
    /work/venv/bin/python bench/bench_add.py --chunkers # also rabin/buzhash chunker throughput

Figures (MB = 10^6 bytes; each the median of --repeat runs; the machine is shared and noisy, so
only the ratios against references measured in the same run mean anything):

* add into a fresh repo (default engine), in-process `add_path`, profile unixfs-v0-2015 (Kubo's
  defaults, same DAG as Kubo) and unixfs-v1-2025, vs Kubo 0.22 `AddFile` of the same file (its
  repo: flatfs + fsync) via the interop harness. Goal >= 1.5x.
* `--only-hash` (in-process) vs `hashlib.sha256` over the same bytes, one call, same process,
  alternating round by round (median of the per-round ratios, and their range). Goal >= 0.8x. Also Kubo's own only-hash for reference.
* the `jzfs add` command (subprocess, includes interpreter start-up) of the same file.
* peak RSS of `jzfs add` of a 1 GiB file (subprocess, ru_maxrss). Goal < 200 MB.

Kubo runs inside a loopback-only network namespace (jzfs_interop.netns.ensure_confined()).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "interop"))

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025  # noqa: E402
from jiaozi_node.node import Node  # noqa: E402
from jiaozi_node.node.files import add_path  # noqa: E402

MiB = 1 << 20

# argv: the command. Prints the child's pid, then its exit code and ru_maxrss (KiB).
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execvp(sys.argv[1], sys.argv[1:])
print(pid, flush=True)
_, status, ru = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), ru.ru_maxrss, flush=True)
"""


def make_file(path: Path, size: int) -> None:
    """Incompressible, non-repeating at chunk granularity (every 1 MiB window differs)."""
    block = hashlib.shake_128(b"bench-add").digest(16 * MiB + 4096)
    with open(path, "wb") as f:
        written, i = 0, 0
        while written < size:
            piece = block[i % 4096 : i % 4096 + min(16 * MiB, size - written)]
            f.write(piece)
            written += len(piece)
            i += 1


def median(repeat: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeat))


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-kubo", action="store_true")
    ap.add_argument("--chunkers", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    size = 64 * MiB if args.quick else 256 * MiB
    work = Path(tempfile.mkdtemp(prefix="bench-add-"))
    try:
        src = work / "data.bin"
        make_file(src, size)
        data = src.read_bytes()
        rows: list[tuple[str, float, str]] = []

        # ---- hashing reference
        t_hash = median(args.repeat, lambda: timed(lambda: hashlib.sha256(data).digest()))
        rows.append(("hashlib.sha256 (1 call, 1 core)", mbps(size, t_hash), "reference"))

        # ---- only-hash
        node = Node.open(work / "repo-oh")
        for prof in (UNIXFS_V1_2025, UNIXFS_V0_2015):
            # hashlib and only-hash alternate, one ratio per round (the load on the shared machine
            # changes within a run): the median ratio and the range of the rounds.
            times, ratios = [], []
            for _ in range(args.repeat):
                th = timed(lambda: hashlib.sha256(data).digest())
                t = timed(lambda p=prof: add_path(node, [src], only_hash=True, profile=p))
                times.append(t)
                ratios.append(th / t)
            rows.append((f"jzfs --only-hash {prof.name}", mbps(size, statistics.median(times)),
                         f"{statistics.median(ratios):.2f}x hashlib (rounds {min(ratios):.2f}-{max(ratios):.2f}, "
                         "goal >= 0.8)"))
        node.close()

        # ---- add into a repo (fresh repo each run)
        def add_once(prof) -> float:  # type: ignore[no-untyped-def]
            repo = work / "repo-add"
            shutil.rmtree(repo, ignore_errors=True)
            n = Node.open(repo)
            try:
                return timed(lambda: add_path(n, [src], pin=True, profile=prof))
            finally:
                n.close()

        adds = {p.name: median(args.repeat, lambda p=p: add_once(p)) for p in (UNIXFS_V0_2015, UNIXFS_V1_2025)}

        t_kubo = t_kubo_oh = None
        if not args.no_kubo:
            from jzfs_interop import netns
            from jzfs_interop.kubo import KuboPeer

            netns.ensure_confined()

            def kubo_add_once() -> float:
                # A fresh Kubo repo per run: re-adding into the same repo finds every block
                # already present and writes nothing (that would measure only-hash).
                with KuboPeer() as fresh:
                    return timed(lambda: fresh.add_file(src))

            with KuboPeer() as kubo:
                cid = kubo.hash_file(src)
                oh_node = Node.open(work / "repo-oh")
                ours = add_path(oh_node, [src], only_hash=True, profile=UNIXFS_V0_2015)[-1]
                oh_node.close()
                assert str(ours.cid) == cid, (ours.cid, cid)
                t_kubo_oh = median(args.repeat, lambda: timed(lambda: kubo.hash_file(src)))
            t_kubo = median(args.repeat, kubo_add_once)
            rows.append(("Kubo 0.22 AddFile (flatfs, fsync)", mbps(size, t_kubo), "reference"))
            rows.append(("Kubo 0.22 AddFile only-hash", mbps(size, t_kubo_oh), f"{t_hash / t_kubo_oh:.2f}x hashlib"))
        for name, t in adds.items():
            note = f"{t_kubo / t:.2f}x Kubo (goal >= 1.5)" if t_kubo else ""
            rows.append((f"jzfs add {name} (in-process, pinned)", mbps(size, t), note))

        # ---- the command itself
        env = {**os.environ, "JZFS_PATH": str(work / "repo-cli")}
        jzfs = [sys.executable, "-m", "jiaozi_node.cli.main"]
        subprocess.run([*jzfs, "init"], env=env, check=True, capture_output=True)

        def cli_once() -> float:
            subprocess.run([*jzfs, "repo", "gc"], env=env, capture_output=True)
            return timed(lambda: subprocess.run([*jzfs, "add", "-Q", "--pin=false", str(src)], env=env,
                                                check=True, capture_output=True))

        t_cli = median(args.repeat, cli_once)
        rows.append(("`jzfs add` command, unixfs-v1-2025 (subprocess)", mbps(size, t_cli),
                     f"{t_kubo / t_cli:.2f}x Kubo" if t_kubo else ""))

        # ---- chunkers
        if args.chunkers:
            from jiaozi_node.unixfs.chunker import make_chunker

            for spec in ("rabin", "buzhash"):
                def chunk_all(spec: str = spec) -> None:
                    ch = make_chunker(spec)
                    for i in range(0, size, 4 * MiB):
                        ch.feed(data[i : i + 4 * MiB])
                    ch.close()
                t = median(args.repeat, lambda: timed(chunk_all))
                rows.append((f"chunker {spec} alone", mbps(size, t), f"{t_hash / t:.2f}x hashlib"))

        # ---- peak RSS, 1 GiB: this child's own rusage (os.wait4; RUSAGE_CHILDREN would include the
        # Kubo worker) and /proc samples that split heap (RssAnon) from mapped files (RssFile: the
        # blockstore's LMDB map, clean/dirty page cache the kernel can drop).
        if not args.quick:
            big = work / "big.bin"
            make_file(big, 1024 * MiB)
            t0 = time.perf_counter()
            # Through a small launcher: Linux carries the hiwater RSS of the address space a
            # process exec'd from into its ru_maxrss, so a child spawned straight from this bench
            # (which holds the 256 MiB test file and a used LMDB map) would report the bench's own
            # RSS. The launcher (a fresh, small interpreter) forks the real `jzfs add` and reports
            # its rusage; we sample the grandchild's /proc.
            proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *jzfs, "add", "-Q", str(big)], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert proc.stdout is not None
            child = int(proc.stdout.readline())
            anon = filed = 0
            while proc.poll() is None:
                try:
                    text = Path(f"/proc/{child}/status").read_text()
                except OSError:
                    text = ""
                fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
                anon = max(anon, int(fields.get("RssAnon", "0 kB").split()[0]))
                filed = max(filed, int(fields.get("RssFile", "0 kB").split()[0]))
                time.sleep(0.02)
            t = time.perf_counter() - t0
            rc, maxrss_kb = (int(x) for x in proc.stdout.read().split())
            assert proc.returncode == 0 and rc == 0, "jzfs add of 1 GiB failed"
            rows.append(("`jzfs add` 1 GiB, peak RSS MB (ru_maxrss)", maxrss_kb * 1024 / 1e6, "goal < 200"))
            rows.append(("`jzfs add` 1 GiB, peak RssAnon MB (heap)", anon * 1024 / 1e6, "goal < 200"))
            rows.append(("`jzfs add` 1 GiB, peak RssFile MB (mapped store)", filed * 1024 / 1e6, ""))
            rows.append(("`jzfs add` 1 GiB throughput", mbps(1024 * MiB, t), ""))

        width = max(len(r[0]) for r in rows)
        print(f"\n{'measurement':<{width}}  {'MB/s':>9}  ratio")
        for name, value, note in rows:
            print(f"{name:<{width}}  {value:9.1f}  {note}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
