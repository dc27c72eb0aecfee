from __future__ import annotations

import os

import pytest

from jiaozi_node.errors import LimitExceeded, RemoteProtocolError, SignatureError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld import varint
from jiaozi_node.ipld.cid import CID, DAG_CBOR, DAG_PB
from jiaozi_node.versioning.sync_core import (
    FrameReader,
    HistoryRequest,
    ListRequest,
    PushRequest,
    check_advertisement,
    error_response,
    frame,
    history_objects,
    make_advertisement,
    parse_request,
    parse_response,
)

A = Identity.generate()
B = Identity.generate()
C1 = CID.of(b"c1", codec=DAG_CBOR)
NONCE = os.urandom(16)


def test_framing_roundtrip_in_pieces():
    data = frame({"op": "list", "nonce": NONCE}) + frame({"ok": True})
    r = FrameReader()
    out = []
    for i in range(len(data)):
        r.receive_data(data[i:i + 1])
        while (m := r.next_message()) is not None:
            out.append(m)
    assert out == [{"op": "list", "nonce": NONCE}, {"ok": True}]


def test_framing_limits_before_buffering():
    r = FrameReader(max_bytes=100)
    with pytest.raises(LimitExceeded):
        r.receive_data(varint.encode(1000))
    r = FrameReader(max_bytes=100)
    with pytest.raises(LimitExceeded):
        r.receive_data(b"\x00" * 200)
    r = FrameReader()
    with pytest.raises(RemoteProtocolError):
        r.receive_data(b"\x80\x00")  # non-minimal varint
    r = FrameReader()
    r.receive_data(b"\x02\xff\xff")
    with pytest.raises(RemoteProtocolError, match="malformed"):
        r.next_message()
    r = FrameReader()
    r.receive_data(frame([1, 2]))  # type: ignore[arg-type]
    with pytest.raises(RemoteProtocolError, match="not a map"):
        r.next_message()


def test_requests():
    assert parse_request(ListRequest(NONCE, "ds").to_node()) == ListRequest(NONCE, "ds")
    assert parse_request(ListRequest(NONCE).to_node()) == ListRequest(NONCE)
    push = PushRequest("ds", "heads/main", None, C1, False)
    assert parse_request(push.to_node()) == push
    bad = [
        {"op": "list", "nonce": b"short"},
        {"op": "list", "nonce": NONCE, "x": 1},
        {"op": "list", "nonce": NONCE, "repo": "bad name"},
        {**push.to_node(), "ref": "tags/v1"},
        {**push.to_node(), "new": CID.of(b"x", codec=DAG_PB)},
        {**push.to_node(), "force": 1},
        {"op": "delete"},
    ]
    for b in bad:
        with pytest.raises(RemoteProtocolError):
            parse_request(b)


def test_history_request_and_answer():
    req = HistoryRequest("ds", (C1,), (CID.of(b"old", codec=DAG_CBOR),))
    assert parse_request(req.to_node()) == req
    assert parse_request(HistoryRequest("ds", (C1,)).to_node()) == HistoryRequest("ds", (C1,), ())
    bad = [
        {**req.to_node(), "heads": [CID.of(b"x", codec=DAG_PB)]},  # only commit/tag links
        {**req.to_node(), "heads": "x"},
        {**req.to_node(), "have": [b"x"]},
        {**req.to_node(), "repo": "bad name"},
        {"op": "history", "repo": "ds", "heads": [C1]},  # every key, no other
        {**req.to_node(), "x": 1},
    ]
    for b in bad:
        with pytest.raises(RemoteProtocolError):
            parse_request(b)
    with pytest.raises(RemoteProtocolError):  # bounded like an advertisement's refs
        parse_request({**req.to_node(), "heads": [C1] * 3}, max_refs=2)

    # the answer: every object by the CID of its own bytes (what it claims to be never matters)
    objs = [b"\xa1ax\x01", b"\xa1ax\x02"]
    got = history_objects({"ok": True, "objects": objs}, peer="p", max_object_bytes=100, max_objects=5)
    assert {c: vb.data for c, vb in got.items()} == {CID.of(o, codec=DAG_CBOR): o for o in objs}
    assert all(vb.is_block_of(c) for c, vb in got.items())  # VerifiedBlocks: hashed, by type
    for node in ({"ok": True}, {"ok": True, "objects": [1]}, {"ok": True, "objects": [b"x" * 101]},
                 {"ok": True, "objects": [b"x"] * 6}):
        with pytest.raises(RemoteProtocolError):
            history_objects(node, peer="p", max_object_bytes=100, max_objects=5)


def test_advertisement_checks():
    repos = {"ds": {"heads/main": C1}}
    adv = make_advertisement(A, NONCE, repos, now=5)
    node = adv.to_node()
    got = check_advertisement(node, expected_peer=A.peer_id, nonce=NONCE, repo="ds")
    assert got.repos == repos
    assert check_advertisement(node, expected_peer=A.peer_id, nonce=NONCE, repo=None).peer == A.peer_id
    with pytest.raises(SignatureError, match="came from"):
        check_advertisement(node, expected_peer=B.peer_id, nonce=NONCE, repo="ds")
    with pytest.raises(SignatureError, match="replay"):
        check_advertisement(node, expected_peer=A.peer_id, nonce=os.urandom(16), repo="ds")
    forged = dict(node, repos={"ds": {"heads/main": CID.of(b"evil", codec=DAG_CBOR)}})
    with pytest.raises(SignatureError, match="bad signature"):
        check_advertisement(forged, expected_peer=A.peer_id, nonce=NONCE, repo="ds")
    with pytest.raises(RemoteProtocolError, match="not asked about"):
        check_advertisement(make_advertisement(A, NONCE, {"ds": {}, "x": {}}, now=1).to_node(),
                            expected_peer=A.peer_id, nonce=NONCE, repo="ds")
    with pytest.raises(RemoteProtocolError, match="does not have repository"):
        check_advertisement(make_advertisement(A, NONCE, {}, now=1).to_node(),
                            expected_peer=A.peer_id, nonce=NONCE, repo="ds")
    many = {"ds": {f"heads/b{i}": C1 for i in range(20)}}
    with pytest.raises(LimitExceeded):
        check_advertisement(make_advertisement(A, NONCE, many, now=1).to_node(),
                            expected_peer=A.peer_id, nonce=NONCE, repo="ds", max_refs=10)
    bad_target = make_advertisement(A, NONCE, {"ds": {"heads/main": CID.of(b"x", codec=DAG_PB)}}, now=1)
    with pytest.raises(RemoteProtocolError, match="dag-cbor"):
        check_advertisement(bad_target.to_node(), expected_peer=A.peer_id, nonce=NONCE, repo="ds")
    with pytest.raises(RemoteProtocolError, match="wrong keys"):
        check_advertisement({"type": "jzfs/refs"}, expected_peer=A.peer_id, nonce=NONCE, repo=None)


def test_responses():
    assert parse_response({"ok": True, "head": C1}, peer="p")["head"] == C1
    with pytest.raises(RemoteProtocolError, match="refused: nope"):
        parse_response(error_response("nope"), peer="p")
    with pytest.raises(RemoteProtocolError, match="no reason"):
        parse_response({}, peer="p")
    assert len(error_response("x" * 5000)["error"]) == 1000
