"""Web UI: page times as the browser gets them, and the row-level CSV diff against GNU diff.

    python bench/bench_webui.py                      # 10 000 files, 1 000 commits, 1 GiB CSV, 1 M rows
    python bench/bench_webui.py --csv-mib 64 --rows 200000 --rounds 10   # quicker

Pages (a real `jzfs daemon` on 127.0.0.1; each request timed whole over a kept-alive HTTP
connection, as a browser makes it, until the last byte of the HTML): the tree page of a
10 000-file (HAMT-sharded) directory, the log page of a 1 000-commit branch, and the first page of
a 1 GiB CSV preview. Goal: median <= 100 ms each. The first request of each page is printed
apart (the tree page caches a directory's sorted listing by CID after it). References in the
same run: `jzfs ls` of the same directory and `jzfs log -n 50 --json` of the same branch (the CLI
commands a user would type instead, timed whole), and the first page of a 10 KiB CSV (the 1 GiB
one should cost the same). Also timed, without a goal: the last page of a 100 000-entry
HAMT-sharded directory.

Row diff: two versions of a 1 000 000-row CSV with 100 changed rows, committed with a
content-defined chunker (`--chunker`, default rabin with 16 KiB average chunks): `jzfs diff ds@v1 ds@v2 --rows data.csv`
(positional, and `--key id`) as a subprocess timed whole with its peak RSS (GNU time) — with the
daemon running (the command runs in it, as `ipfs` commands do) and with `--offline` (this
process does all the work, start-up included) — against GNU `diff` of the same two files on
disk, rounds alternating. Goal: faster than diff, RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PY = sys.executable
JZFS = [PY, "-m", "jiaozi_node.cli.main"]


def dist(label: str, xs: list[float], unit: float = 1e3, suffix: str = "ms") -> float:
    xs = sorted(xs)
    med = statistics.median(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    print(f"  {label:<44} median {med * unit:7.1f} {suffix}  min {xs[0] * unit:7.1f}  "
          f"p90 {p90 * unit:7.1f}  max {xs[-1] * unit:7.1f}  (n={len(xs)})")
    return med


def csv_rows(start: int, n: int, rnd: random.Random) -> str:
    cities = ("Oslo", "Lima", "Pune", "Kyiv", "Doha", "Nuuk", "Baku")
    return "".join(f"{i},{cities[i % 7]},{rnd.randint(-300, 400) / 10},2026-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
                   for i in range(start, start + n))


def write_big_csv(path: Path, size: int, *, unique: bool = False) -> None:
    """A CSV of exactly `size` bytes. By default 16 MiB of generated rows repeated (the file's DAG
    has the same shape as any other of its size: 1 MiB leaves under the same interior nodes;
    repeated leaves are stored once, which only makes building it quicker); `unique` generates
    every row (slow: minutes for 1 GiB on this machine)."""
    rnd = random.Random(7)
    block = 16 << 20
    with open(path, "w") as f:
        f.write("id,city,temp,date\n")
        i, written, first = 0, 0, []
        while written < (size if unique else min(size, block)):
            chunk = csv_rows(i, 50_000, rnd)
            f.write(chunk)
            first.append(chunk)
            written += len(chunk)
            i += 50_000
        if not unique:
            body = "".join(first)
            while written < size:
                f.write(body)
                written += len(body)
    with open(path, "r+b") as f:
        f.truncate(size)  # exactly `size` bytes (the last row may be cut: a preview never gets there)


def build(base: Path, args: argparse.Namespace) -> dict:
    from jiaozi_node.node import Node
    from jiaozi_node.versioning import signing
    from jiaozi_node.versioning.objects import Commit

    repo_path = base / "repo"
    node = Node.open(repo_path)
    repo = node.repo
    repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    repo.set_config("Addresses.Swarm", ["/ip4/127.0.0.1/tcp/0"])
    vs = node.versioning
    now = int(time.time()) - 100_000
    t = time.perf_counter()
    d = base / "pages"
    (d / "many").mkdir(parents=True)
    for i in range(args.files):
        (d / "many" / f"f{i:05d}.csv").write_text(f"id\n{i}\n")
    write_big_csv(d / "big.csv", args.csv_mib << 20, unique=args.unique_csv)
    write_big_csv(d / "small.csv", 10 << 10)
    vs.create_repo("pages", now=now)
    head = vs.commit("pages", d, branch="main", message="pages", now=now).cid
    print(f"built the pages dataset ({args.files} files, {args.csv_mib} MiB CSV) in {time.perf_counter() - t:.1f} s")
    # a long branch: signed commits over the same tree (the log page reads commits, not data)
    t = time.perf_counter()
    root = vs.load_commit(head).root
    parent = head
    for k in range(args.commits - 1):
        c = signing.sign(Commit(root, (parent,), vs.author(), f"step {k}: tune parameters", now + k + 1),
                         repo.identity)
        parent = vs.store_object(c)
    vs.refs.update_ref("pages", "heads/long", parent, expected=None)
    print(f"built a {args.commits}-commit branch in {time.perf_counter() - t:.1f} s")
    # the row-diff dataset, with a content-defined chunker
    t = time.perf_counter()
    repo.set_config("Versioning.Chunker", args.chunker)
    rd = base / "rows"
    rd.mkdir()
    rnd = random.Random(11)
    lines = ["id,city,temp,date\n"] + csv_rows(0, args.rows, rnd).splitlines(keepends=True)
    (base / "a.csv").write_text("".join(lines))
    for i in rnd.sample(range(1, len(lines)), args.changed):
        f = lines[i].rstrip("\n").split(",")
        f[2] = str(float(f[2]) + 0.5)
        lines[i] = ",".join(f) + "\n"
    (base / "b.csv").write_text("".join(lines))
    vs.create_repo("ds", now=now)
    shutil.copy(base / "a.csv", rd / "data.csv")
    vs.commit("ds", rd, branch="main", message="v1", now=now)
    vs.tag_create("ds", "v1", ref="main", message=None, now=now)
    time.sleep(1.1)  # past the stat cache's racy window
    shutil.copy(base / "b.csv", rd / "data.csv")
    vs.commit("ds", rd, branch="main", message="v2", now=now + 1)
    many = node.files.resolve(f"{root}/many")
    t = time.perf_counter()
    from jiaozi_node.ipld.block import Block
    from jiaozi_node.unixfs.exporter_testing import DagBuilder

    db = DagBuilder()
    leaf = db.raw(b"x\n")
    huge = db.hamt({f"entry-{i:06d}.csv": leaf for i in range(args.hamt_entries)})
    node.blocks.put_many([Block(c, db.store.get(c)) for c in db.store.cids()])
    print(f"built a {args.hamt_entries}-entry HAMT directory in {time.perf_counter() - t:.1f} s")
    print(f"built the row-diff dataset ({args.rows} rows, {args.changed} changed, chunker {args.chunker}) "
          f"in {time.perf_counter() - t:.1f} s")
    node.close()
    return {"repo": repo_path, "many": many, "huge": huge}


def start_daemon(repo: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "JZFS_PATH": str(repo), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([*JZFS, "daemon"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if "Daemon is ready" in line:
            break
    else:
        raise RuntimeError("daemon exited early:\n" + "".join(lines))
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    m = re.search(r"RPC API server listening on /ip4/([\d.]+)/tcp/(\d+)", "".join(lines))
    assert m
    return proc, f"http://{m.group(1)}:{m.group(2)}"


def time_page(client, url: str, rounds: int, must: str) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    r = client.get(url)
    cold = time.perf_counter() - t
    assert r.status_code == 200 and must in r.text, (url, r.status_code, r.text[:300])
    xs = []
    for _ in range(rounds):
        t = time.perf_counter()
        r = client.get(url)
        xs.append(time.perf_counter() - t)
        assert r.status_code == 200
    return cold, xs


TIME = shutil.which("time") or "/usr/bin/time"
INPROC = """
import statistics, sys, time
from jiaozi_node.node import Node
node = Node.open(sys.argv[1])
xs = []
for _ in range(5):
    t = time.perf_counter()
    r = node.versioning.row_diff("ds@v1", "ds@main", "data.csv")
    n = sum(1 for _ in r.ops)
    xs.append(time.perf_counter() - t)
print(statistics.median(xs), n)
"""


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of one command, output discarded. The RSS comes from GNU time
    (`%M`): its own small process waits for the command, so the figure is the command's alone
    (a child forked straight from this big benchmark process would report our RSS at fork)."""
    with tempfile.NamedTemporaryFile("r") as out:
        t = time.perf_counter()
        r = subprocess.run([TIME, "-f", "%M", "-o", out.name, *cmd], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        dt = time.perf_counter() - t
        if r.returncode not in (0, 1):  # diff exits 1 when the files differ
            raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.decode()[-500:]}")
        rss = int(out.read().strip().splitlines()[-1]) * 1024
    return dt, rss


def run_cli(repo: Path, *args: str) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of one jzfs command, timed whole."""
    return measured([*JZFS, *args], {**os.environ, "JZFS_PATH": str(repo)})


def run_diff(a: Path, b: Path) -> tuple[float, int]:
    return measured(["diff", str(a), str(b)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--commits", type=int, default=1_000)
    ap.add_argument("--hamt-entries", type=int, default=100_000)
    ap.add_argument("--csv-mib", type=int, default=1024)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--changed", type=int, default=100)
    ap.add_argument("--chunker", default="rabin-4096-16384-65536",
                    help="Versioning.Chunker of the row-diff dataset (content-defined; small chunks "
                         "keep the bytes read per change small)")
    ap.add_argument("--unique-csv", action="store_true", help="generate every row of the big CSV")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--diff-rounds", type=int, default=3)
    args = ap.parse_args()
    # An installed jzfs runs byte-compiled modules: compile them once so that no timed `jzfs`
    # process pays for compiling sources (PYTHONDONTWRITEBYTECODE may be set, as on the shared machine).
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "jiaozi_node"), quiet=1)
    import httpx

    base = Path(tempfile.mkdtemp(prefix="bench-webui-"))
    proc = None
    try:
        info = build(base, args)
        proc, api = start_daemon(info["repo"])
        print(f"\npages (HTTP GET to {api}, kept-alive connection, {args.rounds} rounds after the first)")
        meds = {}
        with httpx.Client(base_url=api, timeout=120) as client:
            pages = [(f"tree page, {args.files}-file directory", "/webui/d/pages/tree?ref=main&path=many", "f00000.csv"),
                     (f"log page, {args.commits}-commit branch", "/webui/d/pages/log?ref=long", "tune parameters"),
                     (f"CSV first page, {args.csv_mib} MiB", "/webui/d/pages/tree?ref=main&path=big.csv", "<table"),
                     ("CSV first page, 10 KiB (reference)", "/webui/d/pages/tree?ref=main&path=small.csv", "<table"),
                     (f"tree page, {args.hamt_entries}-entry directory, last page",
                      f"/webui/ipfs/{info['huge']}?page={-(-args.hamt_entries // 100)}", "entry-")]
            for label, url, must in pages:
                cold, xs = time_page(client, url, args.rounds, must)
                print(f"  {label:<44} first request {cold * 1e3:7.1f} ms")
                meds[label] = dist(label, xs)
        print("\nreferences: the CLI commands a user would type instead (timed whole, daemon running)")
        ls = [run_cli(info["repo"], "ls", str(info["many"]))[0] for _ in range(5)]
        log = [run_cli(info["repo"], "log", "pages@long", "-n", "50", "--json")[0] for _ in range(5)]
        start = [run_cli(info["repo"], "--offline", "version")[0] for _ in range(5)]
        ls_med = dist(f"jzfs ls <{args.files}-file directory>", ls)
        log_med = dist("jzfs log pages@long -n 50 --json", log)
        dist("jzfs --offline version (start-up alone)", start)
        keys = list(meds)
        print(f"\n  tree page vs jzfs ls:            {ls_med / meds[keys[0]]:.1f}x faster")
        print(f"  log page vs jzfs log -n 50:      {log_med / meds[keys[1]]:.1f}x faster")
        print(f"  {args.csv_mib} MiB vs 10 KiB CSV first page: {meds[keys[2]] / meds[keys[3]]:.2f}x the time")
        for label in keys[:3]:
            print(f"  {label:<44} median {meds[label] * 1e3:.1f} ms  goal <= 100 ms: "
                  f"{'met' if meds[label] <= 0.1 else 'NOT met'}")

        print(f"\nrow diff of {args.rows} rows, {args.changed} changed (chunker {args.chunker}) vs GNU diff")
        a, b = base / "a.csv", base / "b.csv"
        runs: dict[str, list[tuple[float, int]]] = {k: [] for k in ("gnu", "daemon", "daemon-key", "offline", "offline-key")}
        rows = ["diff", "ds@v1", "ds@main", "--rows", "data.csv"]
        for _ in range(args.diff_rounds):
            runs["gnu"].append(run_diff(a, b))
            runs["daemon"].append(run_cli(info["repo"], *rows))
            runs["daemon-key"].append(run_cli(info["repo"], *rows, "--key", "id"))
            runs["offline"].append(run_cli(info["repo"], "--offline", *rows))
            runs["offline-key"].append(run_cli(info["repo"], "--offline", *rows, "--key", "id"))
        labels = {"gnu": "GNU diff a.csv b.csv", "daemon": "jzfs diff --rows (daemon running)",
                  "daemon-key": "jzfs diff --rows --key id (daemon running)",
                  "offline": "jzfs --offline diff --rows", "offline-key": "jzfs --offline diff --rows --key id"}
        med = {k: dist(labels[k], [t for t, _ in v]) for k, v in runs.items()}
        rss = {k: max(m for _, m in v) for k, v in runs.items()}
        print("  peak RSS: " + ", ".join(f"{labels[k]} {rss[k] / 1e6:.0f} MB" for k in runs))
        for k in ("daemon", "daemon-key", "offline", "offline-key"):
            print(f"  {labels[k]:<44} vs GNU diff: {med['gnu'] / med[k]:.2f}x "
                  f"({'faster' if med['gnu'] > med[k] else 'NOT faster'}); RSS < 200 MB: "
                  f"{'met' if rss[k] < 200e6 else 'NOT met'}")
        inproc = subprocess.run([PY, "-c", INPROC, str(info["repo"])], capture_output=True, text=True,
                                check=True).stdout.split()
        print(f"  diagnostic, in-process (no start-up): Versioning.row_diff {float(inproc[0]) * 1e3:.0f} ms "
              f"(median of 5), `jzfs --offline version` start-up alone: see above")
        env = {**os.environ, "JZFS_PATH": str(info["repo"])}
        out = subprocess.run([*JZFS, "--offline", "diff", "ds@v1", "ds@main", "--rows", "data.csv", "--json"],
                             env=env, capture_output=True, text=True, check=True).stdout
        import json

        res = json.loads(out)
        st = res["stats"]
        print(f"  {len(res['changes'])} changed rows found; leaves {st['leaves_a']} / {st['leaves_b']}, "
              f"{st['leaves_equal']} equal and skipped, {st['bytes_read'] / 1e6:.1f} MB read of "
              f"{a.stat().st_size / 1e6:.1f} MB per version")
    finally:
        if proc is not None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
