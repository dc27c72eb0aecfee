from jiaozi_node.routing.dht import addrs


def test_round_trip_and_junk_dropped():
    text = ["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4002", "/ip4/1.2.3.4/udp/4001/quic-v1"]
    raw = addrs.to_bytes([*text, "not a multiaddr"])
    assert len(raw) == 3
    assert addrs.to_text([*raw, b"\xff\xff\x01"]) == text


def test_peer_suffix_stripped_and_foreign_ids_dropped():
    pid = "12D3KooWGzh7AxGQCZX1wVXRbThnLJ9RiYRUw7KVbU8sBD6dtCLp"
    other = "12D3KooWHyBD5buzQ6HyoEQxTTo4UGPwZJuwAmKVeVuq8VqfhjCB"
    raw = addrs.to_bytes([f"/ip4/127.0.0.1/tcp/1/p2p/{pid}", f"/ip4/127.0.0.1/tcp/2/p2p/{other}"])
    assert addrs.to_text(raw, peer_id=pid) == ["/ip4/127.0.0.1/tcp/1"]


def test_dialable_keeps_tcp_only():
    got = addrs.dialable(["/ip4/127.0.0.1/tcp/1", "/ip4/1.2.3.4/udp/1/quic-v1", "/ip6/::1/tcp/2",
                          "/dns4/example.com/tcp/1"])
    assert got == ["/ip4/127.0.0.1/tcp/1", "/ip6/::1/tcp/2"]
