"""Gateway client against scripted gateways (httpx mock transports): honest, lying, broken."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from jiaozi_node.car.traverse import dag_blocks
from jiaozi_node.car.writer import encode_header, encode_section
from jiaozi_node.errors import NotFound
from jiaozi_node.gateway.client import GatewayBlockSource, GatewayFetcher
from jiaozi_node.ipld import CID, Block
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs import exporter
from jiaozi_node.unixfs.exporter_testing import DagBuilder

DATA = hashlib.shake_128(b"client").digest(400_000)


def make_dag() -> tuple[DagBuilder, CID]:
    dag = DagBuilder()
    f = dag.chunked(DATA, chunk=20_000, width=5)
    root = dag.directory({"f.bin": f, "small": dag.raw(b"small")})
    return dag, root


def car_for(dag: DagBuilder, cid: CID) -> list[bytes]:
    return [encode_header([cid])] + [encode_section(b.cid, b.data) for b in dag_blocks(dag.store, cid)]


def honest(dag: DagBuilder, log: list[str] | None = None):
    def handler(req: httpx.Request) -> httpx.Response:
        cid = CID.decode(req.url.path.split("/")[2])
        if log is not None:
            log.append(f"{req.url.host}:{req.url.params.get('format')}:{cid}")
        if not dag.store.has(cid):
            return httpx.Response(404)
        if req.url.params.get("format") == "raw":
            return httpx.Response(200, content=dag.store.get(cid))
        return httpx.Response(200, content=b"".join(car_for(dag, cid)))
    return handler


def routed(**hosts):
    def handler(req: httpx.Request) -> httpx.Response:
        return hosts[req.url.host](req)
    return httpx.MockTransport(handler)


def read_all(store, root: CID) -> bytes:
    f = exporter.list_dir(store, root)
    cid = next(e.cid for e in f if e.name == "f.bin")
    return b"".join(exporter.read_file(store, cid))


def test_fetch_dag_from_honest_gateway() -> None:
    dag, root = make_dag()
    store = MemoryBlockstore()
    with GatewayFetcher(["http://good"], transport=routed(good=honest(dag))) as f:
        stats = f.fetch_dag(root, store)
    assert read_all(store, root) == DATA
    assert stats.blocks == len(dag.store) and stats.requests == 1


def test_wrong_bytes_gateway_dropped_next_used_nothing_bad_stored() -> None:
    dag, root = make_dag()

    def liar(req: httpx.Request) -> httpx.Response:
        chunks = car_for(dag, CID.decode(req.url.path.split("/")[2]))
        body = bytearray(b"".join(chunks))
        body[len(body) // 2] ^= 0xFF  # corrupt a block in the middle of the stream
        return httpx.Response(200, content=bytes(body))

    store = MemoryBlockstore(verify_on_read=True)
    log: list[str] = []
    with GatewayFetcher(["http://liar", "http://good"],
                        transport=routed(liar=liar, good=honest(dag, log))) as f:
        stats = f.fetch_dag(root, store)
    assert stats.dropped == ["http://liar"]
    for cid in store.cids():
        store.get(cid)  # verifies: nothing unverified was stored
    assert read_all(store, root) == DATA
    # resumed: the good gateway was only asked for what was missing, not the root again
    assert not any(str(root) in line for line in log)


def test_unexpected_block_and_garbage_gateways_dropped() -> None:
    dag, root = make_dag()
    stranger = Block.create(b"not part of the dag", codec=0x55)

    def extra(req: httpx.Request) -> httpx.Response:
        chunks = car_for(dag, CID.decode(req.url.path.split("/")[2]))
        chunks.insert(2, encode_section(stranger.cid, stranger.data))
        return httpx.Response(200, content=b"".join(chunks))

    def garbage(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"\xff" * 100)

    store = MemoryBlockstore()
    with GatewayFetcher(["http://garbage", "http://extra", "http://good"],
                        transport=routed(garbage=garbage, extra=extra, good=honest(dag))) as f:
        stats = f.fetch_dag(root, store)
    assert stats.dropped == ["http://garbage", "http://extra"]
    assert not store.has(stranger.cid)
    assert read_all(store, root) == DATA


def test_truncated_stream_is_resumed() -> None:
    dag, root = make_dag()
    calls = {"n": 0}
    asked: list[CID] = []

    def flaky(req: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        asked.append(CID.decode(req.url.path.split("/")[2]))
        chunks = car_for(dag, asked[-1])
        if calls["n"] == 1:
            body = b"".join(chunks)
            return httpx.Response(200, content=body[: len(body) // 2])  # cut mid-section
        return httpx.Response(200, content=b"".join(chunks))

    store = MemoryBlockstore()
    with GatewayFetcher(["http://flaky"], transport=routed(flaky=flaky)) as f:
        stats = f.fetch_dag(root, store)
    assert read_all(store, root) == DATA
    assert stats.requests >= 2 and stats.dropped == []
    # the resumption asked only for subtrees that were still missing: never the root again, and
    # no block was received twice
    assert asked[0] == root and root not in asked[1:]
    assert stats.blocks == len(dag.store)


def test_blocks_are_stored_while_the_stream_is_still_running() -> None:
    """Bounded memory: verified blocks go to the store in batches of about
    `client_store_batch_bytes` as they arrive, not after the whole CAR."""
    import dataclasses

    from jiaozi_node.config import HTTP_LIMITS

    dag, root = make_dag()
    events: list[str] = []

    def streaming(req: httpx.Request) -> httpx.Response:
        chunks = car_for(dag, CID.decode(req.url.path.split("/")[2]))

        def body():  # type: ignore[no-untyped-def]
            for i, c in enumerate(chunks):
                events.append(f"sent {i}")
                yield c
        return httpx.Response(200, content=body())

    class Recording(MemoryBlockstore):
        def put_many(self, blocks):  # type: ignore[no-untyped-def]
            blocks = list(blocks)
            events.append(f"stored {sum(len(b.data) for b in blocks)}")
            super().put_many(blocks)

    limits = dataclasses.replace(HTTP_LIMITS, client_store_batch_bytes=100_000)
    store = Recording()
    with GatewayFetcher(["http://s"], transport=routed(s=streaming), limits=limits) as f:
        f.fetch_dag(root, store)
    assert read_all(store, root) == DATA
    stored = [int(e.split()[1]) for e in events if e.startswith("stored")]
    assert len(stored) >= 4 and max(stored) < 100_000 + 20_000 + 1000  # batch + one block
    last_sent = max(i for i, e in enumerate(events) if e.startswith("sent"))
    first_stored = min(i for i, e in enumerate(events) if e.startswith("stored"))
    assert first_stored < last_sent


def test_nobody_has_it() -> None:
    dag, root = make_dag()
    empty = DagBuilder()
    with GatewayFetcher(["http://a"], transport=routed(a=honest(empty))) as f, \
            pytest.raises(NotFound):
        f.fetch_dag(root, MemoryBlockstore())


async def test_block_source_drops_liar() -> None:
    dag, root = make_dag()

    async def liar(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"wrong bytes")

    async def good(req: httpx.Request) -> httpx.Response:
        return honest(dag)(req)

    async def handler(req: httpx.Request) -> httpx.Response:
        return await {"liar": liar, "good": good}[req.url.host](req)

    src = GatewayBlockSource(["http://liar", "http://good"], transport=httpx.MockTransport(handler))
    try:
        assert (await src.fetch(root)).data == dag.store.get(root)
        assert src.dropped == {"http://liar"}
        with pytest.raises(NotFound):
            await src.fetch(CID.of(b"nobody"))
    finally:
        await src.aclose()


def test_fetcher_bounds_are_passed_in() -> None:
    from jiaozi_node.config import CarLimits

    dag, root = make_dag()
    with GatewayFetcher(["http://good"], transport=routed(good=honest(dag)), max_block_bytes=1000) as f, \
            pytest.raises(NotFound, match="20000 bytes, over the 1000 limit"):  # a leaf is 20 000 bytes
        f.fetch_dag(root, MemoryBlockstore())
    with GatewayFetcher(["http://good"], transport=routed(good=honest(dag)),
                        car_limits=CarLimits(max_section_bytes=100)) as f, \
            pytest.raises(NotFound, match="over the 100 limit"):
        f.fetch_dag(root, MemoryBlockstore())


def test_prefetch_path_uses_the_nodes_limits(monkeypatch) -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    from jiaozi_node.config import CarLimits, Defaults, HttpLimits, IpldLimits
    from jiaozi_node.gateway import client

    defaults = replace(Defaults(), http=HttpLimits(client_timeout_s=3), car=CarLimits(max_roots=2),
                       ipld=IpldLimits(max_block_bytes=4321))
    seen = {}

    class Fake:
        def __init__(self, gateways, **kw):
            seen.update(kw)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def fetch_path(self, root, segments, store):
            return root, "stats"

    monkeypatch.setattr(client, "GatewayFetcher", Fake)
    node = SimpleNamespace(defaults=defaults, blocks=MemoryBlockstore())
    assert client.prefetch_path(node, str(CID.of(b"x")), ["http://g"]) == "stats"
    assert seen == {"limits": defaults.http, "car_limits": defaults.car, "max_block_bytes": 4321}
