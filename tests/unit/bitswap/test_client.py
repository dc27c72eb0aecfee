"""Client core through the fake link: multi-peer fetches, re-asks, stalls, hostile peers."""

import os
from dataclasses import replace

from jiaozi_node.bitswap import message as m
from jiaozi_node.config import BITSWAP_LIMITS
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.ipld.framing import encode_frame
from jiaozi_node.testing.bitswap_link import BitswapLink, CoreNode


def _blocks(n, size=3000):
    return [Block.create(os.urandom(size), codec=RAW) for _ in range(n)]


def _net(*names, limits=BITSWAP_LIMITS):
    nodes = [CoreNode(n, limits=limits) for n in names]
    return nodes, BitswapLink(nodes)


def test_fetch_spread_over_two_peers_with_cancels():
    (a, b, c), link = _net("A", "B", "C")
    blocks = _blocks(200)
    for n in (b, c):
        n.store.put_many(blocks)
    link.connect("A", "B")
    link.connect("A", "C")
    a.client.want([x.cid.buffer for x in blocks], link.now)
    link.run_until_idle()
    assert set(a.received) == {x.cid for x in blocks}
    sent_b = b.engine.ledger("A").blocks_sent
    sent_c = c.engine.ledger("A").blocks_sent
    assert sent_b > 20 and sent_c > 20
    assert sent_b + sent_c <= 200 + 4  # at most a few duplicates from the first want-haves
    assert a.client.pending == 0 and a.client.stats["unwanted"] == 0
    assert b.engine.wants_of("A") == [] and c.engine.wants_of("A") == []  # cancels arrived


def test_window_bounds_wants_in_flight():
    lim = replace(BITSWAP_LIMITS, session_max_in_flight=8)
    (a, b), link = _net("A", "B", limits=lim)
    blocks = _blocks(50)
    link.connect("A", "B")
    a.client.want([x.cid.buffer for x in blocks], link.now)
    (peer, msg), = a.client.outgoing()
    assert len(msg.wants) == 8 and a.client.pending == 50
    b.store.put_many(blocks)
    a.client._outbox[peer] = msg
    link.run_until_idle()  # b has nothing yet for the first wants: DONT_HAVE then parked
    link.advance(1.0)
    link.run_until_idle()
    assert len(a.received) == 50


def test_dont_have_moves_want_to_peer_that_has_it():
    (a, b, c), link = _net("A", "B", "C")
    blocks = _blocks(5)
    c.store.put_many(blocks)
    link.connect("A", "B")
    link.connect("A", "C")
    a.client.want([x.cid.buffer for x in blocks], link.now)
    link.run_until_idle()
    assert len(a.received) == 5
    assert b.engine.ledger("A").blocks_sent == 0


def test_parked_want_rebroadcast_after_block_appears():
    (a, b), link = _net("A", "B")
    blk, = _blocks(1)
    link.connect("A", "B")
    a.client.want([blk.cid.buffer], link.now)
    link.run_until_idle()
    assert a.received == [] and a.client.next_deadline() is not None
    b.store.put(blk.cid, blk.data)  # without notify: B forgot the want after DONT_HAVE? no: kept
    b.engine.notify_new_blocks([blk.cid])
    link.run_until_idle()
    assert a.received == [blk.cid]


def test_peer_joining_later_gets_parked_wants():
    (a, b), link = _net("A", "B")
    blk, = _blocks(1)
    b.store.put(blk.cid, blk.data)
    a.client.want([blk.cid.buffer], link.now)
    assert a.client.outgoing() == []
    link.connect("A", "B")
    link.run_until_idle()
    assert a.received == [blk.cid]


def test_disconnect_mid_fetch_completes_from_second_peer():
    (a, b, c), link = _net("A", "B", "C")
    blocks = _blocks(100)
    b.store.put_many(blocks)
    c.store.put_many(blocks)
    link.connect("A", "B")
    link.connect("A", "C")
    a.client.want([x.cid.buffer for x in blocks], link.now)
    link.step()  # wants out, answers queued at B and C
    link.disconnect("A", "B")  # B's answers are lost with the connection
    link.run_until_idle()
    assert set(a.received) == {x.cid for x in blocks}


def test_stalled_peer_wants_move_to_another():
    (a, b, c), link = _net("A", "B", "C")
    blocks = _blocks(30)
    b.store.put_many(blocks)
    c.store.put_many(blocks)
    link.connect("A", "B")
    link.connect("A", "C")
    # B accepts wants but never answers (a stalled peer)
    orig = link.send_raw
    link.send_raw = lambda src, dst, wire: None if src == "B" else orig(src, dst, wire)
    a.client.want([x.cid.buffer for x in blocks], link.now)
    link.run_until_idle()
    got = len(a.received)
    assert got < 30
    link.advance(BITSWAP_LIMITS.peer_stall_timeout_s + 0.1)
    link.run_until_idle()
    assert len(a.received) == 30


def test_unrequested_and_wrong_hash_blocks_dropped_and_penalised():
    (a, b), link = _net("A", "B")
    wanted, = _blocks(1)
    link.connect("A", "B")
    a.client.want([wanted.cid.buffer], link.now)
    link.step()
    # B answers with other bytes under the wanted CID's prefix (a wrong-hash block)
    bad = m.Message(blocks=[(wanted.cid.buffer, b"not the data")])
    for _ in range(5):
        link.send_raw("B", "A", encode_frame(m.encode(bad)))
    stray = Block.create(b"never asked", codec=RAW)
    for _ in range(5):
        link.send_raw("B", "A", encode_frame(m.encode(m.Message(blocks=[(stray.cid.buffer, stray.data)]))))
    assert a.received == [] and len(a.store) == 0
    assert a.client.stats["unwanted"] == 10
    assert "B" in a.client.to_disconnect
    assert a.client.is_wanted(wanted.cid.buffer)


def test_late_duplicate_is_not_penalised():
    (a, b), link = _net("A", "B")
    blk, = _blocks(1)
    b.store.put(blk.cid, blk.data)
    link.connect("A", "B")
    a.client.want([blk.cid.buffer], link.now)
    link.run_until_idle()
    link.send_raw("B", "A", encode_frame(m.encode(m.Message(blocks=[(blk.cid.buffer, blk.data)]))))
    assert a.client.penalty("B") == 0 and a.client.stats["duplicates"] == 1


def test_cancel_by_caller_tells_peers():
    (a, b), link = _net("A", "B")
    blk, = _blocks(1)
    link.connect("A", "B")
    a.client.want([blk.cid.buffer], link.now)
    link.step()
    assert b.engine.wants_of("A") == [blk.cid.buffer]
    a.client.cancel([blk.cid.buffer], link.now)
    link.run_until_idle()
    assert b.engine.wants_of("A") == [] and a.client.pending == 0


def test_wants_carry_decreasing_priorities_in_request_order():
    """Kubo's server sends the highest priority first; with equal priorities it sent a file's
    leaves in no useful order and a streaming reader waited for the whole DAG."""
    (a, b), link = _net("A", "B")
    blocks = _blocks(30)
    link.connect("A", "B")
    a.client.want([x.cid.buffer for x in blocks[:20]], link.now)
    a.client.want([x.cid.buffer for x in blocks[20:]], link.now)
    msgs = [msg for peer, msg in a.client.outgoing() if peer == "B"]
    wants = [e for msg in msgs for e in msg.wants if e.want_type == m.WANT_BLOCK and not e.cancel]
    assert [e.cid for e in wants] == [x.cid.buffer for x in blocks]
    prios = [e.priority for e in wants]
    assert prios == sorted(prios, reverse=True) and len(set(prios)) == len(prios)
    assert all(0 < p < 2**31 for p in prios)


def test_ordered_wants_get_priorities_by_their_place_not_by_call_order():
    """A DAG fetch's tasks ask in whatever order trio runs them (it reverses batches at random):
    a want that names its place in reading order (`order=`) gets its priority from that place."""
    (a, b), link = _net("A", "B")
    blocks = _blocks(12)
    link.connect("A", "B")
    for i in reversed(range(12)):  # the tasks happened to run backwards
        a.client.want([blocks[i].cid.buffer], link.now, session=1, order=i)
    a.client.want([blocks[0].cid.buffer], link.now, order=99)  # already wanted: unchanged
    msgs = [msg for peer, msg in a.client.outgoing() if peer == "B"]
    prio = {e.cid: e.priority for msg in msgs for e in msg.wants if e.want_type == m.WANT_BLOCK}
    got = [prio[x.cid.buffer] for x in blocks]
    assert got == sorted(got, reverse=True) and len(set(got)) == 12
    assert got[0] == 2**31 - 1
    # several CIDs in one call: the first at `order`, the next ones after it
    more = _blocks(3)
    a.client.want([x.cid.buffer for x in more], link.now, order=20)
    msgs = [msg for peer, msg in a.client.outgoing() if peer == "B"]
    prio = {e.cid: e.priority for msg in msgs for e in msg.wants if e.want_type == m.WANT_BLOCK}
    assert [prio[x.cid.buffer] for x in more] == [2**31 - 21, 2**31 - 22, 2**31 - 23]


# ---------------------------------------------------------------- sessions: preferred peers

def _deliver(client, peer, blocks, now):
    msg = m.Message(blocks=[(m.cid_prefix(b.cid.buffer), b.data) for b in blocks])
    return client.receive_message(peer, msg, now)


def _sent(client):
    """{peer: [(cid, want_type), ...]} of the wants (not cancels) going out now."""
    return {p: [(e.cid, e.want_type) for e in msg.wants if not e.cancel]
            for p, msg in client.outgoing()}


def _ten_peers_one_served(session):
    """Client with peers P0..P9 where P0 delivered the session's first block."""
    from jiaozi_node.bitswap.client import Client
    c = Client()
    for i in range(10):
        c.add_peer(f"P{i}", 0.0)
    first, *rest = _blocks(4)
    c.want([first.cid.buffer], 0.0, session=session)
    c.outgoing()
    assert len(_deliver(c, "P0", [first], 0.1)) == 1
    c.outgoing()  # cancels to the peers that got want-have
    return c, rest


def test_session_next_wants_go_to_the_peer_that_served_it_not_broadcast():
    c, rest = _ten_peers_one_served(session=1)
    assert c.session_peers(1) == ["P0"]
    c.want([b.cid.buffer for b in rest], 0.2, session=1)
    sent = _sent(c)
    assert list(sent) == ["P0"]  # no want-have to the nine others
    assert sent["P0"] == [(b.cid.buffer, m.WANT_BLOCK) for b in rest]


def test_session_prefers_its_own_peer_over_a_less_loaded_one():
    """Global "delivered anything" is not enough: session 2's wants go to ITS server Q, even
    though P0 (served session 1) has fewer wants in flight."""
    c, rest = _ten_peers_one_served(session=1)
    q_first, q_more, q_next = _blocks(3)
    c.want([q_first.cid.buffer], 0.2, session=2)
    c.outgoing()
    _deliver(c, "P5", [q_first], 0.3)
    c.outgoing()
    c.want([q_more.cid.buffer], 0.4, session=2)  # P5 now has one in flight, P0 none
    c.want([q_next.cid.buffer], 0.4, session=2)
    sent = _sent(c)
    assert list(sent) == ["P5"]
    assert [t for _, t in sent["P5"]] == [m.WANT_BLOCK, m.WANT_BLOCK]
    assert c.session_peers(2) == ["P5"] and c.session_peers(1) == ["P0"]


def test_session_broadcasts_want_have_after_the_delay():
    c, rest = _ten_peers_one_served(session=1)
    blk = rest[0]
    c.want([blk.cid.buffer], 1.0, session=1)
    assert list(_sent(c)) == ["P0"]
    delay = BITSWAP_LIMITS.session_broadcast_delay_s
    assert c.next_deadline() == 1.0 + delay
    c.tick(1.0 + delay / 2)
    assert _sent(c) == {}  # still only the preferred peer
    c.tick(1.0 + delay)
    sent = _sent(c)
    assert "P0" not in sent and len(sent) == BITSWAP_LIMITS.want_have_fanout
    assert all(w == [(blk.cid.buffer, m.WANT_HAVE)] for w in sent.values())
    assert _deliver(c, "P3", [blk], 1.0 + delay + 0.01)  # another peer may now serve it


def test_session_broadcasts_at_once_when_preferred_peers_dont_have():
    c, rest = _ten_peers_one_served(session=1)
    blk = rest[0]
    c.want([blk.cid.buffer], 1.0, session=1)
    assert list(_sent(c)) == ["P0"]
    c.receive_message("P0", m.Message(presences=[(blk.cid.buffer, m.DONT_HAVE)]), 1.01)
    sent = _sent(c)
    assert "P0" not in sent and len(sent) >= BITSWAP_LIMITS.want_have_fanout
    assert sorted(t for ws in sent.values() for _, t in ws).count(m.WANT_BLOCK) == 1


def test_session_peers_bounded_and_forgotten():
    from jiaozi_node.bitswap.client import Client
    lim = replace(BITSWAP_LIMITS, max_sessions=2, session_max_peers=1)
    c = Client(limits=lim)
    c.add_peer("A", 0.0)
    c.add_peer("B", 0.0)
    x, y = _blocks(2)
    c.want([x.cid.buffer], 0.0, session=1)
    _deliver(c, "A", [x], 0.1)
    c.want([y.cid.buffer], 0.2, session=1)
    c.outgoing()
    c.receive_message("A", m.Message(presences=[(y.cid.buffer, m.DONT_HAVE)]), 0.3)
    _deliver(c, "B", [y], 0.4)
    assert c.session_peers(1) == ["A"]  # session_max_peers
    c.want([], 0.5, session=2)
    c.want([], 0.5, session=3)
    assert c.session_peers(1) == []  # least recently used session forgotten
    c.remove_peer("A", 0.6)
    assert all("A" not in c.session_peers(s) for s in (2, 3))


def test_session_over_the_link_fetches_from_its_server():
    """Through the fake link: the session's peer B serves everything after the first block;
    C (which also holds every block) gets nothing but the first want-have."""
    (a, b, c), link = _net("A", "B", "C")
    blocks = _blocks(30)
    b.store.put_many(blocks)
    c.store.put_many(blocks)
    link.connect("A", "B")
    link.connect("A", "C")
    a.client.want([blocks[0].cid.buffer], link.now, session=7)
    link.run_until_idle()
    server = a.client.session_peers(7)
    assert len(server) == 1
    a.client.want([x.cid.buffer for x in blocks[1:]], link.now, session=7)
    link.run_until_idle()
    assert set(a.received) == {x.cid for x in blocks}
    other = c if server == ["B"] else b
    assert other.engine.ledger("A").blocks_sent <= 1


def test_session_no_broadcast_while_its_peer_keeps_delivering():
    """A deep pipeline is not silence: while the preferred peer delivers other blocks of the
    session, an old want is not broadcast; once the session is idle for the delay, it is."""
    c, rest = _ten_peers_one_served(session=1)
    slow, fast, _ = rest
    delay = BITSWAP_LIMITS.session_broadcast_delay_s
    c.want([slow.cid.buffer, fast.cid.buffer], 1.0, session=1)
    assert list(_sent(c)) == ["P0"]
    _deliver(c, "P0", [fast], 1.0 + delay * 0.9)
    c.outgoing()
    c.tick(1.0 + delay)
    assert _sent(c) == {}  # P0 delivered recently: keep waiting for it
    assert abs(c.next_deadline() - (1.0 + delay * 1.9)) < 1e-9
    c.tick(1.0 + delay * 1.9)
    sent = _sent(c)
    assert "P0" not in sent and len(sent) == BITSWAP_LIMITS.want_have_fanout
