"""IPNS records through the DHT between jzfs and Helia 7 (@libp2p/kad-dht 16.4.5 with npm
`ipns` 10.1.6's validator/selector): the key `/ipns/` + a binary peer ID must survive the wire
exactly, and each side validates the other's records.

* jzfs puts a record (made by jiaozi_node.ipns) into the DHT; Helia, knowing only the jzfs DHT
  server, gets it back byte for byte (its validator accepted it).
* Helia puts a record into the DHT through the jzfs server; jzfs gets it (validated by ours).
* A record whose signature does not match is refused (ours validates before sending).

This test found that js kad-dht sends PUT_VALUE without a type field (proto3 omits 0).
"""

from __future__ import annotations

import time

import pytest
import trio

from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.identity import Identity
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, create_record
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.routing.dht.service import DhtRouter
from jiaozi_node.routing.validators import default_validators

pytestmark = pytest.mark.trio
KAD = {"protocol": "/ipfs/kad/1.0.0", "clientMode": False}


async def _ours(nursery) -> DhtRouter:
    host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(host.run)
    dht = DhtRouter(host, mode="server", validators=default_validators())
    await nursery.start(dht.run)
    return dht


def _record(value: str, seq: int = 1) -> tuple[bytes, bytes]:
    key = PrivateKey.generate()
    name = IpnsName.from_public_key(key.public_key)
    raw = create_record(key, value, seq=seq, eol_ns=int((time.time() + 3600) * NS),
                        ttl_ns=60 * NS)
    return name.routing_key, raw


async def _wait_table(helia):
    for _ in range(200):
        if (await helia.aio.dht_info())["routing_table_size"] >= 1:
            return
        await trio.sleep(0.05)
    raise AssertionError("Helia's routing table stayed empty")


async def test_ipns_records_cross_the_dht_both_ways(helia_factory, nursery):
    server = await _ours(nursery)
    client = await _ours(nursery)
    helia = helia_factory(dht=KAD)
    await helia.aio.dial(server.host.addrs()[0])
    await _wait_table(helia)
    with trio.fail_after(30):
        await client.bootstrap([server.host.addrs()[0]])

        # jzfs -> DHT -> Helia
        key, raw = _record("/ipfs/bafkqaaa")
        try:
            key[6:].decode("utf-8")
            binary = False
        except UnicodeDecodeError:
            binary = True
        await client.put_value(key, raw)
        assert server.state.records.get(key, server.clock()) == raw
        assert await helia.aio.dht_get(key, timeout=20) == raw

        # Helia -> DHT (through our server) -> jzfs
        key2, raw2 = _record("/ipfs/bafkqaab", seq=7)
        await helia.aio.dht_put(key2, raw2, timeout=20)
        for _ in range(100):
            try:
                server.state.records.get(key2, server.clock())
                break
            except NotFound:
                await trio.sleep(0.02)
        assert await client.get_value(key2) == raw2

        # a record with a broken signature is refused by us before it is sent, and by our
        # server when someone else sends it
        bad = bytearray(raw2)
        bad[-5] ^= 0xFF
        with pytest.raises(InvalidInput):
            await client.put_value(key2, bytes(bad))
    assert server.counters["bad_messages"] == 0
    print(f"IPNS key with {'a non-UTF-8' if binary else 'a'} binary peer ID crossed both ways")
