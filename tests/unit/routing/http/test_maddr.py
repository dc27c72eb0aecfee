"""The pure multiaddr checker, cross-checked with py-multiaddr (a different implementation)."""

from __future__ import annotations

import pytest
from multiaddr import Multiaddr

from jiaozi_node.errors import InvalidInput
from jiaozi_node.identity import Identity
from jiaozi_node.routing.http.maddr import parse
from jiaozi_node.routing.http.records import parse_peer_id, peer_id_cid_str

ID = Identity.generate().peer_id
RELAY = Identity.generate().peer_id
CERT = "uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ"

VALID = [
    "/ip4/127.0.0.1/tcp/4001", "/ip4/1.2.3.4/udp/4001/quic-v1", "/ip6/::1/tcp/1/ws",
    "/ip6/2001:db8::1/udp/443/quic-v1/webtransport/certhash/" + CERT + "/certhash/" + CERT,
    "/dns4/example.com/tcp/443/wss", "/dns/a-b.example/tcp/443/tls/ws", "/dnsaddr/bootstrap.libp2p.io", "/dns6/x.example/tcp/0/http",
    f"/ip4/1.2.3.4/tcp/1/p2p/{RELAY}/p2p-circuit", f"/ip4/1.2.3.4/tcp/1/p2p/{ID}",
    "/ip4/1.2.3.4/udp/1/webrtc-direct/certhash/" + CERT, "/ip4/1.2.3.4/tcp/65535/https",
    "/ip4/1.2.3.4/tcp/1/tls/http", "/memory/12",
    "/ip4/1.2.3.4/udp/1/quic", f"/p2p/{ID}", "/ip4/1.2.3.4/tcp/1/noise",
]
INVALID = [
    "", "/", "ip4/1.2.3.4", "/ip4/1.2.3.4/", "/ip4/999.1.1.1/tcp/1", "/ip4/1.2.3/tcp/1",
    "/ip4/1.2.3.4/tcp/65536", "/ip4/1.2.3.4/tcp/-1", "/ip4/1.2.3.4/tcp/x", "/ip4/1.2.3.4/tcp",
    "/ip6/::g/tcp/1", "/nope/1", "/ip4/1.2.3.4/tcp/1/p2p/not-a-peer", "/dns4/exa mple.com/tcp/1",
    "/dns4//tcp/1", "/ip4/1.2.3.4/udp/1/quic-v1/certhash/!!!", "/tcp/１２",
]


@pytest.mark.parametrize("addr", VALID)
def test_valid_agrees_with_py_multiaddr(addr: str) -> None:
    names, text = parse(addr)
    assert names == [p.name for p in Multiaddr(addr).protocols()]
    assert text == addr


@pytest.mark.parametrize("addr", INVALID)
def test_invalid(addr: str) -> None:
    with pytest.raises(InvalidInput):
        parse(addr)


def test_where_py_multiaddr_0_2_is_wrong() -> None:
    # py-multiaddr 0.2.0 misreads ip6zone and sni, and refuses `_` in DNS names (go-multiaddr
    # takes any DNS text)
    assert parse("/ip6zone/eth0/ip6/fe80::1/tcp/1")[0] == ["ip6zone", "ip6", "tcp"]
    assert parse("/dns/x.example/tcp/443/tls/sni/example.com/ws")[0] == ["dns", "tcp", "tls",
                                                                        "sni", "ws"]
    assert parse("/dns/_dnsaddr.a_b.example/tcp/1")[0] == ["dns", "tcp"]


def test_canonical_forms() -> None:
    cid_form = peer_id_cid_str(parse_peer_id(ID))
    assert parse(f"/ip4/1.2.3.4/tcp/1/ipfs/{cid_form}") == (["ip4", "tcp", "p2p"],
                                                           f"/ip4/1.2.3.4/tcp/1/p2p/{ID}")
    assert parse("/ip6/0:0:0:0:0:0:0:1/tcp/01")[1] == "/ip6/::1/tcp/1"
    assert parse("/unix/tmp/p2p.sock") == (["unix"], "/unix/tmp/p2p.sock")
