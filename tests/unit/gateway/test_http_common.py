"""Pure HTTP helpers: content paths, negotiation, ranges, ETags, sniffing, listings."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import HashMismatch, InvalidInput, NotFound, Timeout
from jiaozi_node.gateway import http_common as hc
from jiaozi_node.gateway.http_common import HttpError
from jiaozi_node.ipld import CID, RAW

CID1 = CID.of(b"hello", codec=RAW)


def test_parse_content_path_plain_and_nested() -> None:
    p = hc.parse_content_path(f"/ipfs/{CID1}")
    assert p.cid == CID1 and p.segments == () and not p.trailing_slash
    p = hc.parse_content_path(f"/ipfs/{CID1}/a%20b/c.txt")
    assert p.segments == ("a b", "c.txt")
    assert p.path == f"/ipfs/{CID1}/a%20b/c.txt"
    assert hc.parse_content_path(f"/ipfs/{CID1}/dir/").trailing_slash
    assert hc.parse_content_path(f"/ipfs/{CID1}//a//b").segments == ("a", "b")


@pytest.mark.parametrize("path", [
    "/ipfs/notacid", "/ipfs/", "/foo/bar", "/ipfs/bafy%zz",
    f"/ipfs/{CID1}/../x", f"/ipfs/{CID1}/./x", f"/ipfs/{CID1}/a%2Fb", f"/ipfs/{CID1}/a%00b",
    f"/ipfs/{CID1}/%2e%2e/x",
])
def test_bad_paths_are_400(path: str) -> None:
    with pytest.raises(HttpError) as ei:
        hc.parse_content_path(path)
    assert ei.value.status == 400


def test_ipns_is_501() -> None:
    with pytest.raises(HttpError) as ei:
        hc.parse_content_path("/ipns/example.com")
    assert ei.value.status == 501


def test_arg_path_forms() -> None:
    for arg in (str(CID1), f"/ipfs/{CID1}"):
        assert hc.parse_arg_path(arg).cid == CID1
    assert hc.parse_arg_path(f"{CID1}/x/y").segments == ("x", "y")


def test_negotiate_format_param_wins() -> None:
    f = hc.negotiate({"format": "raw"}, "application/vnd.ipld.car")
    assert f.kind == "raw" and f.trustless
    f = hc.negotiate({"format": "car", "dag-scope": "entity"}, None)
    assert f.kind == "car" and f.dag_scope == "entity"


def test_negotiate_accept() -> None:
    assert hc.negotiate({}, "application/vnd.ipld.raw").kind == "raw"
    f = hc.negotiate({}, "application/vnd.ipld.car; version=1; order=dfs; dups=n")
    assert f.kind == "car" and f.params == {"version": "1", "order": "dfs", "dups": "n"}
    assert hc.negotiate({}, "text/html,*/*;q=0.8").kind == "unixfs"
    assert hc.negotiate({}, None).kind == "unixfs"
    # q-values order the choice
    assert hc.negotiate({}, "application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car").kind == "car"
    # an unsupported verifiable type followed by a supported one
    assert hc.negotiate({}, "application/vnd.ipld.dag-json, application/vnd.ipld.raw").kind == "raw"


@pytest.mark.parametrize("query,accept,status", [
    ({"format": "tar"}, None, 406),
    ({}, "application/vnd.ipld.dag-json", 406),
    ({}, "application/vnd.ipld.car; version=2", 406),
    ({}, "application/vnd.ipld.car; order=weird", 406),
    ({"format": "car", "dag-scope": "everything"}, None, 400),
    ({"dag-scope": "all"}, None, 400),
    ({"format": "car", "entity-bytes": "x:y"}, None, 400),
    ({"format": "car", "entity-bytes": "10:5"}, None, 400),
])
def test_negotiate_errors(query: dict[str, str], accept: str | None, status: int) -> None:
    with pytest.raises(HttpError) as ei:
        hc.negotiate(query, accept)
    assert ei.value.status == status


def test_entity_bytes_implies_entity_scope() -> None:
    f = hc.negotiate({"format": "car", "entity-bytes": "0:*"}, None)
    assert f.dag_scope == "entity" and f.entity_bytes == (0, None)
    assert hc.parse_entity_bytes("-1024:*") == (-1024, None)


def test_etags_differ_per_format_and_scope() -> None:
    raw = hc.etag(CID1, hc.ResponseFormat("raw"))
    car_all = hc.etag(CID1, hc.ResponseFormat("car", "all"))
    car_block = hc.etag(CID1, hc.ResponseFormat("car", "block"))
    plain = hc.etag(CID1, hc.ResponseFormat("unixfs"))
    assert len({raw, car_all, car_block, plain}) == 4
    assert raw == f'"{CID1}.raw"' and car_all.startswith("W/")
    assert hc.etag_matches(f'"x", {raw}', raw)
    assert hc.etag_matches(car_all.removeprefix("W/"), car_all)
    assert hc.etag_matches("*", plain)
    assert not hc.etag_matches(None, plain) and not hc.etag_matches('"other"', plain)


@pytest.mark.parametrize("header,size,expected", [
    (None, 100, None),
    ("bytes=0-9", 100, (0, 9)),
    ("bytes=90-", 100, (90, 99)),
    ("bytes=-10", 100, (90, 99)),
    ("bytes=-1000", 100, (0, 99)),
    ("bytes=50-1000", 100, (50, 99)),
    ("bytes=0-1,5-6", 100, None),  # multi-range: whole body
    ("items=0-1", 100, None),
    ("bytes=abc", 100, None),
    ("bytes=5-2", 100, None),
])
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert hc.parse_range(header, size) == expected


@pytest.mark.parametrize("header,size", [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-", 0)])
def test_unsatisfiable_range(header: str, size: int) -> None:
    with pytest.raises(HttpError) as ei:
        hc.parse_range(header, size)
    assert ei.value.status == 416


def test_sniff() -> None:
    assert hc.sniff_content_type("a.html", b"") == "text/html; charset=utf-8"
    assert hc.sniff_content_type("x.png", b"") == "image/png"
    assert hc.sniff_content_type(None, b"\x89PNG\r\n\x1a\nxxx") == "image/png"
    assert hc.sniff_content_type(None, b"  <!DOCTYPE html><html>") == "text/html; charset=utf-8"
    assert hc.sniff_content_type(None, "héllo".encode()) == "text/plain; charset=utf-8"
    assert hc.sniff_content_type(None, b"\x00\x01\x02\xff") == "application/octet-stream"
    assert hc.sniff_content_type("noext", b"<svg xmlns='x'>") == "image/svg+xml"


def test_directory_listing_escapes_names() -> None:
    cp = hc.parse_content_path(f"/ipfs/{CID1}/sub/")
    entries = [hc.ListingEntry("<script>alert(1)</script>", CID1, 12, False),
               hc.ListingEntry("d", CID1, None, True)]
    page = hc.render_directory(cp, CID1, entries).decode()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert f'href="/ipfs/{CID1}/sub/d/"' in page and ">..<" in page


def test_status_mapping() -> None:
    assert hc.status_for(NotFound("x")) == 404
    assert hc.status_for(Timeout("x")) == 504
    assert hc.status_for(InvalidInput("x")) == 400
    assert hc.status_for(HashMismatch("x")) == 502
    assert hc.status_for(HttpError(416, "x")) == 416
    assert hc.status_for(RuntimeError("x")) == 500


def test_multiaddr_helpers() -> None:
    assert hc.multiaddr_to_host_port("/ip4/127.0.0.1/tcp/8080") == ("127.0.0.1", 8080)
    assert hc.multiaddr_to_host_port("/ip6/::1/tcp/5001") == ("::1", 5001)
    for bad in ("/ip4/1.2.3.4/udp/1", "/ip4/1.2.3.4/tcp/x", "garbage", "/ip4/1/tcp/99999"):
        with pytest.raises(InvalidInput):
            hc.multiaddr_to_host_port(bad)
    assert hc.host_port_to_multiaddr("127.0.0.1", 5) == "/ip4/127.0.0.1/tcp/5"
    assert hc.is_loopback_host("127.0.0.1") and not hc.is_loopback_host("10.0.0.1")


def test_check_servable() -> None:
    from jiaozi_node.ipld import multihash as mh

    ok = CID.of(b"x")
    hc.check_servable(ok)
    odd_codec = CID(1, 0x0300, ok.multihash)
    hc.check_servable(odd_codec, any_codec=True)  # a bare block is bytes whatever its codec
    with pytest.raises(HttpError) as e:
        hc.check_servable(odd_codec)
    assert e.value.status == 501
    blake3 = CID(1, RAW, bytes([0x1E, 0x20]) + bytes(32))
    for any_codec in (True, False):
        with pytest.raises(HttpError) as e:
            hc.check_servable(blake3, any_codec=any_codec)
        assert e.value.status == 501
    with pytest.raises(HttpError) as e:
        hc.parse_content_path(f"/ipfs/{odd_codec}")
    assert e.value.status == 501
    assert hc.parse_content_path(f"/ipfs/{odd_codec}", any_codec=True).cid == odd_codec
    with pytest.raises(HttpError):
        hc.parse_content_path(f"/ipfs/{odd_codec}/a", any_codec=True)  # a path needs a codec
    assert hc.parse_cid(str(CID(1, 0x0300, mh.digest(mh.SHA2_256, b"y")))).codec == 0x0300
