"""Hostile IPNS input from every place records come from — a DHT/delegated router, a trustless
gateway, DNS: oversized, truncated, expired, mis-signed, mismatched (another name's record, V1
fields that contradict the signed data), garbage. Each is rejected with a logged reason, never
cached, never used; a good source next to a bad one still wins; the node keeps answering."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaozi_node.config import IPNS_LIMITS
from jiaozi_node.errors import NotFound
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, InvalidRecord, IpnsEntry, create_record, validate_record
from jiaozi_node.ipns.resolver import Resolver
from jiaozi_node.ipns.store import IpnsStore

GOOD = "/ipfs/bafkqaaa"
KEY = PrivateKey.generate()
NAME = IpnsName.from_public_key(KEY.public_key)
LIMITS = replace(IPNS_LIMITS, resolve_timeout_s=5.0, resolve_settle_s=0.05)


def _good(seq: int = 1, value: str = GOOD, eol_s: float = 3600) -> bytes:
    return create_record(KEY, value.encode(), seq=seq, eol_ns=int((time.time() + eol_s) * NS),
                         ttl_ns=60 * NS)


def _bad(kind: str) -> bytes:
    raw = _good(seq=99, value="/ipfs/bafkreiey5jxe6ilpf62lnh77tm5ejbbmhbugzjuf6p2v3remlu73ced34q")
    entry = IpnsEntry.decode(raw)
    if kind == "oversized":
        return raw + b"\x5a" + bytes([0x80, 0x50]) + b"x" * (10 * 1024)
    if kind == "truncated":
        return raw[: len(raw) // 2]
    if kind == "expired":
        return create_record(KEY, b"/ipfs/bafkqaaa", seq=99, eol_ns=int((time.time() - 1) * NS), ttl_ns=0)
    if kind == "mis-signed":
        sig = bytes([entry.signature_v2[0] ^ 0x55]) + entry.signature_v2[1:]
        return IpnsEntry(**{**entry.__dict__, "signature_v2": sig}).encode()
    if kind == "other-name":
        return create_record(PrivateKey.generate(), b"/ipfs/bafkqaaa", seq=99,
                             eol_ns=int((time.time() + 60) * NS), ttl_ns=0)
    if kind == "v1-mismatch":
        return IpnsEntry(**{**entry.__dict__, "value": b"/ipfs/evil"}).encode()
    if kind == "garbage":
        return b"\x0a\xff\xff\xff\xff\x0f" + b"\x00" * 50
    raise AssertionError(kind)


KINDS = ["oversized", "truncated", "expired", "mis-signed", "other-name", "v1-mismatch", "garbage"]


class Router:
    def __init__(self, value: bytes | None) -> None:
        self.value = value

    async def get_value(self, key: bytes) -> bytes:
        if self.value is None:
            raise NotFound("none")
        return self.value


def gateway_serving(record: bytes) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params.get("format") == "ipns-record"
        return httpx.Response(200, content=record,
                              headers={"Content-Type": "application/vnd.ipfs.ipns-record"})
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("source", ["routing", "gateway"])
async def test_bad_record_alone_is_refused(tmp_path, caplog, kind, source):
    store = IpnsStore(tmp_path / "ipns.db")
    bad = _bad(kind)
    if source == "routing":
        r = Resolver(store=store, router=lambda: Router(bad), limits=LIMITS)
    else:
        r = Resolver(store=store, gateways=["http://127.0.0.1:9"], http=gateway_serving(bad),
                     limits=LIMITS)
    with pytest.raises(NotFound, match="invalid record"):
        await r.resolve(f"/ipns/{NAME}")
    assert store.cached(NAME) is None  # never cached
    assert "rejected a record" in caplog.text
    assert r.rejected and r.rejected[-1][0].startswith(source)
    store.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_record_next_to_a_good_one_never_wins(tmp_path, kind):
    store = IpnsStore(tmp_path / "ipns.db")
    r = Resolver(store=store, router=lambda: Router(_good(seq=1)), gateways=["http://127.0.0.1:9"],
                 http=gateway_serving(_bad(kind)), limits=LIMITS)
    assert await r.resolve(f"/ipns/{NAME}") == GOOD  # the bad one claimed sequence 99
    cached = store.cached(NAME)
    assert cached is not None and IpnsEntry.decode(cached[0]).sequence == 1
    store.close()


async def test_poisoned_cache_entry_is_dropped(tmp_path):
    store = IpnsStore(tmp_path / "ipns.db")
    store._db.execute("INSERT INTO cache VALUES (?,?,?,?)",  # written behind our back
                      (str(NAME), _bad("mis-signed"), time.time() + 3600, "disk"))
    r = Resolver(store=store, router=lambda: Router(_good(seq=1)), limits=LIMITS)
    assert await r.resolve(f"/ipns/{NAME}") == GOOD
    assert IpnsEntry.decode(store.cached(NAME)[0]).sequence == 1
    store.close()


async def test_gateway_keeps_serving_after_bad_records(tmp_path):
    """Our gateway's /ipns/ with a router that hands out garbage: a clean error status, and the
    next request for a good name works."""
    from jiaozi_node.gateway.server import GatewayApp
    from jiaozi_node.ipns.service import IpnsService
    from jiaozi_node.node import Node

    node = Node.open(tmp_path / "repo")
    cid = node.add_bytes(b"fine\n")
    router = Router(_bad("mis-signed"))
    svc = IpnsService(node, router=lambda: router, gateways=[])
    svc.resolver.limits = LIMITS
    app = GatewayApp(node.blocks, ipns=lambda: svc)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        r = await c.get(f"/ipns/{NAME}")
        assert r.status_code in (404, 502) and "invalid record" in r.text
        r = await c.get(f"/ipns/{NAME}?format=ipns-record")
        assert r.status_code in (404, 502)
        router.value = create_record(KEY, f"/ipfs/{cid}".encode(), seq=1,
                                     eol_ns=int((time.time() + 60) * NS), ttl_ns=NS)
        r = await c.get(f"/ipns/{NAME}")
        assert r.status_code == 200 and r.content == b"fine\n"
    svc.close()
    node.close()


async def test_dns_answers_from_hostile_servers(tmp_path):
    from jiaozi_node.errors import InvalidInput, Timeout
    from jiaozi_node.ipns.dns import DnsClient
    from jiaozi_node.testing.dns_server import LocalDns

    store = IpnsStore(tmp_path / "ipns.db")
    for mode, err in (("garbage", InvalidInput), ("silent", Timeout)):
        with LocalDns({"_dnslink.example.org": [f"dnslink={GOOD}"]}, mode=mode) as dns:
            client = DnsClient({".": dns.url}, limits=replace(IPNS_LIMITS, dns_timeout_s=0.3))
            r = Resolver(store=store, dns=client, limits=LIMITS)
            with pytest.raises(err):
                await r.resolve("/ipns/example.org")
    with LocalDns({"_dnslink.example.org": ["dnslink=/ipns/example.org"]}) as dns:  # self-loop
        r = Resolver(store=store, dns=DnsClient({".": dns.url}), limits=LIMITS)
        with pytest.raises(InvalidInput, match="loop"):
            await r.resolve("/ipns/example.org")
    store.close()
    await trio.lowlevel.checkpoint()


_GOOD_RAW = _good(seq=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_crash_the_validator(data):
    try:
        validate_record(NAME, data, now=time.time())
    except InvalidRecord:
        pass  # the only acceptable failure: a named rule


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(_GOOD_RAW) - 1), st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_is_refused_or_harmless(pos, xor):
    raw = bytearray(_GOOD_RAW)
    raw[pos] ^= xor
    try:
        rec = validate_record(NAME, bytes(raw), now=time.time())
    except InvalidRecord:
        return
    # a flip that still validates can only have touched bytes the V2 signature does not cover
    # and that must match the signed data anyway (e.g. an unknown field tag): same content
    assert rec.value == GOOD.encode() and rec.sequence == 3
