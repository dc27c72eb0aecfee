"""DNSLink over a real DNS server on 127.0.0.1 (dnslib): TXT parsing, `_dnslink.` first, the
domain itself second, resolver choice by suffix, no look-up without a resolver, hostile answers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiaozi_node.config import IPNS_LIMITS
from jiaozi_node.errors import InvalidInput, NotFound, Timeout
from jiaozi_node.ipns import dnslink
from jiaozi_node.ipns.dns import DnsClient
from jiaozi_node.testing.dns_server import LocalDns

CID = "bafkqaaa"


def test_txt_parsing_and_choice():
    assert dnslink.dnslink_from_txt(["v=spf1", f"dnslink=/ipfs/{CID}"]) == f"/ipfs/{CID}"
    # several: the lexicographically first valid one, as the spec says
    assert dnslink.dnslink_from_txt(["dnslink=/ipns/zzz", "dnslink=/ipfs/aaa", "dnslink=junk"]) == "/ipfs/aaa"
    assert dnslink.dnslink_from_txt(["dnslink=", "hello"]) is None
    assert dnslink.is_domain("example.org") and dnslink.is_domain("_dnslink.a-b.example.org.")
    assert not dnslink.is_domain("k51qzi5uqu5d") and not dnslink.is_domain("a..b")
    r = {"eth.": "https://eth", ".": "udp://127.0.0.1:1", "example.org": "udp://127.0.0.1:2"}
    assert dnslink.resolver_for("vitalik.eth", r) == "https://eth"
    assert dnslink.resolver_for("www.example.org", r) == "udp://127.0.0.1:2"
    assert dnslink.resolver_for("other.net", r) == "udp://127.0.0.1:1"
    assert dnslink.resolver_for("other.net", {"eth.": "x"}) is None


async def test_dnslink_over_udp():
    with LocalDns({"_dnslink.example.org": [f"dnslink=/ipfs/{CID}"],
                   "bare.test": ["dnslink=/ipns/example.org/x"]}) as dns:
        client = DnsClient({".": dns.url})
        assert await client.dnslink("example.org") == f"/ipfs/{CID}"
        assert await client.dnslink("bare.test") == "/ipns/example.org/x"  # the name itself
        assert dns.queries[-2:] == ["_dnslink.bare.test", "bare.test"]
        with pytest.raises(NotFound):
            await client.dnslink("missing.test")


async def test_no_resolver_no_lookup():
    with LocalDns({"_dnslink.example.org": [f"dnslink=/ipfs/{CID}"]}) as dns:
        with pytest.raises(NotFound, match="DNS.Resolvers"):
            await DnsClient({}).dnslink("example.org")
        assert dns.queries == []


@pytest.mark.parametrize("mode,err", [("garbage", InvalidInput), ("wrong-id", Timeout),
                                      ("silent", Timeout)])
async def test_hostile_dns(mode, err):
    with LocalDns({"_dnslink.example.org": [f"dnslink=/ipfs/{CID}"]}, mode=mode) as dns:
        client = DnsClient({".": dns.url}, limits=replace(IPNS_LIMITS, dns_timeout_s=0.5))
        with pytest.raises(err):
            await client.dnslink("example.org")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_answer_bytes_give_a_clear_error_or_txts(data):
    try:
        out = dnslink.parse_answer(data, qid=None, domain="example.org", max_records=8)
    except (InvalidInput, NotFound):
        return
    assert isinstance(out, list) and len(out) <= 8
