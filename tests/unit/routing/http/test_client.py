"""DelegatedRouter against scripted HTTP answers (httpx.MockTransport, no sockets)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence

import httpx
import pytest
import trio

from jiaozi_node.config import DelegatedRoutingLimits
from jiaozi_node.errors import InvalidInput, LimitExceeded, NotFound, RemoteProtocolError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.routing.base import PeerRecord, Router, RoutingUnsupported
from jiaozi_node.routing.http.client import DelegatedRouter
from jiaozi_node.routing.http.records import ipns_key, parse_peer_id, peer_id_cid_str

A, B, C = (Identity.generate().peer_id for _ in range(3))
CID1 = CID.of(b"hello")
ADDR = "/ip4/127.0.0.1/tcp/4001"


def rec(pid: str, addrs: Sequence[str] = (ADDR,), protocols: Sequence[str] = ("transport-bitswap",)) -> dict:
    return {"Schema": "peer", "ID": pid, "Addrs": list(addrs), "Protocols": list(protocols)}


def router(handler: Callable, **kw) -> DelegatedRouter:  # type: ignore[type-arg]
    return DelegatedRouter("http://router.test", transport=httpx.MockTransport(handler), **kw)


def ndjson(*objs: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


async def collect(it: AsyncIterator[PeerRecord]) -> list[PeerRecord]:
    return [r async for r in it]


class FakeIpnsValidator:
    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []

    def validate(self, key: bytes, value: bytes, *, now: float) -> None:
        self.seen.append((key, value))
        if not value.startswith(b"valid"):
            raise InvalidInput("record signature does not verify")

    def select(self, key: bytes, values: Sequence[bytes], *, now: float) -> int:
        return 0


def test_is_a_router() -> None:
    assert isinstance(DelegatedRouter("http://127.0.0.1:1"), Router)


async def test_providers_ndjson_request_and_parse() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        body = ndjson(rec(A), {"Schema": "peer", "ID": "garbage"}, rec(B, [], []), rec(A),
                      {"Schema": "unknown-schema", "ID": C})
        return httpx.Response(200, headers={"Content-Type": "application/x-ndjson"}, content=body)

    async with router(handler) as r:
        out = await collect(r.find_providers(CID1))
        assert out == [PeerRecord(A, (ADDR,), ("transport-bitswap",)), PeerRecord(B)]
        assert r.dropped == 2
    req = seen[0]
    assert req.method == "GET"
    assert req.url.path == f"/routing/v1/providers/{CID1}"
    assert req.headers["accept"] == "application/x-ndjson, application/json;q=0.8"


async def test_providers_json_answer_and_limit() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Providers": [rec(A), rec(B), rec(C)]})

    async with router(handler) as r:
        assert [p.peer_id for p in await collect(r.find_providers(CID1, limit=2))] == [A, B]
        assert [p.peer_id for p in await collect(r.find_providers(str(CID1)))] == [A, B, C]


@pytest.mark.parametrize("status,body,ctype", [
    (404, b"not found", "text/plain"),
    (200, b'{"Providers": []}', "application/json"),
    (200, b'{"Providers": null}', "application/json"),
    (200, b"", "application/x-ndjson"),
])
async def test_no_results_forms(status: int, body: bytes, ctype: str) -> None:
    async with router(lambda req: httpx.Response(status, content=body,
                                                 headers={"Content-Type": ctype})) as r:
        assert await collect(r.find_providers(CID1)) == []


async def test_results_are_streamed_as_they_arrive() -> None:
    first_seen = trio.Event()

    async def lines() -> AsyncIterator[bytes]:
        yield ndjson(rec(A))
        with trio.fail_after(5):  # only set once the client handed out the first record
            await first_seen.wait()
        yield ndjson(rec(B))

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "application/x-ndjson"}, content=lines())

    async with router(handler) as r:
        got = []
        with trio.fail_after(10):
            async for p in r.find_providers(CID1):
                got.append(p.peer_id)
                first_seen.set()
        assert got == [A, B]


async def test_filters_sent_and_applied_locally() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)  # a server that ignores the filters
        return httpx.Response(200, json={"Providers": [
            rec(A, [ADDR, "/ip4/127.0.0.1/udp/1/quic-v1"]), rec(B, ["/ip4/127.0.0.1/udp/1/quic-v1"]),
            rec(C, [ADDR], [])]})

    async with router(handler, filter_addrs=["tcp"], filter_protocols=["transport-bitswap"]) as r:
        out = await collect(r.find_providers(CID1))
    assert out == [PeerRecord(A, (ADDR,), ("transport-bitswap",))]
    assert seen[0].url.params["filter-addrs"] == "tcp"
    assert seen[0].url.params["filter-protocols"] == "transport-bitswap"


async def test_find_peer() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, headers={"Content-Type": "application/x-ndjson"},
                              content=ndjson(rec(B), rec(A, [ADDR, f"{ADDR}/p2p/{A}"])))

    async with router(handler) as r:
        assert await r.find_peer(A) == PeerRecord(A, (ADDR,), ("transport-bitswap",))
        assert r.dropped == 1  # the record about B in an answer about A
        with pytest.raises(NotFound):
            await r.find_peer(C)
        with pytest.raises(InvalidInput):
            await r.find_peer("not-a-peer")
    assert seen[0].url.path == f"/routing/v1/peers/{peer_id_cid_str(parse_peer_id(A))}"


async def test_unexpected_status_and_content_type() -> None:
    async with router(lambda req: httpx.Response(500, text="boom " * 1000)) as r:
        with pytest.raises(RemoteProtocolError, match="HTTP 500.*boom"):
            await collect(r.find_providers(CID1))
    async with router(lambda req: httpx.Response(200, text="<html>")) as r:
        with pytest.raises(RemoteProtocolError, match="Content-Type"):
            await collect(r.find_providers(CID1))


async def test_json_body_over_limit() -> None:
    lim = DelegatedRoutingLimits(max_json_body_bytes=1000)
    big = {"Providers": [rec(A)] * 100}
    async with router(lambda req: httpx.Response(200, json=big), limits=lim) as r:
        with pytest.raises(LimitExceeded):
            await collect(r.find_providers(CID1))


async def test_provide_unsupported() -> None:
    async with router(lambda req: httpx.Response(500)) as r:
        with pytest.raises(RoutingUnsupported):
            await r.provide([CID1])


# ------------------------------------------------------------------ IPNS

NAME = parse_peer_id(A)
KEY = ipns_key(NAME)


async def test_ipns_refused_without_validator() -> None:
    calls: list[httpx.Request] = []
    async with router(lambda req: calls.append(req) or httpx.Response(200)) as r:
        with pytest.raises(RoutingUnsupported, match="IPNS validator"):
            await r.get_value(KEY)
        with pytest.raises(RoutingUnsupported, match="IPNS validator"):
            await r.put_value(KEY, b"valid")
        with pytest.raises(RoutingUnsupported, match="/pk/"):
            await r.get_value(b"/pk/" + NAME)
    assert calls == []  # nothing was asked or sent


async def test_ipns_get_validates() -> None:
    v = FakeIpnsValidator()
    answers = {"good": (200, b"valid record", "application/vnd.ipfs.ipns-record")}

    def handler(req: httpx.Request) -> httpx.Response:
        assert req.headers["accept"] == "application/vnd.ipfs.ipns-record"
        assert req.url.path == f"/routing/v1/ipns/{peer_id_cid_str(NAME)}"
        status, body, ctype = answers["now"]
        return httpx.Response(status, content=body, headers={"Content-Type": ctype})

    async with router(handler, validators={"ipns": v}) as r:
        answers["now"] = answers["good"]
        assert await r.get_value(KEY) == b"valid record"
        assert v.seen == [(KEY, b"valid record")]
        answers["now"] = (200, b"forged", "application/vnd.ipfs.ipns-record")
        with pytest.raises(InvalidInput, match="signature"):
            await r.get_value(KEY)
        for no_record in [(404, b"", "text/plain"), (200, b"Record not found", "text/plain")]:
            answers["now"] = no_record
            with pytest.raises(NotFound):
                await r.get_value(KEY)
        answers["now"] = (200, b"valid" + b"x" * 20_000, "application/vnd.ipfs.ipns-record")
        with pytest.raises(LimitExceeded):
            await r.get_value(KEY)


async def test_ipns_put_validates_first() -> None:
    v = FakeIpnsValidator()
    sent: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        return httpx.Response(200)

    async with router(handler, validators={"ipns": v}) as r:
        with pytest.raises(InvalidInput):
            await r.put_value(KEY, b"forged")
        assert sent == []
        await r.put_value(KEY, b"valid record")
    assert sent[0].method == "PUT" and sent[0].content == b"valid record"
    assert sent[0].headers["content-type"] == "application/vnd.ipfs.ipns-record"
    async with router(lambda req: httpx.Response(400, text="bad record"), validators={"ipns": v}) as r:
        with pytest.raises(RemoteProtocolError, match="400.*bad record"):
            await r.put_value(KEY, b"valid record")

