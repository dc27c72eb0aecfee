"""Pure core of delegated routing: peer IDs, IPNS keys, multiaddrs, records, NDJSON lines."""

from __future__ import annotations

import hashlib
import json

import base58
import pytest

from jiaozi_node.config import DelegatedRoutingLimits
from jiaozi_node.errors import InvalidInput, RemoteProtocolError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID, LIBP2P_KEY
from jiaozi_node.routing.base import PeerRecord
from jiaozi_node.routing.http import records as r

ED = Identity.generate().peer_id
RSA = base58.b58encode(b"\x12\x20" + hashlib.sha256(b"rsa key").digest()).decode()


def test_peer_id_forms_round_trip() -> None:
    mh = r.parse_peer_id(ED)
    assert r.peer_id_str(mh) == ED
    as_cid = r.peer_id_cid_str(mh)
    assert as_cid.startswith("bafz")
    assert r.parse_peer_id(as_cid) == mh
    # base36 (k51…, how IPNS names are usually written) and base58btc CIDs too
    assert r.parse_peer_id(CID(1, LIBP2P_KEY, mh).encode("base36")) == mh
    assert r.parse_peer_id(CID(1, LIBP2P_KEY, mh).encode("base58btc")) == mh
    assert r.canonical_peer_id(r.peer_id_cid_str(r.parse_peer_id(RSA))) == RSA


@pytest.mark.parametrize("bad", [
    "", "x", "12D3KooWnotbase58!!", "Qm" + "1" * 44,
    str(CID.of(b"a")),  # a raw CID, not libp2p-key
    base58.b58encode(b"\x13\x40" + bytes(64)).decode(),  # sha2-512: not a peer ID hash
    base58.b58encode(b"\x00\x30" + bytes(48)).decode(),  # identity over 42 bytes
    base58.b58encode(b"\x12\x10" + bytes(16)).decode(),  # sha2-256 with a short digest
    "1" * 500,
])
def test_bad_peer_ids_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        r.parse_peer_id(bad)


def test_ipns_key_is_binary_peer_id() -> None:
    mh = r.parse_peer_id(ED)
    key = r.ipns_key(mh)
    assert key == b"/ipns/" + mh
    assert r.ipns_name_of_key(key) == mh
    for bad in (b"/pk/" + mh, b"/ipns/" + b"\x12\x01x", b"ipns/" + mh):
        with pytest.raises(InvalidInput):
            r.ipns_name_of_key(bad)


def test_clean_addr() -> None:
    lim = DelegatedRoutingLimits()
    assert r.clean_addr("/ip4/127.0.0.1/tcp/4001", ED, lim) == "/ip4/127.0.0.1/tcp/4001"
    assert r.clean_addr(f"/ip4/127.0.0.1/tcp/4001/p2p/{ED}", ED, lim) == "/ip4/127.0.0.1/tcp/4001"
    circuit = f"/ip4/1.2.3.4/tcp/1/p2p/{RSA}/p2p-circuit"
    assert r.clean_addr(circuit, ED, lim) == circuit
    for bad in ("", "/", "ip4/1.2.3.4", "/ip4/999.1.1.1/tcp/1", "/ip4/1.2.3.4/tcp/70000",
                "/nope/1", 42, None, "/ip4/1.2.3.4/tcp/1" + "/ws" * 400):
        assert r.clean_addr(bad, ED, lim) is None


def test_parse_record_keeps_good_parts_drops_bad_ones() -> None:
    rec = r.parse_record({
        "Schema": "peer", "ID": r.peer_id_cid_str(r.parse_peer_id(ED)),
        "Addrs": ["/ip4/127.0.0.1/tcp/1", "garbage", 7, "/ip4/127.0.0.1/tcp/1",
                  "/ip6/::1/udp/2/quic-v1"],
        "Protocols": ["transport-bitswap", 3, "x" * 300, "transport-bitswap"],
        "Extra": {"unknown": "fields are ignored"},
    })
    assert rec == PeerRecord(ED, ("/ip4/127.0.0.1/tcp/1", "/ip6/::1/udp/2/quic-v1"),
                             ("transport-bitswap",))
    legacy = r.parse_record({"Schema": "bitswap", "Protocol": "transport-bitswap", "ID": RSA})
    assert legacy == PeerRecord(RSA, (), ("transport-bitswap",))
    assert r.parse_record({"Schema": "peer", "ID": ED, "Addrs": None}) == PeerRecord(ED)


def test_parse_record_bounds_addrs_and_protocols() -> None:
    lim = DelegatedRoutingLimits(max_addrs_per_record=3, max_protocols_per_record=2)
    rec = r.parse_record({"Schema": "peer", "ID": ED,
                          "Addrs": [f"/ip4/127.0.0.1/tcp/{i}" for i in range(1, 10_000)],
                          "Protocols": [f"p{i}" for i in range(10_000)]}, lim)
    assert len(rec.addrs) == 3 and rec.protocols == ("p0", "p1")


@pytest.mark.parametrize("bad", [
    [], "peer", None, {"Schema": "graphsync-filecoinv1", "ID": ED}, {"Schema": "peer"},
    {"Schema": "peer", "ID": 5}, {"Schema": "peer", "ID": "nope"},
    {"Schema": "peer", "ID": ED, "Addrs": "/ip4/1.2.3.4/tcp/1"},
    {"Schema": "peer", "ID": ED, "Protocols": {"a": 1}},
])
def test_parse_record_refuses(bad: object) -> None:
    with pytest.raises(InvalidInput):
        r.parse_record(bad)


def test_json_answer_round_trip() -> None:
    recs = [PeerRecord(ED, ("/ip4/127.0.0.1/tcp/1",), ("transport-bitswap",)), PeerRecord(RSA)]
    body = r.encode_json_answer("Providers", recs)
    doc = json.loads(body)
    assert doc["Providers"][0] == {"Schema": "peer", "ID": ED, "Addrs": ["/ip4/127.0.0.1/tcp/1"],
                                   "Protocols": ["transport-bitswap"]}
    assert [r.parse_record(o) for o in r.records_of_json_answer(body, "Providers")] == recs
    assert r.records_of_json_answer(b'{"Providers": null}', "Providers") == []
    assert r.records_of_json_answer(b"{}", "Providers") == []
    line = r.encode_ndjson_record(recs[0])
    assert line.endswith(b"\n") and r.parse_ndjson_line(line.strip()) == recs[0]


@pytest.mark.parametrize("body", [b"", b"[]", b"nope", b'{"Providers": 3}', b"[" * 100_000,
                                  b'{"Providers": [' + b"1" * 5000 + b"]}", b"\xff\xfe"])
def test_json_answer_garbage_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        r.records_of_json_answer(body, "Providers")


def test_ndjson_splitter_lines_across_chunks_and_bounds() -> None:
    s = r.NdjsonSplitter(max_line=10)
    assert s.feed(b'{"a"') == []
    assert s.feed(b':1}\n\n  \n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert s.close() == [b'{"c"']
    s = r.NdjsonSplitter(max_line=10)
    out = s.feed(b"x" * 7) + s.feed(b"y" * 7) + s.feed(b"zz\nok\n" + b"q" * 50) + s.feed(b"\nlast")
    assert out == [b"ok"] and s.dropped == 2
    assert s.close() == [b"last"]
    assert s._buf == bytearray()


def test_media_type() -> None:
    assert r.media_type("Application/JSON; charset=utf-8") == "application/json"
    assert r.media_type(None) == ""
