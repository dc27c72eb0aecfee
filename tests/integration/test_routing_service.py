"""The routing service inside node.online(): a Bitswap fetch finds its provider through routing
(no address given to the fetch), the peer store keeps identify's addresses across a restart, and
Routing.Type none / bad values behave."""

from __future__ import annotations

import pytest
import trio

from jiaozi_node.api.service import retrieval_for
from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.node import Node
from jiaozi_node.routing.base import PeerRecord, RoutingUnsupported

LOOP = ["/ip4/127.0.0.1/tcp/0"]
SERVICES = ("jiaozi_node.bitswap.service", "jiaozi_node.routing.service")


@pytest.fixture
def nodes(tmp_path):
    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    yield a, b
    a.close()
    b.close()


class OneProvider:
    """A content router that knows one provider of everything (stands in for the DHT here;
    tests/integration/test_routing_dht.py runs the real one)."""

    name = "fake"

    def __init__(self, rec: PeerRecord) -> None:
        self.rec = rec

    async def find_providers(self, cid, *, limit=20):
        yield self.rec

    async def provide(self, cids):
        raise RoutingUnsupported("fake")

    async def find_peer(self, peer_id):
        raise NotFound(peer_id)

    async def get_value(self, key):
        raise NotFound(key)

    async def put_value(self, key, value):
        raise RoutingUnsupported("fake")


async def test_fetch_finds_provider_through_routing(nodes):
    a, b = nodes
    data = b"routed content " * 50_000  # several blocks
    cid = a.add_bytes(data)
    async with a.online(listen=LOOP, services=SERVICES) as pa:
        async with b.online(listen=LOOP, services=SERVICES) as pb:
            assert pb.host.peers() == []
            routing = pb.services["routing"]
            routing.router.add(OneProvider(PeerRecord(pa.peer_id, tuple(pa.host.listen_addrs()))))
            r = retrieval_for(pb)
            assert routing.finder in r.sources
            with trio.fail_after(20):
                await r.fetch_dag(cid)  # no address given: the finder found and dialled A
            assert pa.peer_id in pb.host.peers()
            assert routing.finder.stats["dials_ok"] == 1
            # the provider's addresses were remembered (second-hand TTL)
            assert routing.peerstore.addrs(pa.peer_id, now=0)
    assert b.cat(cid) == data


async def test_static_router_finds_peering_peers_by_id(nodes):
    a, b = nodes
    async with a.online(listen=LOOP, services=SERVICES) as pa:
        b.repo.set_config("Peering.Peers", [{"ID": pa.peer_id, "Addrs": pa.host.listen_addrs()}])
        async with b.online(listen=LOOP, services=SERVICES, peering=False) as pb:
            routing = pb.services["routing"]
            rec = await routing.router.find_peer(pa.peer_id)
            assert rec.addrs == tuple(pa.host.listen_addrs())
            with trio.fail_after(10):
                assert await routing.dialer.connect(PeerRecord(pa.peer_id)) == pa.peer_id


async def test_peer_store_survives_restart(nodes):
    a, b = nodes
    async with a.online(listen=LOOP, services=SERVICES) as pa:
        async with b.online(listen=LOOP, services=SERVICES, peering=False) as pb:
            await pb.host.connect(pa.host.addrs()[0])
            routing = pb.services["routing"]
            with trio.fail_after(10):
                await routing._learn(pa.peer_id)  # what the on_connected hook runs
            assert routing.peerstore.addrs(pa.peer_id, now=0)
        # B restarts: the dialer reaches A by ID alone, from the peer store
        async with b.online(listen=LOOP, services=SERVICES, peering=False) as pb:
            routing = pb.services["routing"]
            assert pa.host.listen_addrs()[0] in routing.peerstore.addrs(pa.peer_id, now=0)
            with trio.fail_after(10):
                assert await routing.dialer.connect(PeerRecord(pa.peer_id)) == pa.peer_id


async def test_routing_type_none_and_invalid(nodes):
    a, _ = nodes
    a.repo.set_config("Routing.Type", "none")
    async with a.online(listen=LOOP, services=SERVICES) as pa:
        routing = pa.services["routing"]
        assert routing.router.routers == [] and routing.finder is None
        assert routing.finder not in retrieval_for(pa).sources
    a.repo.set_config("Routing.Type", "bogus")
    with pytest.raises(BaseException) as info:
        async with a.online(listen=LOOP, services=SERVICES):
            pass
    assert info.group_contains(InvalidInput) if isinstance(info.value, BaseExceptionGroup) \
        else isinstance(info.value, InvalidInput)


async def test_clone_and_pull_a_commit_found_through_routing(nodes, tmp_path):
    from jiaozi_node.errors import SignatureError
    from jiaozi_node.versioning.sync import SyncClient

    a, b = nodes
    d = tmp_path / "data"
    d.mkdir()
    (d / "f.csv").write_bytes(b"a,b\n" * 20_000)
    vs = a.versioning
    vs.create_repo("ds", now=1)
    c1 = vs.commit("ds", d, branch="main", message="one", now=1).cid
    (d / "g.csv").write_bytes(b"c,d\n" * 1000)
    c2 = vs.commit("ds", d, branch="main", message="two", now=2).cid
    services = SERVICES + ("jiaozi_node.versioning.sync",)
    async with a.online(listen=LOOP, services=services) as pa:
        async with b.online(listen=LOOP, services=services) as pb:
            pb.services["routing"].router.add(OneProvider(PeerRecord(pa.peer_id, tuple(pa.host.listen_addrs()))))
            client = SyncClient(pb)
            with trio.fail_after(30):
                res = await client.clone_commit(c1, "copy", now=3)  # no address: routing
            assert res.new_commits == 1 and res.peer == a.repo.peer_id
            assert b.versioning.branch_head("copy", "main") == c1
            with trio.fail_after(30):
                await client.fetch_commit(c2, "copy", branch="main")
            assert client.fast_forward("copy", "main", c2) == "fast-forward"
            # an untrusted signer is refused, and nothing moves
            b.versioning.trust_rm(a.repo.peer_id)
            (d / "h.csv").write_bytes(b"e\n")
            c3 = vs.commit("ds", d, branch="main", message="three", now=4).cid
            with pytest.raises(SignatureError), trio.fail_after(30):
                await client.fetch_commit(c3, "copy")
            assert b.versioning.branch_head("copy", "main") == c2


async def test_dht_table_survives_restart_through_peer_store(nodes):
    a, b = nodes
    cid = a.add_bytes(b"found after a restart " * 1000)
    async with a.online(listen=LOOP, services=SERVICES) as pa:
        b.repo.set_config("Bootstrap", [pa.host.addrs()[0]])
        async with b.online(listen=LOOP, services=SERVICES) as pb:
            dht = pb.services["routing"].dht
            with trio.fail_after(20):
                while pa.peer_id not in dht.state.table:  # noqa: ASYNC110 - the DHT's own bootstrap task
                    await trio.sleep(0.05)
        # B restarts knowing nobody: its table comes back from the peer store
        b.repo.set_config("Bootstrap", [])
        async with b.online(listen=LOOP, services=SERVICES) as pb:
            routing = pb.services["routing"]
            assert pa.peer_id in routing.dht.state.table
            with trio.fail_after(30):
                await retrieval_for(pb).fetch_dag(cid)  # A is found (and dialled) through the DHT
            assert pa.peer_id in pb.host.peers()
