"""Trustless gateway client: fetch blocks and whole DAGs from HTTP gateways, verifying everything.

Two ways in:

- `GatewayBlockSource` (async, a `BlockSource` for `node/retrieval.py`): one raw block per request
  (`?format=raw`), raced with bitswap by the retrieval path. It verifies each answer with
  `ipld.block.verify_block` (to know which gateway lies, drop it and try the next one) and hands
  the retrieval path the resulting `VerifiedBlock`, which is not hashed again.
- `GatewayFetcher.fetch_dag(root, store)` (sync, used by `jzfs get/cat --gateway`): one CAR
  request (`?format=car&dag-scope=all`, `dups=n`) streamed through the CAR decoder, which verifies
  every block; only blocks the DAG walk expects (the root, then links of blocks already received)
  are accepted, and they are stored in batches as they come (bounded memory). A gateway that
  sends a wrong, unexpected or malformed block is dropped; a stream that breaks off is resumed from
  the next gateway (or the same one, if it merely failed) asking only for the subtrees still
  missing locally.

Nothing unverified is ever stored or returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from ..car.reader import CarDecoder, CarHeader
from ..config import CAR_LIMITS, HTTP_LIMITS, IPLD_LIMITS, CarLimits, HttpLimits
from ..errors import (
    CodecError,
    HashMismatch,
    InvalidInput,
    JzfsError,
    LimitExceeded,
    NotFound,
    RemoteProtocolError,
)
from ..ipld import codecs
from ..ipld.block import Block, VerifiedBlock, verify_block
from ..ipld.cid import CID
from .http_common import CAR_MEDIA, RAW_MEDIA

log = logging.getLogger(__name__)



def normalize_gateway(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"gateway URL must start with http:// or https://: {url!r}")
    return url


class StreamCut(JzfsError):
    """A CAR stream that ended early (connection dropped): resumable, not dishonest."""


def _is_lie(exc: BaseException) -> bool:
    """Errors that prove the gateway is dishonest or broken (drop it), as opposed to network
    trouble (retry)."""
    return isinstance(exc, (HashMismatch, CodecError, LimitExceeded, RemoteProtocolError))


async def _read_bounded_async(resp: httpx.Response, limit: int) -> bytes:
    buf = bytearray()
    async for chunk in resp.aiter_bytes():
        buf += chunk
        if len(buf) > limit:
            raise LimitExceeded(f"gateway sent more than {limit} bytes for one block")
    return bytes(buf)


def _slices(chunks: Iterable[bytes], size: int) -> Iterable[bytes]:
    for chunk in chunks:
        for i in range(0, len(chunk), size):
            yield chunk[i:i + size]


class GatewayBlockSource:
    """BlockSource over trustless gateways (raw blocks). Owns its httpx client: `aclose()` it."""

    name = "gateway"

    def __init__(self, gateways: Sequence[str], *, limits: HttpLimits = HTTP_LIMITS,
                 max_block_bytes: int = IPLD_LIMITS.max_block_bytes,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.gateways = [normalize_gateway(g) for g in gateways]
        self.dropped: set[str] = set()
        self.max_block_bytes = max_block_bytes
        self._http = httpx.AsyncClient(timeout=limits.client_timeout_s, transport=transport,
                                       follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch(self, cid: CID) -> VerifiedBlock:
        """`cid`'s block from the first gateway that serves it correctly; a gateway that sends
        wrong or oversized bytes is dropped for the rest of this source's life."""
        errors = []
        for gw in self.gateways:
            if gw in self.dropped:
                continue
            try:
                async with self._http.stream(
                        "GET", f"{gw}/ipfs/{cid}", params={"format": "raw"},
                        headers={"Accept": RAW_MEDIA}) as resp:
                    if resp.status_code != 200:
                        errors.append(f"{gw}: HTTP {resp.status_code}")
                        continue
                    data = await _read_bounded_async(resp, self.max_block_bytes)
                return verify_block(cid, data, max_block_bytes=self.max_block_bytes)
            except (HashMismatch, LimitExceeded) as exc:
                log.warning("gateway %s lied about %s (%s): dropped", gw, cid, exc)
                self.dropped.add(gw)
                errors.append(f"{gw}: {exc}")
            except httpx.HTTPError as exc:
                errors.append(f"{gw}: {exc.__class__.__name__}: {exc}")
        raise NotFound(f"block {cid} not available from any gateway ({'; '.join(errors) or 'none left'})")


@dataclass
class FetchStats:
    blocks: int = 0  # blocks received and stored
    bytes: int = 0
    requests: int = 0
    dropped: list[str] = field(default_factory=list)


class _Walk:
    """What the DAG walk still expects (pure): CIDs linked from received blocks, not yet seen."""

    def __init__(self) -> None:
        self.expected: set[bytes] = set()

    def expect(self, cid: CID) -> None:
        if cid.multihash[0] != 0x00:  # identity CIDs carry their data
            self.expected.add(cid.multihash)

    def accept(self, block: Block) -> list[CID]:
        """Check `block` was expected; returns its links. Raises RemoteProtocolError if not."""
        key = block.cid.multihash
        if key not in self.expected:
            raise RemoteProtocolError(f"gateway sent block {block.cid} that the DAG does not need")
        self.expected.discard(key)
        return codecs.links(block.cid, block.data)


class GatewayFetcher:
    """Sync DAG fetcher (see module docstring). `store` is a SYNC Blockstore."""

    def __init__(self, gateways: Sequence[str], *, limits: HttpLimits = HTTP_LIMITS,
                 car_limits: CarLimits = CAR_LIMITS, max_block_bytes: int = IPLD_LIMITS.max_block_bytes,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not gateways:
            raise InvalidInput("no gateway given (use --gateway URL or config Gateway.Fetch)")
        self.gateways = [normalize_gateway(g) for g in gateways]
        self.limits = limits
        self.car_limits = car_limits  # the CAR answers' bounds (CarDecoder)
        self.max_block_bytes = max_block_bytes
        self._http = httpx.Client(timeout=limits.client_timeout_s, transport=transport,
                                  follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def missing(self, store: object, roots: Iterable[CID]) -> list[CID]:
        """Roots of the subtrees not yet local (walking what is local)."""
        out: list[CID] = []
        seen: set[bytes] = set()
        stack = list(roots)
        while stack:
            cid = stack.pop()
            if cid.multihash in seen or cid.multihash[0] == 0x00:
                continue
            seen.add(cid.multihash)
            try:
                data = store.get(cid)  # type: ignore[attr-defined]
            except NotFound:
                out.append(cid)
                continue
            stack.extend(codecs.links(cid, data))
        return out

    def fetch_path(self, root: CID, segments: Sequence[str], store: object, *,
                   on_block: Callable[[Block], None] | None = None) -> tuple[CID, FetchStats]:
        """Make `root/segments` and the whole DAG under it local: one CAR request for the path
        (the gateway sends the blocks proving the path, then the subtree), then `fetch_dag` on
        the terminal CID to complete or resume. Returns (terminal CID, stats)."""
        from ..unixfs.resolve import resolve

        stats = FetchStats()
        dropped: set[str] = set()
        if segments:
            errors = []
            for gw in self.gateways:
                try:
                    self._fetch_car(gw, root, store, stats, on_block, segments=segments)
                    break
                except JzfsError as exc:
                    errors.append(f"{gw}: {exc}")
                    if _is_lie(exc):
                        dropped.add(gw)
                        stats.dropped.append(gw)
                except httpx.HTTPError as exc:
                    errors.append(f"{gw}: {exc.__class__.__name__}: {exc}")
            try:
                terminal = resolve(store, root, list(segments))  # type: ignore[arg-type]
            except NotFound:
                raise NotFound(f"no gateway could provide the path {root}/{'/'.join(segments)}: "
                               f"{'; '.join(errors[-5:])}") from None
        else:
            terminal = root
        self.fetch_dag(terminal, store, on_block=on_block, _stats=stats, _dropped=dropped)
        return terminal, stats

    def fetch_dag(self, root: CID, store: object, *,
                  on_block: Callable[[Block], None] | None = None,
                  _stats: FetchStats | None = None, _dropped: set[str] | None = None) -> FetchStats:
        """Make the whole DAG under `root` local. Raises NotFound when no gateway could complete
        it (what was verified is kept: a later call resumes from there)."""
        stats = _stats or FetchStats()
        dropped: set[str] = _dropped if _dropped is not None else set()
        attempts: dict[str, int] = {}
        errors: list[str] = []
        while True:
            todo = self.missing(store, [root])
            if not todo:
                return stats
            live = [g for g in self.gateways if g not in dropped
                    and attempts.get(g, 0) < self.limits.client_max_attempts]
            if not live:
                raise NotFound(f"could not fetch {root} from any gateway: {'; '.join(errors[-5:])}"
                               f" ({len(todo)} subtrees still missing)")
            gw = live[0]
            attempts[gw] = attempts.get(gw, 0) + 1
            try:
                for sub in todo:
                    self._fetch_car(gw, sub, store, stats, on_block)
            except JzfsError as exc:
                errors.append(f"{gw}: {exc}")
                if isinstance(exc, NotFound):
                    attempts[gw] = self.limits.client_max_attempts  # it does not have it: next one
                elif _is_lie(exc):
                    log.warning("gateway %s sent bad data (%s): dropped", gw, exc)
                    dropped.add(gw)
                    stats.dropped.append(gw)
            except httpx.HTTPError as exc:
                errors.append(f"{gw}: {exc.__class__.__name__}: {exc}")
                log.info("gateway %s: %s; resuming", gw, exc)

    def _fetch_car(self, gw: str, cid: CID, store: object, stats: FetchStats,
                   on_block: Callable[[Block], None] | None, *, segments: Sequence[str] = ()) -> None:
        walk = _Walk()
        walk.expect(cid)
        # verifies every block with ipld.block.verify
        dec = CarDecoder(verify=True, limits=self.car_limits, max_block_bytes=self.max_block_bytes)
        batch: list[Block] = []
        batch_bytes = 0

        def flush() -> None:
            nonlocal batch, batch_bytes
            if batch:
                store.put_many(batch)  # type: ignore[attr-defined]
                for b in batch:
                    stats.blocks += 1
                    stats.bytes += len(b.data)
                    if on_block is not None:
                        on_block(b)
                batch, batch_bytes = [], 0

        stats.requests += 1
        tail = "".join("/" + quote(seg, safe="") for seg in segments)
        with self._http.stream("GET", f"{gw}/ipfs/{cid}{tail}",
                               params={"format": "car", "dag-scope": "all"},
                               headers={"Accept": f"{CAR_MEDIA}; version=1; order=dfs; dups=n"}) as resp:
            if resp.status_code == 404:
                raise NotFound(f"HTTP 404 for {cid}")
            if resp.status_code != 200:
                raise NotFound(f"HTTP {resp.status_code} for {cid}")
            try:
                for piece in _slices(resp.iter_bytes(), self.limits.client_feed_bytes):
                    for ev in dec.feed(piece):
                        if isinstance(ev, CarHeader):
                            continue
                        for link in walk.accept(ev):
                            walk.expect(link)
                        batch.append(ev)
                        batch_bytes += len(ev.data)
                        if batch_bytes >= self.limits.client_store_batch_bytes:
                            flush()
                try:
                    dec.close()
                except CodecError as exc:  # cut off: network trouble, not a lie -> resume
                    raise StreamCut(str(exc)) from None
            finally:
                flush()  # every block in `batch` was verified and expected: keep it
        # A complete-looking stream may still lack blocks (a gateway missing children): the
        # caller's `missing()` walk notices and asks again.


def configured_gateways(node: object, explicit: Sequence[str] | None) -> list[str]:
    """`--gateway URL` values if given, else config `Gateway.Fetch` (empty by default)."""
    if explicit:
        return list(explicit)
    return list(node.settings.gateway.fetch)  # type: ignore[attr-defined]


def prefetch_path(node: object, path: str, gateways: Sequence[str]) -> FetchStats | None:
    """For `jzfs cat/get --gateway`: make `path` (CID[/path]) and its DAG local from trustless
    gateways, verified block by block, stored as they arrive. No-op without gateways."""
    if not gateways:
        return None
    from ..unixfs.resolve import parse_path

    root, segments = parse_path(path)
    defaults = node.defaults  # type: ignore[attr-defined]
    with GatewayFetcher(gateways, limits=defaults.http, car_limits=defaults.car,
                        max_block_bytes=defaults.ipld.max_block_bytes) as fetcher:
        _, stats = fetcher.fetch_path(root, segments, node.blocks)  # type: ignore[attr-defined]
    return stats


IPNS_RECORD_MEDIA = "application/vnd.ipfs.ipns-record"


async def fetch_ipns_record(http: httpx.AsyncClient, gateway: str, name: str, *,
                            max_bytes: int) -> bytes:
    """The raw IPNS record a trustless gateway holds for `name` (IPIP-351:
    `GET /ipns/{name}?format=ipns-record`). UNVERIFIED: the caller validates it
    (`ipns.record.validate_record`) like every record, whoever served it. At most `max_bytes`
    (+1, so that an oversized record is seen as such) are read."""
    gw = normalize_gateway(gateway)
    async with http.stream("GET", f"{gw}/ipns/{quote(name, safe='')}",
                           params={"format": "ipns-record"},
                           headers={"Accept": IPNS_RECORD_MEDIA}) as resp:
        if resp.status_code == 404:
            raise NotFound(f"{gw}: no IPNS record for {name}")
        if resp.status_code != 200:
            raise NotFound(f"{gw}: HTTP {resp.status_code} for the IPNS record of {name}")
        buf = bytearray()
        async for chunk in resp.aiter_bytes():
            buf += chunk
            if len(buf) > max_bytes:
                break  # oversized: the validator refuses it with the size rule
        return bytes(buf)
