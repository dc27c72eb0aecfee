"""Two jzfs nodes (real repos) online in one trio process on 127.0.0.1: node.online() wiring."""

from __future__ import annotations

import pytest
import trio

from jiaozi_node.api import swarm
from jiaozi_node.errors import NotFound
from jiaozi_node.node import Node

LOOP = ["/ip4/127.0.0.1/tcp/0"]


@pytest.fixture
def nodes(tmp_path):
    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    yield a, b
    a.close()
    b.close()


async def test_online_connect_identify_ping_disconnect(nodes):
    a, b = nodes
    async with a.online(listen=LOOP, services=()) as pa, b.online(listen=LOOP, services=()) as pb:
        assert pa.peer_id == a.repo.peer_id and pb.peer_id == b.repo.peer_id
        me = await swarm.id_info(pa)
        assert me["ID"] == a.repo.peer_id and me["Addresses"] == pa.host.addrs()
        assert me["AgentVersion"].startswith("jzfs/")
        local = await swarm.local_addrs(pb, with_id=True)
        out = await swarm.connect(pa, local["Strings"])
        assert out == {"Strings": [f"connect {pb.peer_id} success"]}
        peers = await swarm.peers(pa, verbose=True)
        assert [(p["Peer"], p["Muxer"]) for p in peers["Peers"]] == [(pb.peer_id, "/yamux/1.0.0")]
        remote = await swarm.id_info(pa, pb.peer_id)
        assert remote["ID"] == pb.peer_id and remote["AgentVersion"].startswith("jzfs/")
        assert remote["Addresses"] == pb.host.addrs()
        pings = await swarm.ping(pa, pb.peer_id, count=2)
        assert [p["Success"] for p in pings] == [True, True, True] and pings[0]["Time"] > 0
        addrs = await swarm.addrs(pa)
        assert pb.host.listen_addrs()[0] in addrs["Addrs"][pb.peer_id]

        gone = trio.Event()
        pb.host.on_disconnected(lambda p: gone.set() if p == pa.peer_id else None)
        assert await swarm.disconnect(pa, [pb.peer_id]) == {"Strings": [f"disconnect {pb.peer_id} success"]}
        with trio.fail_after(5):
            await gone.wait()
        assert (await swarm.peers(pa))["Peers"] == []
        with pytest.raises(NotFound):
            await swarm.disconnect(pa, [pb.peer_id])


async def test_custom_protocol_between_online_nodes(nodes):
    a, b = nodes
    async with a.online(listen=LOOP, services=()) as pa, b.online(listen=LOOP, services=()) as pb:
        async def shout(stream):
            await stream.write((await stream.read_until_eof(1024)).upper())

        pb.host.set_stream_handler("/test/shout/1.0.0", shout)
        await pa.host.connect(pb.host.addrs()[0])
        s = await pa.host.new_stream(pb.peer_id, "/test/shout/1.0.0")
        await s.write(b"hello jzfs")
        await s.close_write()
        assert await s.read_until_eof(1024) == b"HELLO JZFS"


async def test_peering_keeps_a_peer_connected(nodes):
    a, b = nodes
    async with a.online(listen=LOOP, services=()) as pa:
        b.repo.set_config("Peering.Peers", [{"ID": pa.peer_id, "Addrs": pa.host.listen_addrs()}])
        ups: list[trio.Event] = [trio.Event(), trio.Event()]
        down = trio.Event()
        pa.host.on_connected(lambda p: next(e for e in ups if not e.is_set()).set())
        pa.host.on_disconnected(lambda p: down.set())
        async with b.online(listen=LOOP, services=()) as pb:
            assert "peering" in pb.services
            with trio.fail_after(10):
                await ups[0].wait()  # B dialed A on its own
            assert pb.peer_id in pa.host.peers()
            # A hangs up on B: B's peering service dials A again (after ~1 s of backoff)
            await pa.host.disconnect(pb.peer_id)
            with trio.fail_after(10):
                await down.wait()
                await ups[1].wait()
            assert pb.peer_id in pa.host.peers()


async def test_default_services_start_and_stop(nodes, tmp_path):
    a, _ = nodes
    a.repo.set_config("Addresses.API", "/ip4/127.0.0.1/tcp/0")
    a.repo.set_config("Addresses.Gateway", "/ip4/127.0.0.1/tcp/0")
    async with a.online(listen=LOOP) as pa:
        # every module in SERVICE_MODULES that exists registered itself and is running
        assert pa.services, "no service started"
        assert pa.host.listen_addrs()
    # leaving the block closed the listener: a fresh node can bind the same repo again
    async with a.online(listen=LOOP, services=()) as again:
        assert again.peer_id == a.repo.peer_id
