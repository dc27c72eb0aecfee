"""Hostile delegated routers and hostile clients of our /routing/v1 server.

Routers are raw TCP servers on 127.0.0.1 that write scripted bytes (garbage, huge bodies, slow
drips, wrong content types, bad records). Our DelegatedRouter must end every lookup with a
clear error or with the valid records only, within the limits of DelegatedRoutingLimits (set
small here so the suite stays quick) — never a crash or a hang. The server side gets hostile
requests over real HTTP (hypercorn) and answers 4xx without reading more than its limits.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
import trio

from jiaozi_node.config import DelegatedRoutingLimits
from jiaozi_node.errors import (
    InvalidInput,
    JzfsError,
    LimitExceeded,
    NetworkError,
    NotFound,
    RemoteProtocolError,
    Timeout,
)
from jiaozi_node.gateway.asgi import serve_app
from jiaozi_node.gateway.http_common import multiaddr_to_host_port
from jiaozi_node.gateway.server import GatewayApp
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.routing.base import PeerRecord
from jiaozi_node.routing.http.client import DelegatedRouter
from jiaozi_node.routing.http.records import ipns_key, parse_peer_id, peer_id_cid_str
from jiaozi_node.routing.http.server import RoutingApi
from jiaozi_node.routing.validators import default_validators
from jiaozi_node.store.base import MemoryBlockstore

GOOD = Identity.generate().peer_id
CID1 = CID.of(b"x")
ADDR = "/ip4/127.0.0.1/tcp/4001"
LIMITS = DelegatedRoutingLimits(client_timeout_s=0.5, client_total_timeout_s=2.0,
                                max_json_body_bytes=64 * 1024, max_ndjson_line_bytes=4096,
                                max_ndjson_stream_bytes=256 * 1024, max_records_per_response=200)
# Every hostile lookup must end well within this (the limits above, plus slack for a slow CI).
BOUND_S = 15

Script = Callable[[trio.SocketStream], Awaitable[None]]
NAME = parse_peer_id(GOOD)
KEY = ipns_key(NAME)


def head(status: int = 200, ctype: str = "application/x-ndjson", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nConnection: close\r\n{extra}"
            "\r\n").encode()


def good_line() -> bytes:
    return json.dumps({"Schema": "peer", "ID": GOOD, "Addrs": [ADDR]}).encode() + b"\n"


async def _read_request(stream: trio.SocketStream) -> None:
    buf = b""
    with trio.move_on_after(5):
        while b"\r\n\r\n" not in buf:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            buf += chunk


async def run_against(script: Script, call: Callable[[DelegatedRouter], Awaitable[object]]) -> object:
    """Serve `script` on 127.0.0.1 and run `call(router)` against it, bounded in time."""

    async def handler(stream: trio.SocketStream) -> None:
        try:
            await _read_request(stream)
            await script(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client hung up on us: that is the point of several scripts

    outcome: list[object] = []
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        router = DelegatedRouter(f"http://127.0.0.1:{port}", limits=LIMITS,
                                 validators=default_validators())
        try:
            with trio.fail_after(BOUND_S):  # TooSlowError here = the client hung: a failure
                outcome.append(await call(router))
        except JzfsError as exc:  # re-raised outside the nursery (not wrapped in a group)
            outcome.append(exc)
        finally:
            await router.aclose()
            nursery.cancel_scope.cancel()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


async def providers(router: DelegatedRouter) -> list[PeerRecord]:
    return [r async for r in router.find_providers(CID1, limit=50)]


async def expect_error(script: Script, *errors: type[BaseException]) -> BaseException:
    with pytest.raises(errors or (JzfsError,)) as e:
        await run_against(script, providers)
    assert str(e.value)  # a message a user can read
    return e.value


# ------------------------------------------------------------------ transport / HTTP level

async def test_not_http_at_all() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(b"\x00\xff garbage that is not HTTP\r\n\r\n" * 10)

    await expect_error(script, RemoteProtocolError, NetworkError)


async def test_connection_closed_without_answer() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.aclose()

    await expect_error(script, NetworkError, RemoteProtocolError)


async def test_silent_server_times_out() -> None:
    async def script(s: trio.SocketStream) -> None:
        await trio.sleep_forever()

    assert isinstance(await expect_error(script, Timeout), Timeout)


async def test_headers_never_end() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(b"HTTP/1.1 200 OK\r\n")
        for i in range(100_000):
            await s.send_all(f"X-Junk-{i}: {'a' * 100}\r\n".encode())

    await expect_error(script, RemoteProtocolError, NetworkError, Timeout)


async def test_wrong_content_type() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, "text/html") + b"<html>" + good_line())

    with pytest.raises(RemoteProtocolError, match="Content-Type"):
        await run_against(script, providers)


async def test_error_status_with_huge_body_is_reported_short() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(503, "text/plain"))
        for _ in range(200):
            await s.send_all(b"overloaded " * 1000)

    e = await expect_error(script, RemoteProtocolError)
    assert "HTTP 503" in str(e) and len(str(e)) < 400


# ------------------------------------------------------------------ bodies

async def test_json_body_declared_huge() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, "application/json", "Content-Length: 100000000000\r\n"))
        await trio.sleep_forever()

    with pytest.raises(LimitExceeded):
        await run_against(script, providers)


async def test_json_body_streamed_huge() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, "application/json") + b'{"Providers": [')
        while True:
            await s.send_all(good_line().strip() + b"," * 4096)

    with pytest.raises(LimitExceeded):
        await run_against(script, providers)


@pytest.mark.parametrize("body", [b"[" * 50_000, b'{"Providers": "nope"}', b"\xff\xfe\x00",
                                  b'{"Providers": [' + b"9" * 60_000 + b"]}", b"null"])
async def test_json_garbage(body: bytes) -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, "application/json") + body)

    with pytest.raises(RemoteProtocolError):
        await run_against(script, providers)


@pytest.mark.parametrize("ctype", ["application/json", "application/x-ndjson",
                                   "application/vnd.ipfs.ipns-record"])
async def test_compressed_bomb_refused_not_inflated(ctype: str) -> None:
    import zlib

    bomb = zlib.compress(b" " * (64 * 1024 * 1024), 9)  # 64 KiB on the wire, 64 MiB inflated

    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, ctype, f"Content-Encoding: deflate\r\nContent-Length: {len(bomb)}\r\n")
                         + bomb)

    call = providers if "ipns" not in ctype else (lambda r: r.get_value(KEY))
    with pytest.raises(RemoteProtocolError, match="Content-Encoding"):
        await run_against(script, call)


async def test_ndjson_endless_junk_is_cut_off() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head())
        while True:
            await s.send_all(b"x" * 65536)  # one endless line

    with pytest.raises(LimitExceeded):
        await run_against(script, providers)


async def test_ndjson_endless_invalid_records_stop_at_the_record_cap() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head() + good_line())
        while True:
            await s.send_all(b'{"Schema":"peer","ID":"bad"}\n' * 100)

    out = await run_against(script, providers)
    assert out == [PeerRecord(GOOD, (ADDR,))]


async def test_slow_drip_hits_the_total_deadline() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head() + good_line())
        while True:  # each byte within the read timeout, never finishing
            await trio.sleep(0.1)
            await s.send_all(b" ")

    got: list[PeerRecord] = []

    async def call(router: DelegatedRouter) -> None:
        async for r in router.find_providers(CID1):
            got.append(r)

    start = trio.current_time()
    with pytest.raises(Timeout):
        await run_against(script, call)
    assert got == [PeerRecord(GOOD, (ADDR,))]  # what came before the deadline was delivered
    assert trio.current_time() - start < BOUND_S


async def test_bad_records_dropped_good_kept() -> None:
    bad_lines = [
        b"not json", b"[1,2,3]", b'"a string"', b"{" * 3000, b"9" * 5000,
        json.dumps({"Schema": "peer", "ID": "12D3KooWbroken"}).encode(),
        json.dumps({"Schema": "peer", "ID": str(CID1)}).encode(),
        json.dumps({"Schema": "peer", "ID": 12}).encode(),
        json.dumps({"Schema": "peer"}).encode(),
        json.dumps({"Schema": "weird", "ID": GOOD}).encode(),
        json.dumps({"Schema": "peer", "ID": GOOD, "Addrs": {"x": 1}}).encode(),
        b'{"Schema":"peer","ID":"' + b"Q" * 3000 + b'"}',
        b"\xff\xfe\xfd",
    ]
    other = Identity.generate().peer_id
    mixed = {"Schema": "peer", "ID": other, "Protocols": ["transport-bitswap", 7, "p" * 300],
             "Addrs": ["/ip4/1.2.3.4/tcp/99999", "/garbage", "/ip4/127.0.0.1/tcp/1", None,
                       "/ip4/127.0.0.1/tcp/2" + "/ws" * 400]}

    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head() + b"\n".join(bad_lines) + b"\n" + json.dumps(mixed).encode()
                         + b"\n" + good_line())

    async def call(router: DelegatedRouter) -> tuple[list[PeerRecord], int]:
        return await providers(router), router.dropped

    out, dropped = await run_against(script, call)  # type: ignore[misc]
    assert out == [PeerRecord(other, ("/ip4/127.0.0.1/tcp/1",), ("transport-bitswap",)),
                   PeerRecord(GOOD, (ADDR,))]
    assert dropped == len(bad_lines)


async def test_stopping_early_closes_the_connection() -> None:
    closed = trio.Event()

    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head() + good_line())
        with trio.move_on_after(BOUND_S):
            while await s.receive_some(1024):  # b"" once the client closed its end
                pass
            closed.set()

    async def call(router: DelegatedRouter) -> None:
        async for _ in router.find_providers(CID1):
            break  # the caller has what it wanted: the response must be closed now
        with trio.fail_after(5):
            await closed.wait()

    await run_against(script, call)


async def test_find_peer_answer_about_someone_else() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head() + good_line() * 3)

    other = Identity.generate().peer_id
    with pytest.raises(NotFound):
        await run_against(script, lambda r: r.find_peer(other))


# ------------------------------------------------------------------ IPNS


async def test_ipns_garbage_record_refused() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, "application/vnd.ipfs.ipns-record") + b"\x0a\x05hello garbage")

    with pytest.raises(InvalidInput):
        await run_against(script, lambda r: r.get_value(KEY))


async def test_ipns_huge_record_refused() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, "application/vnd.ipfs.ipns-record"))
        while True:
            await s.send_all(b"\x00" * 65536)

    with pytest.raises(LimitExceeded):
        await run_against(script, lambda r: r.get_value(KEY))


async def test_ipns_slow_record_times_out() -> None:
    async def script(s: trio.SocketStream) -> None:
        await s.send_all(head(200, "application/vnd.ipfs.ipns-record"))
        while True:
            await trio.sleep(0.1)
            await s.send_all(b"\x00")

    with pytest.raises(Timeout):
        await run_against(script, lambda r: r.get_value(KEY))


# ------------------------------------------------------------------ our server, hostile clients

async def test_server_refuses_hostile_requests() -> None:
    api = RoutingApi(router=lambda: None, validators=default_validators)
    app = GatewayApp(MemoryBlockstore(), routing=api)
    async with trio.open_nursery() as nursery:
        ma = await nursery.start(serve_app, app, "/ip4/127.0.0.1/tcp/0")
        host, port = multiaddr_to_host_port(ma)
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as http:
            name = peer_id_cid_str(NAME)
            ipns = "application/vnd.ipfs.ipns-record"

            async def endless():  # type: ignore[no-untyped-def]
                while True:
                    yield b"\x00" * 65536

            with trio.fail_after(BOUND_S):
                r = await http.put(f"/routing/v1/ipns/{name}", content=endless(),
                                   headers={"Content-Type": ipns})
            assert r.status_code == 400 and "limit" in r.text
            r = await http.put(f"/routing/v1/ipns/{name}", content=b"\x0a\x03bad",
                               headers={"Content-Type": ipns})
            assert r.status_code == 400 and "invalid IPNS record" in r.text
            for path in ["/routing/v1/providers/" + "b" * 5000, "/routing/v1/peers/%00%ff",
                         "/routing/v1/providers/bafy%2F..%2F..", "/routing/v1/ipns/" + "k" * 300,
                         f"/routing/v1/providers/{CID1}?filter-addrs=" + ",".join(["tcp"] * 500),
                         f"/routing/v1/providers/{CID1}?filter-protocols=" + "a" * 4000]:
                r = await http.get(path, headers={"Accept": ipns})
                assert r.status_code == 400, (path, r.status_code)
            r = await http.get(f"/routing/v1/providers/{CID1}", headers={"Accept": "x" * 8000})
            assert r.status_code == 406
            r = await http.get(f"/routing/v1/providers/{CID1}")  # still answering
            assert r.status_code == 200 and r.json() == {"Providers": []}
        nursery.cancel_scope.cancel()
