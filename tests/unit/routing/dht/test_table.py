from jiaozi_node.identity import Identity
from jiaozi_node.routing.dht.keys import common_prefix_len, kad_id, peer_kad
from jiaozi_node.routing.dht.table import RoutingTable


def _peers(n):
    return [Identity.generate().peer_id for _ in range(n)]


def test_closest_is_sorted_by_xor_distance():
    me = _peers(1)[0]
    t = RoutingTable(me, k=20)
    ps = _peers(60)
    for p in ps:
        t.add(p, 0.0)
    target = kad_id(b"some key")
    got = t.closest(target, 10)
    want = sorted((p for p in ps if p in t),
                  key=lambda p: int.from_bytes(peer_kad(p), "big") ^ int.from_bytes(target, "big"))
    assert got == want[:10]
    assert me not in t.peers() and not t.add(me, 0.0)
    assert t.closest(target, 5, exclude={got[0]})[0] == got[1]


def test_buckets_are_bounded_and_prefer_old_peers():
    me = _peers(1)[0]
    t = RoutingTable(me, k=2, max_peers=1000)
    # bucket 0 holds half the keyspace: the first two peers landing there fill it
    zero = [p for p in _peers(40) if common_prefix_len(peer_kad(p), t.local) == 0]
    assert t.add(zero[0], 0) and t.add(zero[1], 0)
    assert not t.add(zero[2], 1)  # full: keep the old ones
    t.failed(zero[0])
    assert t.add(zero[2], 2)  # a failed peer is replaceable
    assert zero[0] not in t and zero[2] in t
    assert all(len(ps) <= 2 for _, ps in t.buckets())


def test_total_size_bound_and_removal_after_failures():
    me = _peers(1)[0]
    t = RoutingTable(me, k=20, max_peers=5)
    for p in _peers(30):
        t.add(p, 0)
    assert len(t) == 5
    p = t.peers()[0]
    for _ in range(3):
        t.failed(p)
    assert p not in t and len(t) == 4
    assert not t.remove(p)


def test_stale_buckets():
    me = _peers(1)[0]
    t = RoutingTable(me)
    for p in _peers(10):
        t.add(p, 0)
    stale = t.stale_buckets(100.0, 50.0)
    assert 0 in stale
    t.mark_refreshed(0, 90.0)
    assert 0 not in t.stale_buckets(100.0, 50.0)
