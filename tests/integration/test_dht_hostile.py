"""Hostile input to our DHT server over real libp2p streams: garbage, over-limit frames, too many
streams, invalid records. The sender is dropped; the node keeps answering everyone else."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from jiaozi_node.config import DHT_LIMITS
from jiaozi_node.errors import InvalidInput, JzfsError
from jiaozi_node.identity import Identity
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.routing.dht import message as m
from jiaozi_node.routing.dht.keys import peer_bytes
from jiaozi_node.routing.dht.service import DhtRouter

pytestmark = pytest.mark.trio
PROTO = "/ipfs/kad/1.0.0"


async def _node(nursery, limits=DHT_LIMITS):
    host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(host.run)
    dht = DhtRouter(host, mode="server", limits=limits)
    await nursery.start(dht.run)
    return dht


async def _raw(host, peer, payload: bytes) -> bytes:
    """Open a DHT stream, send raw bytes, return whatever comes back (b"" on reset/close)."""
    stream = await host.new_stream(peer, [PROTO])
    try:
        await stream.write(payload)
        await stream.close_write()
        return await stream.read_until_eof(1 << 20)
    except JzfsError:
        return b""
    finally:
        await stream.close()


async def _ping(host, peer) -> bool:
    reply = await _raw(host, peer, m.frame(m.encode(m.Message(m.PING))))
    return m.FrameReader().feed(reply) != []


async def test_garbage_drops_the_sender_and_others_are_still_served(nursery):
    server = await _node(nursery)
    bad = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(bad.run)
    good = await _node(nursery)
    with trio.fail_after(30):
        await bad.connect(server.host.addrs()[0])
        await good.bootstrap([server.host.addrs()[0]])
        server.add_peer(bad.peer_id, bad.listen_addrs())
        assert await _ping(bad, server.peer_id)
        garbage = [
            m.frame(b"\x08\x09"),                 # unknown message type
            b"\xff\xff\xff\xff\x7f",             # length prefix far over the limit
            m.frame(b"\x12\x05ab"),              # truncated field
        ]
        for g in garbage:
            assert await _raw(bad, server.peer_id, g) == b""
        assert server.counters["bad_messages"] == 3
        assert server.counters["dropped_peers"] == 1
        assert bad.peer_id not in server.state.table
        for _ in range(100):  # the disconnect runs in the background
            if not server.host.is_connected(bad.peer_id):
                break
            await trio.sleep(0.02)
        assert not server.host.is_connected(bad.peer_id)
        # everyone else is still answered
        found = await good.find_peer(server.peer_id)
        assert found.peer_id == server.peer_id
        assert await _ping(good.host, server.peer_id)


async def test_invalid_records_are_refused_not_stored(nursery):
    server = await _node(nursery)
    client = await _node(nursery)
    with trio.fail_after(30):
        await client.bootstrap([server.host.addrs()[0]])
        ident = Identity.generate()
        key = b"/pk/" + peer_bytes(ident.peer_id)
        wrong = Identity.generate().public_key_protobuf
        with pytest.raises(InvalidInput):
            await client.put_value(key, wrong)  # refused before anything is sent
        reply = await _raw(client.host, server.peer_id, m.frame(m.encode(
            m.Message(m.PUT_VALUE, key=key, record=m.Record(key, wrong)))))
        assert reply == b""  # the server resets the stream
        assert len(server.state.records) == 0
        assert server.counters["bad_messages"] == 0  # refused, but not garbage
        other = b"/other/" + b"\xff\x00"
        assert await _raw(client.host, server.peer_id, m.frame(m.encode(
            m.Message(m.PUT_VALUE, key=other, record=m.Record(other, b"v"))))) == b""
        await client.put_value(key, ident.public_key_protobuf)  # the valid one is stored
        assert server.state.records.get(key, server.clock()) == ident.public_key_protobuf


async def test_inbound_streams_per_peer_are_bounded(nursery):
    server = await _node(nursery, replace(DHT_LIMITS, max_inbound_streams_per_peer=2))
    client = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(client.run)
    with trio.fail_after(30):
        await client.connect(server.host.addrs()[0])
        held = [await client.new_stream(server.peer_id, [PROTO]) for _ in range(2)]
        for s in held:  # make sure the server has picked both up
            await s.write(m.frame(m.encode(m.Message(m.PING))))
            await s.read()
        assert await _raw(client, server.peer_id, m.frame(m.encode(m.Message(m.PING)))) == b""
        assert server.counters["refused_streams"] == 1
        for s in held:
            await s.close()
        for _ in range(100):
            if not server.transport._inbound:
                break
            await trio.sleep(0.02)
        assert await _ping(client, server.peer_id)


async def test_a_lying_server_is_dropped_and_lookups_go_on(nursery):
    """A peer that answers every request with garbage: each answer counts against it, it
    leaves the table, and lookups still find what honest peers know."""
    good = await _node(nursery)
    liar = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(liar.run)

    async def lie(stream):
        await stream.read()
        await stream.write(m.frame(b"\x08\x04\x42\x02\x12\x00"))  # a peer entry without an ID

    liar.set_stream_handler(PROTO, lie)
    client = await _node(nursery)
    with trio.fail_after(30):
        await client.bootstrap([good.host.addrs()[0]])
        client.add_peer(liar.peer_id, liar.listen_addrs())
        ident = Identity.generate()
        key = b"/pk/" + peer_bytes(ident.peer_id)
        good.state.records.put(key, ident.public_key_protobuf, good.clock())
        for _ in range(3):
            client.state.records._recs.clear()  # ask the network each time
            assert await client.get_value(key) == ident.public_key_protobuf
        assert client.counters["bad_messages"] >= 3
        assert client.counters["dropped_peers"] == 1
        assert liar.peer_id not in client.state.table
