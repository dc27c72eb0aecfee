"""libp2p stream throughput of the jzfs host adapter, with references measured in the same run.

    interop/run.sh -- python bench/bench_stream.py [--mib 64] [--reps 3] [--no-kubo]

Sections (MB = 10^6 bytes, medians of --reps runs):
  1. py -> py, one stream, both hosts in this process: stock py-libp2p 0.8.1 Yamux vs ours
     (each mode in a fresh subprocess, so the patch really is off for "stock").
  2. py -> py, short streams: one 256 KiB message per stream (what Kubo does for every bitswap
     reply), stock vs ours.
  3. Kubo -> py: Kubo serves a --mib file over bitswap; a minimal bench-only bitswap client on the
     jzfs host wants the whole DAG (blocks hash-checked) and receives it on the streams Kubo
     opens. Reference: Kubo -> Kubo `PinCID` of the same DAG.
  4. py -> Kubo: a fresh Kubo pins the DAG from the jzfs host only (bench-only bitswap server
     answering on new streams). Same reference.
Ratios > 1 mean jzfs is faster. Kubo runs need a loopback-only namespace (interop/run.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "interop"))

from jiaozi_node.identity import Identity  # noqa: E402
from jiaozi_node.net.libp2p_host import Libp2pHost  # noqa: E402

LOOP = "/ip4/127.0.0.1/tcp/0"
MB = 1e6


def _use_stock_yamux() -> None:
    """Register py-libp2p's own Yamux instead of ours (net/transport/libp2p_fixes.py fix 2 makes
    py-libp2p construct whatever muxer is registered)."""
    from libp2p.custom_types import TProtocol
    from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID, Mplex
    from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID, Yamux

    from jiaozi_node.net.transport import libp2p_fixes

    libp2p_fixes.muxer_options = lambda limits: {TProtocol(PROTOCOL_ID): Yamux,
                                                   TProtocol(MPLEX_PROTOCOL_ID): Mplex}


# ------------------------------------------------------------------------------ py -> py


async def _pair(nursery):
    a = Libp2pHost(Identity.generate(), listen=[LOOP])
    b = Libp2pHost(Identity.generate(), listen=[LOOP])
    await nursery.start(a.run)
    await nursery.start(b.run)
    await a.connect(b.addrs()[0])
    return a, b


async def one_stream(total: int) -> float:
    async with trio.open_nursery() as nursery:
        a, b = await _pair(nursery)
        done = trio.Event()

        async def sink(s):
            n = 0
            while chunk := await s.read():
                n += len(chunk)
            await s.write(str(n).encode())
            done.set()

        b.set_stream_handler("/bench/one/1", sink)
        s = await a.new_stream(b.peer_id, "/bench/one/1")
        buf = b"\xab" * (256 * 1024)
        t0 = time.perf_counter()
        for _ in range(total // len(buf)):
            await s.write(buf)
        await s.close_write()
        assert int(await s.read_until_eof(32)) == total
        dt = time.perf_counter() - t0
        nursery.cancel_scope.cancel()
    return total / dt / MB


async def short_streams(count: int, size: int = 256 * 1024) -> tuple[float, float]:
    async with trio.open_nursery() as nursery:
        a, b = await _pair(nursery)
        got = [0]
        done = trio.Event()

        async def sink(s):
            n = len(await s.read_until_eof(4 << 20))  # (not `got[0] += await …`: that races)
            got[0] += n
            if got[0] >= count * size:
                done.set()

        b.set_stream_handler("/bench/short/1", sink)
        payload = b"\xcd" * size
        limiter = trio.CapacityLimiter(16)  # Kubo sends many replies concurrently

        async def send_one():
            async with limiter:
                s = await a.new_stream(b.peer_id, "/bench/short/1")
                await s.write(payload)
                await s.close()

        t0 = time.perf_counter()
        async with trio.open_nursery() as senders:
            for _ in range(count):
                senders.start_soon(send_one)
        await done.wait()
        dt = time.perf_counter() - t0
        nursery.cancel_scope.cancel()
    return count / dt, count * size / dt / MB


def child_main(mode: str, what: str, arg: int) -> None:
    if mode == "stock":
        _use_stock_yamux()
    if what == "one":
        print(json.dumps({"mbps": trio.run(one_stream, arg)}))
    else:
        sps, mbps = trio.run(short_streams, arg)
        print(json.dumps({"streams_per_s": sps, "mbps": mbps}))


def run_child(mode: str, what: str, arg: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, what, str(arg)],
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ Kubo


class MiniBitswap:
    """Bench-only bitswap: just enough to make Kubo send (client) or fetch (server) a DAG.

    Not the product's bitswap (jiaozi_node/bitswap/): no sessions, no ledgers, no limits.
    """

    def __init__(self, host: Libp2pHost, nursery: trio.Nursery) -> None:
        from jiaozi_node.bitswap import framing, message

        self.m = message
        self.framing = framing
        self.host = host
        self.nursery = nursery
        self.blocks: dict[bytes, bytes] = {}
        self.wanted: set[bytes] = set()
        self.all_done = trio.Event()
        self.received_bytes = 0
        self._out = None
        self.senders = trio.CapacityLimiter(8)
        host.set_stream_handler(list(message.PROTOCOLS), self._on_stream)

    async def _on_stream(self, stream) -> None:
        dec = self.framing.FrameDecoder()
        while chunk := await stream.read():
            for frame in dec.feed(chunk):
                await self._on_message(stream.remote_peer, self.m.decode(frame))

    async def _on_message(self, peer: str, msg) -> None:
        from jiaozi_node.ipld import dagpb

        new_wants = []
        for prefix, data in msg.blocks:
            cid = self.m.block_cid(prefix, data)  # the hash check
            if cid not in self.wanted:
                continue
            self.wanted.discard(cid)
            self.blocks[cid] = data
            self.received_bytes += len(data)
            if cid[0] == 0x12 or (len(cid) > 2 and cid[1] == 0x70):  # dag-pb: want its children
                for link in dagpb.decode(data).links:
                    child = bytes(link.cid)
                    if child not in self.blocks and child not in self.wanted:
                        self.wanted.add(child)
                        new_wants.append(child)
        if new_wants:
            await self.want(peer, new_wants)
        elif not self.wanted and msg.blocks:
            self.all_done.set()
        serve = [e for e in msg.wants if not e.cancel and e.cid in self.blocks]
        if serve:
            self.nursery.start_soon(self._serve, peer, serve)

    async def want(self, peer: str, cids: list[bytes]) -> None:
        if self._out is None:
            self._out = await self.host.new_stream(peer, list(self.m.PROTOCOLS))
        entries = [self.m.Entry(c, priority=1, want_type=self.m.WANT_BLOCK, send_dont_have=True)
                   for c in cids]
        self.wanted.update(cids)
        await self._out.write(self.framing.encode_frame(self.m.encode(self.m.Message(wants=entries))))

    async def _serve(self, peer: str, entries) -> None:
        # as Kubo does: replies on a stream we open, one message per block, 8 senders at once
        async def one(e) -> None:
            async with self.senders:
                if e.want_type == self.m.WANT_HAVE:
                    msg = self.m.Message(presences=[(e.cid, self.m.HAVE)])
                else:
                    msg = self.m.Message(blocks=[(e.cid, self.blocks[e.cid])])
                s = await self.host.new_stream(peer, list(self.m.PROTOCOLS))
                await s.write(self.framing.encode_frame(self.m.encode(msg, protocol=s.protocol)))
                await s.close()

        async with trio.open_nursery() as nursery:
            for e in entries:
                nursery.start_soon(one, e)


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_pid(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


async def kubo_round(kubo_src, kubo_dst_factory, root_cid: str, size: int) -> dict:
    from jiaozi_node.ipld import CID

    res = {}
    root = bytes(CID.decode(root_cid))
    async with trio.open_nursery() as nursery:
        host = Libp2pHost(Identity.generate(), listen=[LOOP])
        await nursery.start(host.run)
        bs = MiniBitswap(host, nursery)
        await host.connect(kubo_src.multiaddr)
        t0, c0 = time.perf_counter(), _cpu_self()
        with trio.fail_after(300):
            await bs.want(kubo_src.peer_id, [root])
            await bs.all_done.wait()
        dt = time.perf_counter() - t0
        assert bs.received_bytes >= size, (bs.received_bytes, size)
        res["kubo_to_py"] = size / dt / MB
        res["cpu_ms_per_mb_in"] = (_cpu_self() - c0) * 1e3 / (size / MB)
        # py -> Kubo: a fresh Kubo that only knows us pins the DAG
        kubo_dst = await trio.to_thread.run_sync(kubo_dst_factory)
        await kubo_dst.aio.connect(host.addrs()[0])
        t0, c0, k0 = time.perf_counter(), _cpu_self(), _cpu_pid(kubo_dst.pid)
        await kubo_dst.aio.pin_cid(root_cid, timeout=300)
        res["py_to_kubo"] = size / (time.perf_counter() - t0) / MB
        res["cpu_ms_per_mb_out"] = (_cpu_self() - c0) * 1e3 / (size / MB)
        res["kubo_cpu_ms_per_mb_in"] = (_cpu_pid(kubo_dst.pid) - k0) * 1e3 / (size / MB)
        await trio.to_thread.run_sync(kubo_dst.stop)
        nursery.cancel_scope.cancel()
    return res


def kubo_section(mib: int, reps: int) -> None:
    from jzfs_interop.kubo import KuboPeer
    from jzfs_interop.netns import is_loopback_only

    if not is_loopback_only():
        print("  skipped: not in a loopback-only namespace (run through interop/run.sh)")
        return
    tmp = Path(tempfile.mkdtemp(prefix="jzfs-bench-stream-"))
    try:
        data = tmp / "data.bin"
        data.write_bytes(os.urandom(mib * 1024 * 1024))
        size = mib * 1024 * 1024
        n = [0]

        def fresh() -> KuboPeer:
            n[0] += 1
            return KuboPeer(tmp / f"k{n[0]}" / "repo").start()

        with KuboPeer(tmp / "src" / "repo") as src:
            cid = src.add_file(data)
            ref, k2p, p2k, cpu = [], [], [], []
            for _ in range(reps):
                dst = fresh()
                dst.connect(src.multiaddr)
                t0, k0 = time.perf_counter(), _cpu_pid(dst.pid)
                dst.pin_cid(cid, timeout=300)
                ref.append(size / (time.perf_counter() - t0) / MB)
                kubo_in = (_cpu_pid(dst.pid) - k0) * 1e3 / (size / MB)
                dst.stop()
                r = trio.run(kubo_round, src, fresh, cid, size)
                k2p.append(r["kubo_to_py"])
                p2k.append(r["py_to_kubo"])
                cpu.append((kubo_in, r["cpu_ms_per_mb_in"], r["cpu_ms_per_mb_out"]))
    finally:  # the Kubo repos hold copies of the file: do not leave them in /tmp
        shutil.rmtree(tmp, ignore_errors=True)
    kk = statistics.median(ref)
    print(f"  Kubo -> Kubo PinCID ({mib} MiB):        {kk:7.1f} MB/s   runs {_fmt(ref)}")
    print(f"  Kubo -> jzfs host (bitswap streams):  {statistics.median(k2p):7.1f} MB/s   "
          f"ratio {statistics.median(k2p) / kk:.2f}x   runs {_fmt(k2p)}")
    print(f"  jzfs host -> Kubo PinCID:             {statistics.median(p2k):7.1f} MB/s   "
          f"ratio {statistics.median(p2k) / kk:.2f}x   runs {_fmt(p2k)}")
    med = [statistics.median(c[i] for c in cpu) for i in range(3)]
    print(f"  CPU ms per MB (less noisy than MB/s): Kubo receiving (whole worker process) {med[0]:.1f}, "
          f"jzfs host receiving {med[1]:.1f}, jzfs host sending {med[2]:.1f}")


def _fmt(xs: list[float]) -> str:
    return "[" + ", ".join(f"{x:.0f}" for x in xs) + "]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-kubo", action="store_true")
    ap.add_argument("--kubo-only", action="store_true")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1], int(args.child[2]))
        return
    total = args.mib * 1024 * 1024
    print(f"bench_stream: {args.mib} MiB, {args.reps} reps, MB = 10^6 B (2-core box, noisy)")
    if args.kubo_only:
        kubo_section(args.mib, args.reps)
        return
    print("1. py -> py, one stream (both ends in one process)")
    res = {m: [run_child(m, "one", total)["mbps"] for _ in range(args.reps)] for m in ("stock", "ours")}
    s, o = statistics.median(res["stock"]), statistics.median(res["ours"])
    print(f"  stock py-libp2p Yamux: {s:7.1f} MB/s   runs {_fmt(res['stock'])}")
    print(f"  jzfs Yamux:            {o:7.1f} MB/s   runs {_fmt(res['ours'])}   ratio {o / s:.2f}x")
    print("2. py -> py, one 256 KiB message per stream, 16 in flight")
    count = max(64, total // (256 * 1024))
    res2 = {m: [run_child(m, "short", count) for _ in range(args.reps)] for m in ("stock", "ours")}
    for m, label in (("stock", "py-libp2p Yamux"), ("ours", "jzfs Yamux")):
        sps = statistics.median(r["streams_per_s"] for r in res2[m])
        mbps = statistics.median(r["mbps"] for r in res2[m])
        print(f"  {label:22s} {sps:7.0f} streams/s  {mbps:7.1f} MB/s   (other fixes on in both)")
    if not args.no_kubo:
        print("3./4. against real Kubo 0.22 (bitswap streams)")
        kubo_section(args.mib, args.reps)


if __name__ == "__main__":
    main()
