"""IPIP-484 filter-addrs / filter-protocols semantics."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.identity import Identity
from jiaozi_node.routing.base import PeerRecord
from jiaozi_node.routing.http import filters as f

ID = Identity.generate().peer_id
TCP = "/ip4/127.0.0.1/tcp/4001"
QUIC = "/ip4/127.0.0.1/udp/4001/quic-v1"
WT = "/ip4/127.0.0.1/udp/4001/quic-v1/webtransport"
WS6 = "/ip6/::1/tcp/4002/ws"
REC = PeerRecord(ID, (TCP, QUIC, WT, WS6), ("transport-bitswap", "transport-ipfs-gateway-http"))


def F(addrs: str = "", protocols: str = "") -> f.Filters:
    return f.Filters(f.parse_filter(addrs), f.parse_filter(protocols))


def test_parse_filter() -> None:
    assert f.parse_filter(None) == ()
    assert f.parse_filter("TCP, !QUIC-v1,,tcp") == ("tcp", "!quic-v1")
    with pytest.raises(InvalidInput):
        f.parse_filter("x" * 64)
    with pytest.raises(InvalidInput):
        f.parse_filter(",".join(f"p{i}" for i in range(40)))


def test_no_filters_unchanged() -> None:
    assert f.apply(REC, F()) is REC


@pytest.mark.parametrize("spec,expect", [
    ("tcp", (TCP, WS6)),
    ("webtransport", (WT,)),
    ("quic-v1,ws", (QUIC, WT, WS6)),
    ("!quic-v1", (TCP, WS6)),
    ("!ip6,!quic-v1", (TCP,)),
    ("tcp,!ip6", (TCP,)),
    ("TCP", (TCP, WS6)),  # case-insensitive
])
def test_filter_addrs(spec: str, expect: tuple[str, ...]) -> None:
    out = f.apply(REC, F(spec))
    assert out is not None and out.addrs == expect and out.protocols == REC.protocols


def test_filter_addrs_omits_record_left_without_addrs_and_unknown() -> None:
    assert f.apply(REC, F("webrtc-direct")) is None
    bare = PeerRecord(ID)
    assert f.apply(bare, F("tcp")) is None
    assert f.apply(bare, F("!tcp")) is None
    assert f.apply(bare, F("tcp,unknown")) is bare
    # `unknown` is a positive name that matches no address (boxo's reading)
    assert f.apply(REC, F("unknown")) is None
    assert f.apply(REC, F("unknown,tcp")).addrs == (TCP, WS6)  # type: ignore[union-attr]


@pytest.mark.parametrize("spec,kept", [
    ("transport-bitswap", True),
    ("TRANSPORT-BITSWAP", True),
    ("transport-graphsync-filecoinv1", False),
    ("transport-graphsync-filecoinv1,transport-ipfs-gateway-http", True),
    ("!transport-bitswap", False),
    ("!transport-graphsync-filecoinv1", True),
    ("unknown", False),
])
def test_filter_protocols(spec: str, kept: bool) -> None:
    out = f.apply(REC, F(protocols=spec))
    assert (out is REC) if kept else out is None  # kept records are unchanged (all protocols)


def test_filter_protocols_unknown_matches_records_without_protocols() -> None:
    dht = PeerRecord(ID, (TCP,))
    assert f.apply(dht, F(protocols="unknown")) is dht
    assert f.apply(dht, F(protocols="transport-bitswap")) is None
    assert f.apply(dht, F(protocols="transport-bitswap,unknown")) is dht
    assert f.apply(dht, F(protocols="!transport-bitswap")) is dht


def test_both_filters() -> None:
    out = f.apply(REC, F("tcp,!ip6", "transport-bitswap"))
    assert out == PeerRecord(ID, (TCP,), REC.protocols)
    assert f.apply(REC, F("tcp", "unknown")) is None
