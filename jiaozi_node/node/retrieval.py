"""The ONE retrieval path: local store first, then block sources raced, verified in one place.

    r = Retrieval(node.blocks, [bitswap_service], on_stored=bitswap_service.notify_new_blocks)
    data = await r.get(cid)                 # local, else the first source that answers correctly
    n = await r.fetch_dag(root)             # the whole DAG into the store, many blocks in flight
    getter = r.thread_getter()              # sync `get(cid)` for the UnixFS exporter in a thread

Every block that comes from a source is checked (inside the race, so a source returning wrong bytes
cannot win it) before it is stored or returned: raw bytes with `ipld.block.verify`; a
`VerifiedBlock` (made only by `ipld.block`, by hashing: bitswap computes a block's CID from its
bytes, the gateway client verifies per gateway) is taken as it is if it is `cid`'s block. "Checked"
travels in the type, not in a flag a source could set; see `_verified`. Sources only fetch
(`BlockSource.fetch`); they never store. After storing, `on_stored` tells the node (bitswap's
engine serves peers that were waiting for those blocks).

Timeouts: each block must arrive within `timeout_s` (default BitswapLimits.fetch_timeout_s);
past that `Timeout` is raised naming the block, so a fetch no one can serve never hangs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import trio

from ..bitswap.session import new_session, want_order
from ..config import BITSWAP_LIMITS, IPLD_LIMITS, Defaults
from ..errors import HashMismatch, InvalidInput, JzfsError, LimitExceeded, NotFound, Timeout
from ..ipld import codecs
from ..ipld.block import Block, VerifiedBlock, verify
from ..ipld.cid import CID, RAW
from .provider_watch import ProviderWatch, finds_providers

if TYPE_CHECKING:
    from ..net.host import Host

logger = logging.getLogger(__name__)

_EPHEMERAL_LISTEN = "/ip4/127.0.0.1/tcp/0"


@contextmanager
def _single_error() -> Iterator[None]:
    """Re-raise the first JzfsError out of a nursery's ExceptionGroup as itself, so callers (and
    the CLI's one-line error printer) see `Timeout`/`NetworkError`, not a group."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaf = _first_jzfs(group)
        if leaf is None:
            raise
        raise leaf from None


def _first_jzfs(exc: BaseException) -> JzfsError | None:
    if isinstance(exc, JzfsError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            found = _first_jzfs(sub)
            if found is not None:
                return found
    return None


class BlockSource(Protocol):
    """`name`, and `fetch`: `cid`'s block as raw bytes (Retrieval verifies them) or as a
    `VerifiedBlock` (checked by `ipld.block` already; Retrieval only checks it is `cid`'s)."""

    name: str

    async def fetch(self, cid: CID) -> bytes | VerifiedBlock:
        """`cid`'s block. May wait; cancel to stop."""
        ...


class Retrieval:
    def __init__(self, store: Any, sources: Sequence[BlockSource] = (), *,
                 timeout_s: float = BITSWAP_LIMITS.fetch_timeout_s,
                 on_stored: Callable[[list[CID]], None] | None = None,
                 concurrency: int = BITSWAP_LIMITS.session_max_in_flight,
                 batch_bytes: int = BITSWAP_LIMITS.store_batch_bytes,
                 max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> None:
        self.store = store
        self.sources: list[BlockSource] = list(sources)
        self.timeout_s = timeout_s
        self.on_stored = on_stored
        self.concurrency = concurrency
        self.batch_bytes = batch_bytes
        self.max_block_bytes = max_block_bytes
        self.fetched_blocks = 0
        self.fetched_bytes = 0
        # Verified blocks not yet written (flushed with one put_many per `batch_bytes`).
        self._pending: dict[bytes, Block] = {}
        self._pending_bytes = 0
        # Nurseries of running fetch_dag calls: while there is one, writes are batched and run
        # as a background task in it (the fetching workers do not wait for the disk).
        self._flushers: list[trio.Nursery] = []
        self._flush_lock = trio.Lock()
        self._flush_running = False
        self._flush_done = trio.Event()

    @classmethod
    def from_defaults(cls, store: Any, sources: Sequence[BlockSource], defaults: Defaults, *,
                      timeout_s: float | None = None,
                      on_stored: Callable[[list[CID]], None] | None = None) -> Retrieval:
        """A Retrieval with the node's limits (`Node.defaults`): what the node's own callers use."""
        bs = defaults.bitswap
        return cls(store, sources, on_stored=on_stored,
                   timeout_s=bs.fetch_timeout_s if timeout_s is None else timeout_s,
                   concurrency=bs.session_max_in_flight, batch_bytes=bs.store_batch_bytes,
                   max_block_bytes=defaults.ipld.max_block_bytes)

    def add_source(self, source: BlockSource) -> None:
        self.sources.append(source)

    # ------------------------------------------------------------------ one block

    async def get(self, cid: CID, *, timeout_s: float | None = None,
                  _watch: ProviderWatch | None = None) -> bytes:
        """The block's bytes: from the store, else fetched, verified and stored.

        Raises NotFound when it is not local and there is no source, Timeout when no source
        delivered a correct block in time. (`_watch`: `fetch_dag`'s provider searches; the
        block is then raced among the other sources only.)
        """
        if cid.hash_code == 0x00:  # identity: the data is the digest
            return cid.digest
        pending = self._pending.get(cid.multihash)
        if pending is not None:
            return pending.data
        # `has` first: a DAG fetch mostly asks for blocks that are not here, and the store's
        # NotFound formats the CID (base58) into its message for every one of them
        if not self.sources or self.store.has(cid):
            try:
                return self.store.get(cid)
            except NotFound:
                if not self.sources:
                    raise
        timeout = self.timeout_s if timeout_s is None else timeout_s
        sources = self.sources
        if _watch is not None:
            sources = [s for s in sources if not finds_providers(s)] or sources
        with trio.move_on_after(timeout):
            if _watch is None or sources is self.sources:
                data = await self._race(cid, sources)
            else:
                _watch.begin(cid)
                try:
                    data = await self._race(cid, sources)
                finally:
                    _watch.end(cid)
            self.fetched_blocks += 1
            self.fetched_bytes += len(data)
            if cid.multihash not in self._pending:
                self._pending[cid.multihash] = Block(cid, data)
                self._pending_bytes += len(data)
            if not self._flushers:
                await self.flush()
            elif self._pending_bytes >= self.batch_bytes:
                await self._flush_behind()
            return data
        names = ", ".join(s.name for s in self.sources)
        raise Timeout(f"block {cid} not found: no source ({names}) provided it within {timeout:g}s")

    def add_verified(self, blocks: Iterable[VerifiedBlock]) -> None:
        """Blocks that came another way, proven by hashing (`VerifiedBlock`): held and written
        with the fetched ones (the next batch, or `flush`), not in a write of their own."""
        for vb in blocks:
            if vb.cid.multihash not in self._pending:
                self._pending[vb.cid.multihash] = Block(vb.cid, vb.data)
                self._pending_bytes += len(vb.data)

    async def flush(self) -> None:
        """Write the verified blocks held back for batching, then announce them (on_stored).

        The write runs in a worker thread (an LMDB/SQLite transaction with its fsync would
        otherwise stall the network for milliseconds); blocks stay readable from `_pending`
        until they are in the store. One flush at a time.
        """
        async with self._flush_lock:
            if not self._pending:
                return
            blocks = list(self._pending.values())
            await trio.to_thread.run_sync(self.store.put_many, blocks)
            for b in blocks:
                if self._pending.pop(b.cid.multihash, None) is not None:
                    self._pending_bytes -= len(b.data)
            if self.on_stored is not None:
                self.on_stored([b.cid for b in blocks])

    async def _flush_behind(self) -> None:
        """A batch is full: write it in the background. The caller only waits (backpressure)
        when another full batch piled up while the store was still writing, so at most about
        2 x `batch_bytes` of verified blocks are held in memory.

        Without this every worker that got a block while a write ran queued for the flush lock
        and then wrote the few blocks that arrived meanwhile: a convoy of small transactions
        (each with its fsync) that stalled the fetch for ~80 ms per batch.
        """
        if not self._flush_running:
            self._flush_running = True
            self._flushers[-1].start_soon(self._flush_loop)
            return
        while self._flush_running and self._pending_bytes >= 2 * self.batch_bytes:
            await self._flush_done.wait()

    async def _flush_loop(self) -> None:
        try:
            while True:
                await self.flush()
                done, self._flush_done = self._flush_done, trio.Event()
                done.set()
                if self._pending_bytes < self.batch_bytes:
                    return
        finally:
            self._flush_running = False
            self._flush_done.set()
            self._flush_done = trio.Event()

    async def _race(self, cid: CID, sources: list[BlockSource]) -> bytes:
        """First correct answer among `sources`. A source that fails (wrong bytes, refusal)
        drops out of this race; if every source failed, the last failure is raised."""
        if len(sources) == 1:
            return await self._verified(sources[0], cid)
        winner: list[bytes] = []
        failures: list[Exception] = []
        async with trio.open_nursery() as nursery:
            async def run(src: BlockSource) -> None:
                try:
                    data = await self._verified(src, cid)
                except (HashMismatch, LimitExceeded, InvalidInput, NotFound) as exc:
                    logger.info("retrieval: %s failed for %s: %s", src.name, cid, exc)
                    failures.append(exc)
                    if len(failures) == len(sources):
                        nursery.cancel_scope.cancel()
                    return
                if not winner:
                    winner.append(data)
                    nursery.cancel_scope.cancel()
            for src in sources:
                nursery.start_soon(run, src)
        if not winner:
            raise failures[-1]
        return winner[0]

    async def _verified(self, src: BlockSource, cid: CID) -> bytes:
        data = await src.fetch(cid)
        if isinstance(data, VerifiedBlock):
            # Hashed by ipld.block already (bitswap must hash a block to learn which want it
            # answers); hashing again cost ~0.9 ms per MB, ~15% of a fetch's CPU.
            if not data.is_block_of(cid):
                logger.warning("retrieval: %s answered %s with another block; dropped", src.name, cid)
                raise HashMismatch(f"block {cid}: {src.name} sent the block of another CID")
            if len(data.data) > self.max_block_bytes:
                raise LimitExceeded(f"block {cid} is {len(data.data)} bytes, over the "
                                    f"{self.max_block_bytes} limit")
            return data.data
        try:
            verify(cid, data)  # THE hash check for everything from outside
        except HashMismatch:
            logger.warning("retrieval: %s sent bytes that do not match %s; dropped", src.name, cid)
            raise
        return data

    # ------------------------------------------------------------------ whole DAGs

    async def fetch_dag(self, roots: CID | Iterable[CID], *, timeout_s: float | None = None,
                        on_block: Callable[[CID, int], None] | None = None) -> int:
        """Make every block of the DAGs under `roots` local; returns the number of blocks walked.

        Breadth-first with `concurrency` blocks in flight, so a file is fetched ahead of a
        sequential reader in reading order: each want carries its breadth-first place
        (`want_order`), whatever order trio runs the workers in. Blocks already local are
        walked, not fetched.
        """
        roots = [roots] if isinstance(roots, CID) else list(roots)
        # (CID, its place in breadth-first order): the want's priority (bitswap/session.py)
        send, recv = trio.open_memory_channel[tuple[CID, int]](math.inf)
        seen: set[bytes] = set()
        state = {"pending": 0, "walked": 0, "workers": 0}
        limit = max(1, self.concurrency)

        def enqueue(cid: CID, nursery: trio.Nursery) -> None:
            if cid.multihash in seen:
                return
            seen.add(cid.multihash)
            state["pending"] += 1
            send.send_nowait((cid, len(seen) - 1))
            if state["workers"] < min(limit, state["pending"]):  # workers start on demand
                state["workers"] += 1
                nursery.start_soon(worker, nursery)

        async def worker(nursery: trio.Nursery) -> None:
            async for cid, order in recv:
                size = self._local_leaf_size(cid)
                if size is None:
                    with want_order(order):
                        data = await self.get(cid, timeout_s=timeout_s, _watch=watch)
                    size, links = len(data), codecs.links(cid, data)
                    # An idle worker waiting for the next CID must not keep its last block alive:
                    # with up to `concurrency` workers that held a whole 60 MiB file in memory
                    # until the end (and every block landed in fresh pages: ~17k page faults).
                    del data
                else:
                    links = []
                state["walked"] += 1
                if on_block is not None:
                    on_block(cid, size)
                for link in links:
                    enqueue(link, nursery)
                state["pending"] -= 1
                if state["pending"] == 0:
                    send.close()
                    if watch is not None:
                        watch.stop()

        nursery: trio.Nursery | None = None
        watch: ProviderWatch | None = None
        try:
            with _single_error(), new_session():  # one Bitswap session per DAG fetch
                async with trio.open_nursery() as nursery:
                    self._flushers.append(nursery)
                    finders = [s for s in self.sources if finds_providers(s)]
                    if finders and len(finders) < len(self.sources):
                        watch = ProviderWatch(finders, nursery)
                        nursery.start_soon(watch.run)
                    for r in roots:
                        enqueue(r, nursery)
                    if not state["pending"]:
                        send.close()
                        if watch is not None:
                            watch.stop()
        finally:
            if nursery is not None and nursery in self._flushers:
                self._flushers.remove(nursery)
            with trio.CancelScope(shield=True):
                await self.flush()  # also on failure: what was verified is kept
        return state["walked"]

    def _local_leaf_size(self, cid: CID) -> int | None:
        """The size of a raw block that is local already, else None. A raw block has no links,
        so a DAG walk needs only to know it is here: reading (and re-hashing) it would cost
        ~1 ms per MiB for nothing; a pull of a small change to a large dataset walked every
        unchanged leaf that way. Other codecs are read: their links are needed."""
        if cid.codec != RAW or cid.hash_code == 0x00:
            return None
        pending = self._pending.get(cid.multihash)
        if pending is not None:
            return len(pending.data)
        try:
            return int(self.store.size(cid))
        except NotFound:
            return None

    # ------------------------------------------------------------------ sync bridge

    def thread_getter(self) -> ThreadGetter:
        """A sync `get(cid)` usable from a worker thread started with `trio.to_thread.run_sync`."""
        return ThreadGetter(self, trio.lowlevel.current_trio_token())


class ThreadGetter:
    """BlockGetter for the (sync, pure) UnixFS exporter running in a thread."""

    def __init__(self, retrieval: Retrieval, token: trio.lowlevel.TrioToken) -> None:
        self._r = retrieval
        self._token = token

    def get(self, cid: CID) -> bytes:
        # Always through the trio thread: store engines need not be thread-safe.
        return trio.from_thread.run(self._r.get, cid, trio_token=self._token)


# ---------------------------------------------------------------------- `jzfs get/cat --peer`


async def fetch_path_from_peers(store: Any, path: str, peers: Sequence[str], *,
                                timeout_s: float = BITSWAP_LIMITS.fetch_timeout_s,
                                defaults: Defaults | None = None,
                                on_connected: Callable[[], object] | None = None) -> tuple[CID, int]:
    """Connect to `peers` (multiaddrs ending in /p2p/ID) with a throw-away identity, resolve
    `path` (CID[/path]) over Bitswap and make its whole DAG local. Returns (cid, blocks walked).

    The identity is ephemeral so this works next to a running daemon of the same repo. Each block
    must arrive within `timeout_s` or `Timeout` is raised; unreachable peers raise NetworkError.
    `defaults`: the limits of the host, Bitswap and Retrieval (the CLI passes `Node.defaults`).
    """
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(path)
    async with _connected_retrieval(store, peers, timeout_s=timeout_s, defaults=defaults) as r:
        if on_connected is not None:
            on_connected()
        cid = await _resolve(r, root, segments)
        walked = await r.fetch_dag(cid)
    return cid, walked


async def stream_file_from_peers(store: Any, path: str, peers: Sequence[str],
                                 write: Callable[[bytes], object], *, offset: int = 0,
                                 length: int | None = None,
                                 timeout_s: float = BITSWAP_LIMITS.fetch_timeout_s,
                                 defaults: Defaults | None = None) -> CID:
    """`jzfs cat --peer`: write a UnixFS file's bytes in order while its DAG is fetched ahead.

    The (sync, pure) exporter runs in a worker thread over `Retrieval.thread_getter()`; a
    breadth-first `fetch_dag` prefetches with many blocks in flight, so the exporter mostly finds
    its next block already fetched. `write` is called from the worker thread. Returns the file's
    CID. Every block is verified and stored, as with `fetch_path_from_peers`.
    """
    from ..unixfs.exporter import read_file
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(path)
    async with _connected_retrieval(store, peers, timeout_s=timeout_s, defaults=defaults) as r:
        cid = await _resolve(r, root, segments)
        getter = r.thread_getter()
        async with trio.open_nursery() as prefetch:
            prefetch.start_soon(r.fetch_dag, cid)

            def export() -> None:
                for chunk in read_file(getter, cid, offset, length):
                    write(chunk)

            await trio.to_thread.run_sync(export)
            prefetch.cancel_scope.cancel()
    return cid


@asynccontextmanager
async def _connected_retrieval(store: Any, peers: Sequence[str], *, timeout_s: float,
                               defaults: Defaults | None) -> AsyncIterator[Retrieval]:
    """A throw-away libp2p host + bitswap connected to `peers`, and a Retrieval over it.

    The host is the dial-only `net.lite.LiteHost` (no py-libp2p import: ~0.6 s of the command)
    when every address is plain TCP (`/ip4|ip6/…/tcp/…/p2p/ID`), else a py-libp2p `Libp2pHost`
    (DNS, QUIC, WebSockets, relay addresses). The identity is ephemeral so this works next to a
    running daemon of the same repo. On exit the host stops and the blocks still waiting to be
    written are flushed; errors come out as one JzfsError (`_single_error`).
    """
    from ..bitswap.service import BitswapService
    from ..identity import Identity
    from ..net.lite.host import LiteHost, dialable

    if not peers:
        raise InvalidInput("--peer needs at least one multiaddr")
    defaults = defaults or Defaults()
    host: Host
    if all(dialable(a) for a in peers):
        host = LiteHost(Identity.generate(), limits=defaults.net)
    else:
        from ..net.libp2p_host import Libp2pHost

        # Listening (loopback, any port) matters: py-libp2p's identify handler waits up to 0.5 s
        # for the host to have an address, and go-libp2p waits for identify before opening the
        # stream that carries Kubo's first reply. (LiteHost answers identify at once.)
        host = Libp2pHost(Identity.generate(), listen=[_EPHEMERAL_LISTEN], limits=defaults.net)
    bs = BitswapService(host, store, limits=defaults.bitswap, max_cid_bytes=defaults.ipld.max_cid_bytes)
    with _single_error():
        async with trio.open_nursery() as nursery:
            await nursery.start(host.run)
            await nursery.start(bs.run)
            for addr in peers:
                bs.add_peer(await host.connect(addr))
            r = Retrieval.from_defaults(store, [bs], defaults, on_stored=bs.notify_new_blocks,
                                        timeout_s=timeout_s)
            yield r
            nursery.cancel_scope.cancel()
        with trio.CancelScope(shield=True):
            await r.flush()


async def _resolve(r: Retrieval, root: CID, segments: list[str]) -> CID:
    """`root/segments…` resolved through UnixFS directories, fetching the path's blocks."""
    if not segments:
        return root
    from ..unixfs.resolve import resolve

    return await trio.to_thread.run_sync(resolve, r.thread_getter(), root, segments)
