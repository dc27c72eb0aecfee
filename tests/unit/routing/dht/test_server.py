"""Server answers over the pure state: one test per message type, plus refusals."""

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.identity import Identity
from jiaozi_node.routing.dht import message as m
from jiaozi_node.routing.dht.keys import peer_bytes
from jiaozi_node.routing.dht.server import AddrBook, DhtState, handle

ADDR = b"\x04\x7f\x00\x00\x01\x06\x0f\xa1"


def _pid():
    return Identity.generate().peer_id


def _state(n=30):
    st = DhtState(_pid(), local_addrs=[ADDR])
    others = [_pid() for _ in range(n)]
    for p in others:
        st.table.add(p, 0)
        st.addrs.add(p, [ADDR], 0)
    return st, others


def test_ping():
    st, _ = _state(0)
    assert handle(st, _pid(), m.Message(m.PING), 0).type == m.PING


def test_find_node_closest_excluding_asker_and_self_answer():
    st, others = _state()
    asker = others[0]
    key = peer_bytes(_pid())
    ans = handle(st, asker, m.Message(m.FIND_NODE, key=key), 1)
    ids = [p.id for p in ans.closer_peers]
    assert len(ids) == 20 and peer_bytes(asker) not in ids
    assert all(p.addrs == [ADDR] for p in ans.closer_peers)
    # asked for our own ID: we answer with ourselves (Kubo's lookupCheck needs it)
    ans = handle(st, asker, m.Message(m.FIND_NODE, key=st.local_bytes), 1)
    assert [p.id for p in ans.closer_peers] == [st.local_bytes]


def test_find_node_for_a_known_peer_lists_it_first():
    st, _ = _state(5)
    target = _pid()
    st.addrs.add(target, [ADDR], 0)
    ans = handle(st, _pid(), m.Message(m.FIND_NODE, key=peer_bytes(target)), 1)
    assert ans.closer_peers[0].id == peer_bytes(target)


def test_add_provider_only_for_the_sender_then_get_providers():
    st, _ = _state(5)
    key = b"\x12\x20" + bytes(32)
    sender, liar = _pid(), _pid()
    req = m.Message(m.ADD_PROVIDER, key=key, provider_peers=[
        m.Peer(peer_bytes(liar), [ADDR]), m.Peer(peer_bytes(sender), [ADDR])])
    assert handle(st, sender, req, 0) is None
    ans = handle(st, _pid(), m.Message(m.GET_PROVIDERS, key=key), 1)
    assert [p.id for p in ans.provider_peers] == [peer_bytes(sender)]
    assert ans.provider_peers[0].addrs == [ADDR]
    assert len(ans.closer_peers) == 5


def test_put_and_get_value():
    st, _ = _state(3)
    ident = Identity.generate()
    key = b"/pk/" + peer_bytes(ident.peer_id)
    put = m.Message(m.PUT_VALUE, key=key, record=m.Record(key, ident.public_key_protobuf))
    assert handle(st, _pid(), put, 0).record.value == ident.public_key_protobuf
    ans = handle(st, _pid(), m.Message(m.GET_VALUE, key=key), 1)
    assert ans.record.value == ident.public_key_protobuf
    assert handle(st, _pid(), m.Message(m.GET_VALUE, key=b"/pk/none"), 1).record is None


def test_refusals():
    st, _ = _state(1)
    ipns = b"/ipns/" + peer_bytes(_pid())
    with pytest.raises(InvalidInput, match="IPNS"):
        handle(st, _pid(), m.Message(m.PUT_VALUE, key=ipns, record=m.Record(ipns, b"x")), 0)
    with pytest.raises(InvalidInput):
        handle(st, _pid(), m.Message(m.PUT_VALUE, key=ipns, record=m.Record(b"/pk/other", b"x")), 0)
    with pytest.raises(InvalidInput):
        handle(st, _pid(), m.Message(m.FIND_NODE), 0)


def test_addr_book_bounds_and_expiry():
    b = AddrBook(max_peers=2, ttl_s=10, max_addrs=2)
    b.add("A", [b"1", b"2", b"3"], 0)
    assert b.get("A", 1) == (b"1", b"2")
    b.add("B", [b"1"], 0)
    b.add("C", [b"1"], 0)
    assert b.get("A", 1) == () and len(b) == 2
    assert b.get("B", 11) == ()


def test_learn_skips_bad_ids():
    st, _ = _state(0)
    p = _pid()
    got = st.learn([m.Peer(b"\x99\x01x"), m.Peer(peer_bytes(p), [ADDR])], 0)
    assert got == [p] and st.addrs.get(p, 0) == (ADDR,)
