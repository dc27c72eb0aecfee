from jiaozi_node.routing.dht.providers import ProviderStore

H = 3600.0


def test_add_get_renew_and_expire():
    s = ProviderStore(ttl_s=48 * H)
    k = b"\x12\x20" + bytes(32)
    assert s.add(k, "A", 1000.0) and s.add(k, "B", 1000.0 + H)
    assert s.get(k, 1000.0 + H) == ["B", "A"]  # most recently renewed first
    assert len(s) == 2 and s.key_count() == 1
    assert s.add(k, "A", 1000.0 + 2 * H)  # renewal: no new record
    assert len(s) == 2 and s.get(k, 1000.0 + 2 * H)[0] == "A"
    # B expires at 1000 + 49 h; A (renewed) at 1000 + 50 h
    assert s.get(k, 1000.0 + 49.5 * H) == ["A"]
    assert s.expire(1000.0 + 49.5 * H) == 1
    assert len(s) == 1 and s.records_of("B") == 0
    assert s.expire(1000.0 + 51 * H) == 1
    assert len(s) == 0 and s.key_count() == 0 and s.get(k, 0) == []


def test_limits():
    s = ProviderStore(max_per_key=2, max_records=5, max_per_peer=3)
    assert s.add(b"k", "A", 0) and s.add(b"k", "B", 0)
    assert not s.add(b"k", "C", 0)  # per key
    assert s.add(b"k2", "A", 0) and s.add(b"k3", "A", 0)
    assert not s.add(b"k4", "A", 0)  # per peer
    assert s.add(b"k4", "B", 0)
    assert not s.add(b"k5", "D", 0)  # total
    assert s.refused == 3 and len(s) == 5
    assert s.add(b"k", "A", 10)  # renewing is always allowed


def test_peer_slots_are_recycled():
    s = ProviderStore(ttl_s=10)
    for i in range(100):
        s.add(i.to_bytes(4, "big"), f"P{i}", 0)
    s.expire(100)
    assert len(s._peer_idx) == 0
    s.add(b"x", "Q", 200)
    assert len(s._peers) == 100  # a freed slot was reused
    assert s.get(b"x", 200) == ["Q"]


def test_limit_on_answer():
    s = ProviderStore()
    for i in range(30):
        s.add(b"k", f"P{i}", float(i))
    assert len(s.get(b"k", 30.0, limit=20)) == 20


def test_expire_in_steps_matches_a_full_pass():
    s = ProviderStore(ttl_s=10)
    for i in range(25):
        s.add(i.to_bytes(4, "big"), "A" if i % 2 else "B", 0)
        s.add(i.to_bytes(4, "big"), "C", 100)
    steps = list(s.expire_steps(50, chunk=7))
    assert len(steps) == 4 and sum(steps) == 25
    assert len(s) == 25 and s.records_of("C") == 25 and s.records_of("A") == 0
