"""Gateway abuse over real sockets (hypercorn, as `jzfs daemon` serves it): error answers that
close, CIDs we could never serve refused at once, non-canonical CID strings, path tricks, header
floods and idle connections next to an honest request."""

from __future__ import annotations

import dataclasses
import hashlib

import httpx
import pytest
import trio

from jiaozi_node.config import HTTP_LIMITS
from jiaozi_node.gateway.server import GatewayApp
from jiaozi_node.ipld import CID
from jiaozi_node.ipld import multihash as mh
from jiaozi_node.unixfs.exporter_testing import DagBuilder

DATA = hashlib.shake_128(b"hostile-gw").digest(200_000)


async def never(cid: CID) -> bytes:
    """A fetch from peers that never answers (the content is nowhere)."""
    await trio.sleep_forever()
    raise AssertionError


@pytest.fixture
def tree() -> tuple[DagBuilder, dict[str, CID]]:
    dag = DagBuilder()
    big = dag.chunked(DATA, chunk=20_000, width=4)
    hello = dag.raw(b"hello\n")
    root = dag.directory({"big.bin": big, "hello.txt": hello})
    return dag, {"root": root, "big": big, "hello": hello}


def pad_bits_variant(cid: CID) -> str:
    """The same bytes as `cid` in base32 with a non-zero unused bit in the last character."""
    text = str(cid)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    assert (len(text) - 1) * 5 % 8, "this CID's base32 form has no unused bits"
    return text[:-1] + alphabet[alphabet.index(text[-1]) | 1]


@pytest.mark.parametrize("request_line", [
    b"GET /ipfs/not-a-cid HTTP/1.1",            # 400
    b"GET /ipfs/{missing} HTTP/1.1",            # 404 (nothing to fetch from)
    b"POST /ipfs/{root} HTTP/1.1",              # 405
    b"GET /ipfs/{root}/../x HTTP/1.1",          # 400
    b"GET /ipns/example.com HTTP/1.1",          # 501
    b"GET /ipfs/{root}/hello.txt HTTP/1.1",     # 200 (a success closes too)
])
async def test_connection_close_answers_close_the_socket(serve, raw_http, tree, request_line) -> None:
    """`Connection: close` must end in EOF, not a socket left open until the client gives up."""
    dag, c = tree
    host, port = await serve(GatewayApp(dag.store))
    line = request_line.replace(b"{root}", str(c["root"]).encode()).replace(
        b"{missing}", str(CID.of(b"missing")).encode())
    reply = await raw_http(host, port, line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 "), reply[:100]
    assert b"connection: close" in reply.lower()


async def test_idle_keep_alive_connection_is_closed(serve, raw_http, tree) -> None:
    """After an answer on a keep-alive connection the keep-alive timer runs (it did not: the end
    of the app's last send was cancelled by its own disconnect watcher)."""
    dag, c = tree
    limits = dataclasses.replace(HTTP_LIMITS, keep_alive_timeout_s=0.5)
    host, port = await serve(GatewayApp(dag.store), limits)
    reply = await raw_http(host, port, f"GET /ipfs/{c['hello']} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"hello\n")
    reply = await raw_http(host, port, b"GET /ipfs/nope HTTP/1.1\r\nHost: a\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("fmt", ["", "?format=raw", "?format=car"])
async def test_unsupported_codec_or_hash_fails_at_once(serve, fmt) -> None:
    """A CID we could never serve is refused before anything is asked of peers (it used to wait
    for the gateway timeout, then 504)."""
    host, port = await serve(GatewayApp(DagBuilder().store, fetch=never))
    unknown_codec = CID(1, 0x0300, mh.digest(mh.SHA2_256, b"x"))   # no codec we can read
    unknown_hash = CID(1, 0x55, bytes([0x1E, 0x20]) + bytes(32))    # blake3: cannot verify
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
        with trio.fail_after(10):
            r = await http.get(f"/ipfs/{unknown_hash}{fmt}")
            assert r.status_code == 501 and "hash function" in r.text
            if fmt != "?format=raw":  # a bare block is bytes whatever its codec: fetchable
                r = await http.get(f"/ipfs/{unknown_codec}{fmt}")
                assert r.status_code == 501 and "codec" in r.text
            r = await http.get(f"/ipfs/{unknown_codec}/a/path?format=raw")
            assert r.status_code == 501


async def test_non_canonical_base32_cids_refused(serve, tree) -> None:
    dag, c = tree
    host, port = await serve(GatewayApp(dag.store))
    text = str(c["hello"])
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
        assert (await http.get(f"/ipfs/{text}")).status_code == 200
        for bad in (pad_bits_variant(c["hello"]), "b" + text[1:].upper(), text + "=", text[:-1]):
            r = await http.get(f"/ipfs/{bad}")
            assert r.status_code == 400, bad


async def test_abuse_does_not_stop_an_honest_request(serve, raw_http, tree) -> None:
    """Idle half-open connections, a header flood, garbage request lines, bad ranges and path
    tricks, then an honest download still gets every byte."""
    dag, c = tree
    host, port = await serve(GatewayApp(dag.store))
    idle = [await trio.open_tcp_stream(host, port) for _ in range(50)]
    try:
        for s in idle[:25]:
            await s.send_all(b"GET /ipfs/")  # a request line that never ends
        reply = await raw_http(host, port, b"GET /ipfs/x HTTP/1.1\r\nHost: a\r\nX-Big: "
                               + b"a" * 200_000 + b"\r\n\r\n")
        assert not reply.startswith(b"HTTP/1.1 200")
        reply = await raw_http(host, port, b"\x16\x03\x01\x00\xa5garbage\r\n\r\n")
        assert not reply.startswith(b"HTTP/1.1 200")
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            for path, code in ((f"/ipfs/{c['root']}/%2e%2e/x", 400), (f"/ipfs/{c['root']}/a%2fb", 400),
                               (f"/ipfs/{c['root']}/a%00b", 400), ("/ipfs/" + "b" * 5000, 400)):
                assert (await http.get(path)).status_code == code, path
            r = await http.get(f"/ipfs/{c['big']}", headers={"Range": "bytes=999999999-"})
            assert r.status_code == 416
            r = await http.get(f"/ipfs/{c['big']}", headers={"Range": "bytes=" + "1-2," * 2000})
            assert r.status_code in (200, 206, 400, 416)
            r = await http.get(f"/ipfs/{c['root']}/big.bin")
            assert r.status_code == 200 and r.content == DATA
    finally:
        for s in idle:
            await s.aclose()


async def test_requests_for_content_nobody_has_do_not_block_others(serve, tree) -> None:
    """Dozens of requests for CIDs that never arrive (the fetch hangs) hold no lock and no worker
    the honest request needs; clients that give up stop the server's work."""
    dag, c = tree
    started = 0

    async def hanging(cid: CID) -> bytes:
        nonlocal started
        started += 1
        await trio.sleep_forever()
        raise AssertionError

    host, port = await serve(GatewayApp(dag.store, fetch=hanging))
    base = f"http://{host}:{port}"

    async def stuck(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=3) as http:
            try:
                await http.get(f"/ipfs/{CID.of(str(i).encode())}")
            except httpx.TimeoutException:
                pass

    async with trio.open_nursery() as n:
        for i in range(40):
            n.start_soon(stuck, i)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            while started < 40:  # noqa: ASYNC110 - a counter, no event
                await trio.sleep(0.02)
            r = await http.get(f"/ipfs/{c['root']}/big.bin")
            assert r.status_code == 200 and r.content == DATA
