"""mDNS local discovery (Discovery.MDNS.Enabled) — only inside the loopback-only namespace, with
multicast switched on for `lo` there (nothing can leave the namespace)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import trio
from jzfs_interop import netns

from jiaozi_node.node import Node

LOOP = ["/ip4/127.0.0.1/tcp/0"]
SERVICES = ("jiaozi_node.bitswap.service", "jiaozi_node.routing.service")


async def until(pred, seconds: float, what: str) -> None:
    """Poll `pred` (state held by other tasks and threads: zeroconf's, the js process)."""
    for _ in range(int(seconds / 0.05)):
        if pred():
            return
        await trio.sleep(0.05)
    raise AssertionError(f"not within {seconds}s: {what}")


@pytest.fixture
def multicast_lo():
    if not netns.is_loopback_only():
        pytest.skip("mDNS is tested only inside the loopback-only namespace")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is needed to enable multicast on lo in the namespace")
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    subprocess.run(["ip", "route", "replace", "224.0.0.0/4", "dev", "lo"], check=True)


@pytest.fixture
def nodes(tmp_path):
    out = []
    for name in ("a", "b"):
        n = Node.open(tmp_path / name)
        n.repo.set_config("Discovery.MDNS.Enabled", True)
        n.repo.set_config("Routing.Type", "none")
        out.append(n)
    yield out
    for n in out:
        n.close()


@pytest.mark.trio
async def test_two_jzfs_nodes_find_each_other(multicast_lo, nodes):
    a, b = nodes
    data = b"found on the local network " * 40_000
    cid = a.add_bytes(data)
    async with a.online(listen=LOOP, services=SERVICES) as pa, \
            b.online(listen=LOOP, services=SERVICES) as pb:
        await until(lambda: pa.peer_id in pb.host.peers(), 30, "B connected to A")
        # nothing else could have connected them: one saw the other's announcement
        assert pa.peer_id in pb.services["routing"].mdns.seen or pb.peer_id in pa.services["routing"].mdns.seen
        # the peer store has A's address from mDNS; Bitswap can fetch from the found peer
        from jiaozi_node.api.service import retrieval_for

        with trio.fail_after(30):
            await retrieval_for(pb).fetch_dag(cid)
    assert b.cat(cid) == data


@pytest.mark.trio
async def test_jzfs_and_js_libp2p_find_each_other(multicast_lo, nodes, tmp_path):
    """js-libp2p 3 with @libp2p/mdns (what Helia 7 uses): each side sees the other's mDNS
    announcement, and jzfs connects to it (as Kubo does with mDNS peers)."""
    import json
    import os
    from pathlib import Path

    from jzfs_interop.helia import node_available

    ok, why = node_available()
    if not ok:
        pytest.skip(why)
    script = Path(__file__).parent / "helia" / "mdns_peer.mjs"
    a, _ = nodes
    proc = await trio.lowlevel.open_process(["node", str(script), "25"], stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, cwd=script.parent,
                                            env={**os.environ})
    events: list[dict] = []
    buf = b""

    async def read_events() -> None:
        nonlocal buf
        assert proc.stdout is not None
        async for chunk in proc.stdout:
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                events.append(json.loads(line))

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_events)
            async with a.online(listen=LOOP, services=SERVICES) as pa:
                await until(lambda: bool(events), 30, "the js peer started")
                js_id = events[0]["peer_id"]
                await until(lambda: js_id in pa.services["routing"].mdns.seen, 30, "jzfs saw js")
                await until(lambda: any(e["event"] == "discovered" and e["peer_id"] == pa.peer_id
                                        for e in events), 30, "js saw jzfs")
                # and jzfs connects to what it found (as Kubo does)
                await until(lambda: js_id in pa.host.peers(), 20, "jzfs connected to js")
            nursery.cancel_scope.cancel()
    finally:
        proc.kill()
        await proc.wait()
