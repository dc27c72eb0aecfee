"""jzfs's libp2p host adapter against real Kubo 0.22 (RSA and Ed25519 identities), loopback only.

Run through interop/run.sh (or pytest interop/…): conftest.py puts the process in a
loopback-only network namespace first.
"""

from __future__ import annotations

import time

import pytest
import trio

from jiaozi_node.identity import Identity
from jiaozi_node.net.libp2p_host import IDENTIFY_PROTOCOL, PING_PROTOCOL, Libp2pHost

pytestmark = pytest.mark.trio


def _host() -> Libp2pHost:
    return Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])


async def _check_identify_and_ping(host: Libp2pHost, peer_id: str) -> None:
    info = await host.identify(peer_id)
    assert info["AgentVersion"].startswith("kubo/"), info["AgentVersion"]
    assert IDENTIFY_PROTOCOL in info["Protocols"] and PING_PROTOCOL in info["Protocols"]
    assert any(p.startswith("/ipfs/bitswap") for p in info["Protocols"])
    rtts = await host.ping(peer_id, count=3)
    assert len(rtts) == 3 and all(r > 0 for r in rtts)
    print(f"ping rtt to Kubo: {min(rtts) * 1e3:.2f} ms")


@pytest.mark.parametrize("identity", ["rsa", "ed25519"])
async def test_we_dial_kubo(kubo_factory, identity):
    kubo = kubo_factory(identity=identity)
    host = _host()
    seen: list[str] = []
    host.on_connected(seen.append)
    async with trio.open_nursery() as nursery:
        await nursery.start(host.run)
        with trio.fail_after(20):
            t0 = time.perf_counter()
            peer = await host.connect(kubo.multiaddr)
            print(f"py -> Kubo ({identity}) connect: {(time.perf_counter() - t0) * 1e3:.1f} ms")
            assert peer == kubo.peer_id
            assert peer in host.peers() and seen == [peer]
            await _check_identify_and_ping(host, peer)
            assert host.peer_id in await kubo.aio.list_peer_ids()
            # Kubo learned who we are through our identify answer: agent jzfs/…
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("identity", ["rsa", "ed25519"])
async def test_kubo_dials_us(kubo_factory, identity):
    kubo = kubo_factory(identity=identity)
    host = _host()
    connected = trio.Event()
    disconnected = trio.Event()
    host.on_connected(lambda p: connected.set() if p == kubo.peer_id else None)
    host.on_disconnected(lambda p: disconnected.set() if p == kubo.peer_id else None)
    async with trio.open_nursery() as nursery:
        await nursery.start(host.run)
        with trio.fail_after(20):
            t0 = time.perf_counter()
            await kubo.aio.connect(host.addrs()[0])
            await connected.wait()
            print(f"Kubo -> py ({identity}) connect: {(time.perf_counter() - t0) * 1e3:.1f} ms")
            await _check_identify_and_ping(host, kubo.peer_id)
            await host.disconnect(kubo.peer_id)
            await disconnected.wait()
            assert kubo.peer_id not in host.peers()
        nursery.cancel_scope.cancel()
