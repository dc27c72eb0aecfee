"""Why jzfs does not use py-libp2p 0.8.1's `libp2p.kad_dht` (the decision in docs/routing.md),
shown against a real py-libp2p KadDHT server on loopback, with our DHT as the other peer.

* It speaks the standard wire format: our FIND_NODE, ADD_PROVIDER and GET_PROVIDERS work with it.
* Its protocol ID is hard-coded: asked for a LAN DHT (`protocol_prefix="/ipfs/lan"`) it still
  serves `/ipfs/kad/1.0.0` only, so Kubo's LAN DHT (the only one that accepts loopback peers)
  and private networks cannot use it.
* Keys are decoded as UTF-8 text: a valid PUT_VALUE whose key is `/pk/` + a binary peer ID (as
  every `/pk/` and `/ipns/` key is) makes it reset the stream; our DHT stores the same record.
"""

from __future__ import annotations

import logging
from contextlib import aclosing

import multiaddr
import pytest
import trio
from libp2p import new_host
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.tools.anyio_service import background_trio_service

from jiaozi_node.errors import NetworkError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.routing.dht.keys import peer_bytes
from jiaozi_node.routing.dht.service import DhtRouter

pytestmark = pytest.mark.trio


def _non_utf8_pk_record() -> tuple[bytes, bytes]:
    while True:
        ident = Identity.generate()
        key = b"/pk/" + peer_bytes(ident.peer_id)
        try:
            key.decode("utf-8")
        except UnicodeDecodeError:
            return key, ident.public_key_protobuf


async def _ours(nursery, protocol="/ipfs/kad/1.0.0") -> DhtRouter:
    host = Libp2pHost(Identity.generate(), listen=["/ip4/127.0.0.1/tcp/0"])
    await nursery.start(host.run)
    dht = DhtRouter(host, mode="server", protocol=protocol)
    await nursery.start(dht.run)
    return dht


async def test_pylibp2p_kad_dht_fails_binary_keys_and_fixed_protocol(nursery, caplog):
    caplog.set_level(logging.WARNING)
    lib = logging.getLogger("libp2p")
    level = lib.level
    lib.setLevel(logging.WARNING)  # jzfs silences py-libp2p's logs; we want its reason here
    try:
        await _run(nursery, caplog)
    finally:
        lib.setLevel(level)


async def _run(nursery, caplog):
    listen = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
    host = new_host(listen_addrs=[listen], muxer_preference="YAMUX")
    async with host.run(listen_addrs=[listen]):
        kad = KadDHT(host, DHTMode.SERVER, protocol_prefix="/ipfs/lan")
        async with background_trio_service(kad):
            protos = {str(p) for p in host.get_mux().get_protocols() if p}
            # asked for the LAN prefix, it serves the WAN protocol ID all the same
            assert "/ipfs/kad/1.0.0" in protos and "/ipfs/lan/kad/1.0.0" not in protos
            addr = f"{host.get_addrs()[0]}"
            if "/p2p/" not in addr:
                addr += f"/p2p/{host.get_id()}"

            ours = await _ours(nursery)
            with trio.fail_after(20):
                assert await ours.bootstrap([addr]) == 1  # FIND_NODE answered: it is in our table
                cid = CID.of(b"provided to py-libp2p")
                await ours.provide([cid])  # ADD_PROVIDER accepted by it (no answer: poll)
                for _ in range(500):
                    if stored := kad.provider_store.get_providers(cid.multihash):
                        break
                    await trio.sleep(0.02)
                assert [str(p.peer_id) for p in stored] == [ours.peer_id]

                # PUT_VALUE of a valid /pk/ record under its binary key: py-libp2p resets the stream
                key, value = _non_utf8_pk_record()
                with pytest.raises(NetworkError, match="no DHT peer stored the record"):
                    await ours.put_value(key, value)
                assert ours.counters["failed_requests"] >= 1
                assert any("codec can't decode" in r.getMessage() for r in caplog.records), \
                    "py-libp2p's refusal is its UTF-8 decoding of the key"

            # the same PUT between two of our nodes is stored and read back byte for byte
            other = await _ours(nursery)
            with trio.fail_after(20):
                await other.bootstrap([ours.host.addrs()[0]])
                await other.put_value(key, value)
                assert ours.state.records.get(key, other.clock()) == value
                assert await other.get_value(key) == value
                async with aclosing(other.find_providers(cid, limit=1)) as found:
                    assert [r.peer_id async for r in found] == [ours.peer_id]
