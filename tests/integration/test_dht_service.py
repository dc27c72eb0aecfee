"""The DHT as the node starts it (routing/service.py -> start_dht): Routing.Type picks the mode,
Routing.DHT.Protocol the protocol ID; `Bootstrap` peers fill the table; two nodes find each
other's provider records and IPNS records through it."""

from __future__ import annotations

import time
from contextlib import aclosing

import pytest
import trio

from jiaozi_node.config import DHT_PROTOCOL_LAN, DHT_PROTOCOL_WAN
from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, create_record
from jiaozi_node.node import Node

LOOP = ["/ip4/127.0.0.1/tcp/0"]
SERVICES = ("jiaozi_node.bitswap.service", "jiaozi_node.routing.service")


@pytest.fixture
def nodes(tmp_path):
    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    yield a, b
    a.close()
    b.close()


async def test_modes_and_protocols_from_config(nodes):
    a, b = nodes
    a.repo.set_config("Routing.Type", "dhtclient")
    b.repo.set_config("Routing.DHT.Protocol", "lan")
    async with a.online(listen=LOOP, services=SERVICES) as pa, \
            b.online(listen=LOOP, services=SERVICES) as pb:
        da, db = pa.services["dht"], pb.services["dht"]
        assert (da.mode, da.protocol) == ("client", DHT_PROTOCOL_WAN)
        assert (db.mode, db.protocol) == ("server", DHT_PROTOCOL_LAN)
        assert not any("/kad/" in p for p in pa.host.protocols())  # a client serves nothing
        assert DHT_PROTOCOL_LAN in pb.host.protocols()
    a.repo.set_config("Routing.DHT.Protocol", "no slash")
    with pytest.raises(BaseException) as info:
        async with a.online(listen=LOOP, services=SERVICES):
            pass
    assert info.group_contains(InvalidInput) if isinstance(info.value, BaseExceptionGroup) \
        else isinstance(info.value, InvalidInput)


async def test_bootstrap_then_providers_and_ipns_records(nodes):
    a, b = nodes
    cid = a.add_bytes(b"announced through the node's DHT " * 100)
    async with a.online(listen=LOOP, services=SERVICES) as pa:
        b.repo.set_config("Bootstrap", [pa.host.addrs()[0]])
        async with b.online(listen=LOOP, services=SERVICES) as pb:
            da, db = pa.services["dht"], pb.services["dht"]
            with trio.fail_after(20):
                for _ in range(200):  # B's bootstrap runs in the background
                    if pa.peer_id in db.state.table:
                        break
                    await trio.sleep(0.02)
                assert pa.peer_id in db.state.table
                await da.provide([cid])
                async with aclosing(db.find_providers(cid, limit=1)) as found:
                    assert [r.peer_id async for r in found] == [pa.peer_id]
                key = PrivateKey.generate()
                name = IpnsName.from_public_key(key.public_key)
                raw = create_record(key, f"/ipfs/{cid}", seq=1,
                                    eol_ns=int((time.time() + 600) * NS), ttl_ns=60 * NS)
                await db.put_value(name.routing_key, raw)  # the node's IPNS validator accepts it
                assert await da.get_value(name.routing_key) == raw


async def test_dual_dht_serves_both_protocols_and_finds_through_either(nodes, tmp_path):
    a, b = nodes
    c = Node.open(tmp_path / "c")
    try:
        a.repo.set_config("Routing.DHT.Protocol", "dual")
        b.repo.set_config("Routing.DHT.Protocol", "lan")
        c.repo.set_config("Routing.DHT.Protocol", "wan")
        cid = b.add_bytes(b"found over the LAN DHT " * 100)
        async with a.online(listen=LOOP, services=SERVICES) as pa:
            dual = pa.services["dht"]
            assert DHT_PROTOCOL_WAN in pa.host.protocols() and DHT_PROTOCOL_LAN in pa.host.protocols()
            assert "Lan" in dual.stats() and dual.state is dual.wan.state
            b.repo.set_config("Bootstrap", [pa.host.addrs()[0]])
            c.repo.set_config("Bootstrap", [pa.host.addrs()[0]])
            async with b.online(listen=LOOP, services=SERVICES) as pb, \
                    c.online(listen=LOOP, services=SERVICES) as pc:
                with trio.fail_after(20):
                    for _ in range(200):
                        if pa.peer_id in pb.services["dht"].state.table and \
                                pa.peer_id in pc.services["dht"].state.table:
                            break
                        await trio.sleep(0.02)
                    await pb.services["dht"].provide([cid])  # into A's LAN DHT
                    assert pb.peer_id in dual.lan.state.table  # B serves the LAN protocol
                    async with aclosing(dual.find_providers(cid, limit=1)) as found:
                        assert [r.peer_id async for r in found] == [pb.peer_id]
                    # C speaks only the WAN protocol: A's WAN DHT answers it from the same node
                    await dual.provide([cid])
                    async with aclosing(pc.services["dht"].find_providers(cid, limit=2)) as found:
                        assert pa.peer_id in [r.peer_id async for r in found]
    finally:
        c.close()
