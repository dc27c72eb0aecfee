"""Persistent peer store: survives reopen, expires, bounded per peer and in all."""

from __future__ import annotations

from dataclasses import replace

from jiaozi_node.config import ROUTING_LIMITS
from jiaozi_node.routing.peerstore import ROUTING_DB_FILE, PeerStore, open_routing_db

P = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"


def make(tmp_path, **kw):
    return PeerStore(open_routing_db(tmp_path / ROUTING_DB_FILE), limits=replace(ROUTING_LIMITS, **kw))


def test_survives_reopen_and_strips_own_p2p_suffix(tmp_path):
    s = make(tmp_path)
    n = s.add(P, [f"/ip4/127.0.0.1/tcp/4001/p2p/{P}", "/ip4/127.0.0.1/tcp/4002"], ttl_s=100, now=0,
              source="identify")
    assert n == 2
    s.close()
    s = make(tmp_path)
    assert sorted(s.addrs(P, now=50)) == ["/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/4002"]
    assert s.peers(now=50) == [P]


def test_expiry_and_ttl_only_extends(tmp_path):
    s = make(tmp_path)
    s.add(P, ["/ip4/127.0.0.1/tcp/1"], ttl_s=1000, now=0, source="identify")
    s.add(P, ["/ip4/127.0.0.1/tcp/1"], ttl_s=10, now=0, source="routing")  # shorter: ignored
    assert s.addrs(P, now=500) == ["/ip4/127.0.0.1/tcp/1"]
    assert s.addrs(P, now=1000) == []
    assert s.expire(now=1001) == 1
    assert s.count(now=0) == 0


def test_bad_addresses_dropped(tmp_path):
    s = make(tmp_path, peerstore_max_addr_len=40)
    other = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
    n = s.add(P, [None, 5, "not-a-multiaddr", "/ip4/1.2.3.4/tcp/1/p2p-circuit",
                  f"/ip4/127.0.0.1/tcp/9/p2p/{other}", "/ip4/127.0.0.1/tcp/1" + "0" * 40],
              ttl_s=10, now=0, source="x")
    assert n == 0 and s.addrs(P, now=0) == []


def test_bounded_addrs_per_peer_and_peers(tmp_path):
    s = make(tmp_path, peerstore_max_addrs_per_peer=3, peerstore_max_peers=5)
    s.add(P, [f"/ip4/127.0.0.1/tcp/{i}" for i in range(10)], ttl_s=10, now=0, source="x")
    assert len(s.addrs(P, now=0)) == 3
    s.add(P, ["/ip4/127.0.0.1/tcp/99"], ttl_s=100, now=0, source="x")  # longest-lived kept
    assert "/ip4/127.0.0.1/tcp/99" in s.addrs(P, now=0) and len(s.addrs(P, now=0)) == 3
    for i in range(10):
        s.add(f"peer{i}", ["/ip4/127.0.0.1/tcp/1"], ttl_s=1000 + i, now=0, source="x")
    assert s.count(now=0) == 5
    assert s.peers(now=0) == sorted(f"peer{i}" for i in range(5, 10))  # closest to expiry went


def test_by_source(tmp_path):
    s = make(tmp_path)
    s.add(P, ["/ip4/127.0.0.1/tcp/1"], ttl_s=100, now=0, source="dht")
    s.add("other", ["/ip4/127.0.0.1/tcp/2"], ttl_s=100, now=0, source="identify")
    s.add("old", ["/ip4/127.0.0.1/tcp/3"], ttl_s=1, now=0, source="dht")
    assert s.by_source("dht", now=50, limit=10) == {P: ["/ip4/127.0.0.1/tcp/1"]}
