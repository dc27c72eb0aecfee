"""The keyspace sweep places every key on exactly its k closest peers, with few lookups."""

import random

from jiaozi_node.identity import Identity
from jiaozi_node.routing.dht.keys import kad_int, peer_kad
from jiaozi_node.routing.dht.sweep import Sweep


def _closest(peers, key, n):
    t = kad_int(key)
    return sorted(peers, key=lambda p: int.from_bytes(peer_kad(p), "big") ^ t)[:n]


def test_sweep_matches_per_key_placement_with_fewer_lookups():
    rng = random.Random(3)
    peers = [Identity.generate().peer_id for _ in range(120)]
    keys = [rng.randbytes(34) for _ in range(600)]
    k = 5
    sw = Sweep(keys, k=k)
    while (key := sw.step()) is not None:
        # an exact lookup: the lookup_k nearest peers answered, plus a few farther ones
        sw.on_lookup(key, _closest(peers, key, sw.lookup_k) + rng.sample(peers, 5))
    placed = {}
    for p, ks in sw.assigned.items():
        for key in ks:
            placed.setdefault(key, set()).add(p)
    assert all(placed[key] == set(_closest(peers, key, k)) for key in keys)
    assert sw.lookups < len(keys) / 3, sw.lookups


def test_small_networks_and_nobody_answering():
    peers = [Identity.generate().peer_id for _ in range(3)]
    sw = Sweep([b"a", b"b", b"c"], k=20)
    key = sw.step()
    sw.on_lookup(key, peers)  # fewer than lookup_k answered: everyone reachable
    assert sw.step() is None and sw.lookups == 1
    assert all(sorted(v) == sorted([b"a", b"b", b"c"]) for v in sw.assigned.values())
    sw = Sweep([b"a", b"b"], k=20)
    sw.on_lookup(sw.step(), [])
    assert sw.step() is None and sw.assigned == {}
