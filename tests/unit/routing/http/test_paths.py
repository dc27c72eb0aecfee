"""URL building (client) and request parsing / negotiation (server)."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.gateway.http_common import HttpError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.routing.http import paths as p
from jiaozi_node.routing.http.filters import Filters
from jiaozi_node.routing.http.records import IPNS_RECORD_MEDIA, parse_peer_id, peer_id_cid_str

ID = Identity.generate().peer_id
MH = parse_peer_id(ID)
CIDV0 = CID.of(b"x", codec=0x70, version=0)


def test_normalize_endpoint() -> None:
    assert p.normalize_endpoint(" http://127.0.0.1:8080/ ") == "http://127.0.0.1:8080"
    assert p.normalize_endpoint("https://r.example/routing/v1/") == "https://r.example"
    assert p.normalize_endpoint("http://h/base") == "http://h/base"
    for bad in ("127.0.0.1:8080", "ftp://h", "http://", "http://h/?x=1", 3):
        with pytest.raises(InvalidInput):
            p.normalize_endpoint(bad)  # type: ignore[arg-type]


def test_urls() -> None:
    assert p.providers_url("http://h", CIDV0) == f"http://h/routing/v1/providers/{CIDV0.to_v1()}"
    url = p.providers_url("http://h", CIDV0, Filters(("tcp", "!ip6"), ("transport-bitswap",)))
    assert url.endswith("?filter-addrs=tcp,!ip6&filter-protocols=transport-bitswap")
    assert p.peers_url("http://h", MH) == f"http://h/routing/v1/peers/{peer_id_cid_str(MH)}"
    assert p.ipns_url("http://h", MH) == f"http://h/routing/v1/ipns/{peer_id_cid_str(MH)}"


def test_parse_request() -> None:
    rr = p.parse_request(f"/routing/v1/providers/{CIDV0}", {"filter-addrs": "TCP"})
    assert rr.kind == "providers" and rr.cid == CIDV0 and rr.filters.addrs == ("tcp",)
    assert p.parse_request(f"/routing/v1/peers/{ID}", {}).peer_mh == MH
    assert p.parse_request(f"/routing/v1/peers/{peer_id_cid_str(MH)}", {}).peer_mh == MH
    assert p.parse_request(f"/routing/v1/ipns/{peer_id_cid_str(MH)}/", {}).kind == "ipns"


@pytest.mark.parametrize("path,query", [
    ("/routing/v1", {}), ("/routing/v1/", {}), ("/routing/v1/providers", {}),
    ("/routing/v1/providers/", {}), ("/routing/v1/providers/notacid", {}),
    ("/routing/v1/peers/notapeer", {}), (f"/routing/v1/peers/{CIDV0.to_v1()}", {}),
    ("/routing/v1/ipns/bafkqaaa", {}), (f"/routing/v1/dht/closest/peers/{ID}", {}),
    (f"/routing/v1/nope/{ID}", {}), (f"/routing/v1/providers/{CIDV0}/extra", {}),
    (f"/routing/v1/providers/{CIDV0}", {"filter-addrs": "x" * 100}),
])
def test_parse_request_400(path: str, query: dict[str, str]) -> None:
    with pytest.raises(HttpError) as e:
        p.parse_request(path, query)
    assert e.value.status == 400


def test_negotiate_records() -> None:
    assert p.negotiate_records(None) == "application/json"
    assert p.negotiate_records("*/*") == "application/json"
    assert p.negotiate_records("application/json") == "application/json"
    assert p.negotiate_records("application/x-ndjson") == "application/x-ndjson"
    assert p.negotiate_records("application/x-ndjson, application/json;q=0.8") == "application/x-ndjson"
    assert p.negotiate_records("application/x-ndjson;q=0, application/json") == "application/json"
    with pytest.raises(HttpError) as e:
        p.negotiate_records("text/html")
    assert e.value.status == 406
    assert p.accepts_ipns_record(IPNS_RECORD_MEDIA)
    assert not p.accepts_ipns_record("*/*")
    assert not p.accepts_ipns_record(None)


def test_is_routing_path() -> None:
    assert p.is_routing_path("/routing/v1") and p.is_routing_path("/routing/v1/providers/x")
    assert not p.is_routing_path("/routing/v10") and not p.is_routing_path("/ipfs/x")
