"""The lookup state machine, driven against a simulated network (no sockets)."""

import math
import random

from jiaozi_node.identity import Identity
from jiaozi_node.routing.dht.keys import kad_id, peer_kad
from jiaozi_node.routing.dht.lookup import Lookup
from jiaozi_node.routing.dht.table import RoutingTable


def _net(n, k, seed=1):
    rng = random.Random(seed)
    peers = [Identity.generate().peer_id for _ in range(n)]
    tables = {}
    for p in peers:
        t = RoutingTable(p, k=k)
        others = [q for q in peers if q != p]
        rng.shuffle(others)
        for q in others:
            t.add(q, 0)
        tables[p] = t
    return peers, tables


def _run(lk, tables, dead=(), answer=None):
    """Round-synchronous driver: answer every query in flight, then ask for more."""
    answer = answer or lk.k
    while not lk.finished:
        batch = lk.next_queries()
        assert batch, "not finished but nothing to do"
        for p in batch:
            if p in dead:
                lk.on_failure(p)
            else:
                lk.on_response(p, tables[p].closest(lk.target, answer))


def _true_closest(peers, target, n):
    t = int.from_bytes(target, "big")
    return sorted(peers, key=lambda p: int.from_bytes(peer_kad(p), "big") ^ t)[:n]


def test_finds_the_k_closest_in_log_hops():
    n, k = 200, 8
    peers, tables = _net(n, k)
    for i in range(20):
        target = kad_id(f"key {i}".encode())
        start = peers[i]
        lk = Lookup(target, tables[start].closest(target, k), k=k, alpha=3, local_peer=start)
        _run(lk, tables)
        assert set(lk.closest()) == set(_true_closest([p for p in peers if p != start], target, k))
        assert 1 <= lk.hops <= math.ceil(math.log2(n)) + 2
        assert lk.in_flight == 0


def test_alpha_bounds_in_flight_and_failures_are_skipped():
    peers, tables = _net(60, 5)
    target = kad_id(b"x")
    lk = Lookup(target, tables[peers[0]].closest(target, 5), k=5, alpha=3)
    first = lk.next_queries()
    assert len(first) == 3 and lk.next_queries() == []
    dead = set(_true_closest(peers, target, 2))
    for p in first:
        if p in dead:
            lk.on_failure(p)
        else:
            lk.on_response(p, tables[p].closest(target, 8))
    _run(lk, tables, dead=dead, answer=8)  # answers hold more than the 2 dead peers
    assert not set(lk.closest()) & dead
    assert len(lk.closest()) == 5


def test_stop_and_exhaustion():
    lk = Lookup(kad_id(b"t"), [], k=3)
    assert lk.finished and lk.next_queries() == []  # nobody to ask
    peers, tables = _net(10, 3)
    lk = Lookup(kad_id(b"t"), peers[:3], k=3)
    lk.next_queries()
    lk.stop()
    assert lk.finished


def test_max_queries_bounds_a_hostile_network():
    # every answer names fresh peers that are closer than all before: the lookup must still end
    target = kad_id(b"t")
    t = int.from_bytes(target, "big")
    pool = sorted((Identity.generate().peer_id for _ in range(200)),
                  key=lambda p: -(int.from_bytes(peer_kad(p), "big") ^ t))
    lk = Lookup(target, [pool.pop(0)], k=3, alpha=3, max_queries=12)
    while not lk.finished:
        for p in lk.next_queries():
            lk.on_response(p, [pool.pop(0) for _ in range(3)])
    assert lk.queries == 12


def test_hops_count_the_chain_of_referrals():
    a, b, c = (Identity.generate().peer_id for _ in range(3))
    lk = Lookup(kad_id(b"t"), [a], k=1, alpha=1)
    assert lk.next_queries() == [a]
    lk.on_response(a, [b])
    nxt = lk.next_queries()
    if nxt:  # b is closer than a: asked next, at hop 2
        lk.on_response(b, [c])
        assert lk.hop_of(b) == 2
        assert lk.hops >= 2
