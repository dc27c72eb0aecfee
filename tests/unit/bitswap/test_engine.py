"""Server core: answers, queued wants served on arrival, cancels, fairness, bounds."""

from dataclasses import replace

from jiaozi_node.bitswap import message as m
from jiaozi_node.bitswap.engine import Engine
from jiaozi_node.config import BITSWAP_LIMITS
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.store.base import MemoryBlockstore

SMALL = Block.create(b"s" * 1000, codec=RAW)
BIG = Block.create(b"b" * 5000, codec=RAW)
MISSING = Block.create(b"missing", codec=RAW)


def _engine(**limits):
    store = MemoryBlockstore()
    store.put_many([SMALL, BIG])
    return Engine(store, limits=replace(BITSWAP_LIMITS, **limits)), store


def _want(block, want_type=m.WANT_BLOCK, sdh=False, cancel=False):
    return m.Entry(block.cid.buffer, 1, cancel, want_type, sdh)


def _drain(engine):
    out = []
    while (env := engine.next_envelope()) is not None:
        out.append(env)
    return out


def test_want_block_and_want_have():
    eng, _ = _engine()
    eng.receive_message("P", m.Message(wants=[_want(BIG), _want(SMALL, m.WANT_HAVE), _want(BIG)]))
    eng.receive_message("Q", m.Message(wants=[_want(BIG, m.WANT_HAVE)]))
    out = dict(_drain(eng))
    assert sorted(out["P"].blocks) == sorted([(BIG.cid.buffer, BIG.data), (SMALL.cid.buffer, SMALL.data)])
    assert out["Q"].presences == [(BIG.cid.buffer, m.HAVE)] and not out["Q"].blocks
    assert eng.wants_of("P") == [] and eng.ledger("P").blocks_sent == 2


def test_dont_have_then_served_when_block_arrives():
    eng, store = _engine()
    eng.receive_message("P", m.Message(wants=[_want(MISSING, sdh=True)]))
    eng.receive_message("Q", m.Message(wants=[_want(MISSING, m.WANT_HAVE)]))
    out = dict(_drain(eng))
    assert out == {"P": m.Message(presences=[(MISSING.cid.buffer, m.DONT_HAVE)])}
    store.put(MISSING.cid, MISSING.data)
    eng.notify_new_blocks([MISSING.cid])
    out = dict(_drain(eng))
    assert out["P"].blocks == [(MISSING.cid.buffer, MISSING.data)]
    assert out["Q"].blocks == [(MISSING.cid.buffer, MISSING.data)]  # tiny: block instead of HAVE


def test_cidv0_want_served_by_v1_stored_block():
    from jiaozi_node.ipld.cid import DAG_PB
    blk = Block.create(b"\x0a\x00", codec=DAG_PB, version=1)
    eng, store = _engine()
    v0 = blk.cid.to_v0()
    eng.receive_message("P", m.Message(wants=[m.Entry(v0.buffer)]))
    store.put(blk.cid, blk.data)
    eng.notify_new_blocks([blk.cid])
    (peer, msg), = _drain(eng)
    assert msg.blocks == [(v0.buffer, blk.data)]


def test_cancel_and_full_wantlist():
    eng, _ = _engine()
    eng.receive_message("P", m.Message(wants=[_want(BIG), _want(MISSING)]))
    eng.receive_message("P", m.Message(wants=[_want(BIG, cancel=True)]))
    assert _drain(eng) == []
    assert eng.wants_of("P") == [MISSING.cid.buffer]
    eng.receive_message("P", m.Message(wants=[_want(SMALL)], full=True))
    assert eng.wants_of("P") == [SMALL.cid.buffer]
    assert dict(_drain(eng))["P"].blocks == [(SMALL.cid.buffer, SMALL.data)]


def test_round_robin_between_peers_and_target_size():
    blocks = [Block.create(bytes([i]) * 4000, codec=RAW) for i in range(12)]
    eng, store = _engine(target_message_bytes=8100)
    store.put_many(blocks)
    eng.receive_message("A", m.Message(wants=[_want(b) for b in blocks]))
    eng.receive_message("B", m.Message(wants=[_want(b) for b in blocks[:4]]))
    order = [(p, len(msg.blocks)) for p, msg in _drain(eng)]
    assert order[:4] == [("A", 2), ("B", 2), ("A", 2), ("B", 2)]
    assert sum(n for p, n in order if p == "A") == 12
    assert all(n <= 2 for _, n in order)


def test_ready_filter_skips_busy_peers():
    eng, _ = _engine()
    eng.receive_message("A", m.Message(wants=[_want(BIG)]))
    eng.receive_message("B", m.Message(wants=[_want(SMALL)]))
    assert eng.next_envelope(ready={"B"})[0] == "B"
    assert eng.next_envelope(ready={"B"}) is None
    assert eng.next_envelope(ready={"A"})[0] == "A"


def test_wants_bounded_per_peer():
    eng, _ = _engine(max_wants_per_peer=10)
    wants = [m.Entry(Block.create(bytes([i]), codec=RAW).cid.buffer) for i in range(50)]
    eng.receive_message("P", m.Message(wants=wants))
    assert len(eng.wants_of("P")) == 10 and eng.ledger("P").dropped_wants == 40


def test_invalid_cids_penalised_others_served():
    eng, _ = _engine(penalty_bad_message=60)
    eng.receive_message("P", m.Message(wants=[m.Entry(b"\x01\x99garbage"), _want(BIG)]))
    assert eng.ledger("P").penalty == 60
    assert dict(_drain(eng))["P"].blocks == [(BIG.cid.buffer, BIG.data)]
    assert eng.penalise("P", 50, "again")


def test_disconnect_drops_state():
    eng, store = _engine()
    eng.receive_message("P", m.Message(wants=[_want(MISSING), _want(BIG)]))
    eng.peer_disconnected("P")
    assert _drain(eng) == [] and eng.peers() == []
    store.put(MISSING.cid, MISSING.data)
    eng.notify_new_blocks([MISSING.cid])
    assert _drain(eng) == []


def test_block_deleted_after_want_gives_dont_have():
    eng, store = _engine()
    eng.receive_message("P", m.Message(wants=[_want(BIG, sdh=True)]))
    store.delete(BIG.cid)
    (_, msg), = _drain(eng)
    assert msg.presences == [(BIG.cid.buffer, m.DONT_HAVE)] and not msg.blocks
