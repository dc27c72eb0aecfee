"""The HTTP gateway: trustless (raw blocks, CAR) and deserialized UnixFS responses, as an ASGI app.

    app = GatewayApp(node.blocks, fetch=retrieval_fetch)   # fetch: optional async CID -> bytes
    await serve_app(app, "/ip4/127.0.0.1/tcp/8080")         # gateway/asgi.py

Blocks come from a SYNC getter (the local store, which re-hashes on read). When `fetch` is given
(config `Gateway.FetchFromPeers`), a block missing locally is asked from the retrieval path
(`node/retrieval.py`), which verifies and stores it before returning — the ONE hash check. All
exporter work runs in worker threads (`trio.to_thread`) so a slow disk or a fetch from peers never
stalls other requests; the look-up phase is bounded by `HttpLimits.gateway_timeout_s` (504).

Errors before the status line is sent map to codes via `http_common.status_for`; an error while
streaming (a child block that cannot be found) aborts the connection so the client sees an
incomplete body, as the trustless-gateway spec prescribes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import trio

from ..car.writer import encode_header, encode_section
from ..config import HTTP_LIMITS, HttpLimits
from ..errors import InvalidInput, NotFound, Timeout
from ..ipld.cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW
from ..routing.http.paths import is_routing_path
from ..unixfs import exporter
from ..unixfs.exporter_data import load_block
from . import http_common as hc
from .asgi import ClientGone, Receive, Request, Response, Scope, Send, cancel_on_disconnect
from .content import Resolved, car_blocks, resolve_path

log = logging.getLogger(__name__)

Fetch = Callable[[CID], Awaitable[bytes]]
RoutingHandler = Callable[[Request, Response, Receive], Awaitable[None]]



class NeedBlock(BaseException):
    """Raised out of a deferring look-up (see `_Getter.get`) for a block to fetch first.
    A BaseException, so no `except Exception` on the way turns it into another error."""

    def __init__(self, cid: CID) -> None:
        super().__init__(str(cid))
        self.cid = cid


_DEFER = threading.local()  # .fetched: dict[CID, bytes] while a deferring look-up runs here


class _Getter:
    """SYNC block getter for worker threads: local store first, then the async fetch via
    `trio.from_thread` (which verifies and stores).

    Inside `deferring(...)` a missing block is not waited for in the thread: NeedBlock is raised
    and the async caller fetches it without holding a worker thread, then runs the (pure,
    repeatable) look-up again with the block at hand. A thread blocked on a fetch that never
    ends is a thread taken from every other request: trio's 40 worker threads went to 40
    requests for CIDs nobody has, and the gateway stopped answering."""

    def __init__(self, blocks: Any, fetch: Fetch | None) -> None:
        self._blocks = blocks
        self._fetch = fetch

    def has_local(self, cid: CID) -> bool:
        return bool(self._blocks.has(cid))

    def get(self, cid: CID) -> bytes:
        try:
            return bytes(self._blocks.get(cid))
        except NotFound:
            if self._fetch is None:
                raise
        fetched = getattr(_DEFER, "fetched", None)
        if fetched is not None:
            if cid in fetched:
                return fetched[cid]
            raise NeedBlock(cid)
        return trio.from_thread.run(self._fetch, cid)


def deferring(fetched: dict[CID, bytes], fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn(*args)` in this worker thread with missing blocks raising NeedBlock."""
    _DEFER.fetched = fetched
    try:
        return fn(*args)
    finally:
        _DEFER.fetched = None


def _batched(chunks: Iterator[bytes], size: int) -> Callable[[], bytes]:
    """A callable returning the next ~`size` bytes from `chunks` (b"" at the end), for threads."""

    def pull() -> bytes:
        parts: list[bytes] = []
        total = 0
        for chunk in chunks:
            parts.append(chunk)
            total += len(chunk)
            if total >= size:
                break
        return b"".join(parts)

    return pull


class GatewayApp:
    """ASGI gateway app. `blocks` is a SYNC Blockstore; `fetch` an optional async fetcher."""

    def __init__(self, blocks: Any, *, fetch: Fetch | None = None,
                 limits: HttpLimits = HTTP_LIMITS, ipns: Callable[[], Any] | None = None,
                 routing: RoutingHandler | None = None,
                 prefetch: Callable[[CID], AbstractAsyncContextManager[None]] | None = None) -> None:
        self.getter = _Getter(blocks, fetch)
        # `prefetch(cid)`: while a whole DAG is streamed, fetch it ahead (many blocks in flight;
        # api/common.prefetching over the node's retrieval path) instead of block by block.
        self._prefetch = prefetch
        self.limits = limits
        self._ipns = ipns or (lambda: None)  # the node's IpnsService (ipns/service.py), if any
        # /routing/v1 (routing/http/server.py); None when Gateway.ExposeRoutingAPI is false.
        self.routing = routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        req = Request(scope, receive)
        resp = Response(send, head_only=req.method == "HEAD")
        if is_routing_path(req.path):
            if self.routing is None:
                await resp.text(404, "the routing API is off on this gateway "
                                     "(Gateway.ExposeRoutingAPI false)")
                return
            await self.routing(req, resp, receive)
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(cancel_on_disconnect, receive, nursery.cancel_scope)
            await self._guarded(req, resp)
            nursery.cancel_scope.cancel()

    async def _guarded(self, req: Request, resp: Response) -> None:
        try:
            await self._dispatch(req, resp)
        except ClientGone:
            log.info("gateway: client went away during %s", req.path)
        except Exception as exc:
            if resp.started:
                log.warning("gateway: aborting %s mid-stream: %s", req.path, exc)
                raise  # hypercorn drops the connection: the client sees a truncated body
            status = hc.status_for(exc)
            if status == 500:
                log.exception("gateway: internal error on %s", req.path)
            await resp.text(status, str(exc) if status != 500 else "internal server error")

    async def _dispatch(self, req: Request, resp: Response) -> None:
        if req.method == "OPTIONS":
            await resp.full(200, [*_CORS, ("Allow", "GET, HEAD, OPTIONS")], b"")
            return
        if req.method not in ("GET", "HEAD"):
            await resp.text(405, "method not allowed", [("Allow", "GET, HEAD, OPTIONS")])
            return
        if req.path in ("/", "/ipfs", "/ipfs/"):
            await resp.text(404, "jzfs gateway: ask for /ipfs/{cid}[/path]")
            return
        if req.path.startswith("/ipns/"):
            cpath = await self._ipns_path(req, resp)
            if cpath is None:
                return
        else:
            cpath = hc.parse_content_path(req.path, any_codec=True)
        fmt = hc.negotiate(req.query, req.headers.get("accept"))
        hc.check_servable(cpath.cid, any_codec=fmt.kind == "raw" and not cpath.segments)
        if "only-if-cached" in req.headers.get("cache-control", "") and not self.getter.has_local(cpath.cid):
            # path-gateway spec: answer from what we hold, without fetching; 412 when we do not
            await resp.text(412, f"{cpath.cid} is not in this gateway's store")
            return
        if fmt.kind == "raw":
            await self._raw(req, resp, cpath, fmt)
        elif fmt.kind == "car":
            await self._car(req, resp, cpath, fmt)
        else:
            await self._deserialized(req, resp, cpath, fmt)

    # ---------------------------------------------------------------- helpers

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)

    async def _lookup(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a look-up in a thread, bounded by the gateway timeout (504 when it expires). A
        block to fetch is fetched here, outside the thread, and the look-up runs again."""
        fetched: dict[CID, bytes] = {}
        with trio.move_on_after(self.limits.gateway_timeout_s) as scope:
            while True:
                try:
                    return await self._in_thread(deferring, fetched, fn, *args)
                except NeedBlock as need:
                    assert self.getter._fetch is not None  # NeedBlock only when there is a fetch
                    fetched[need.cid] = await self.getter._fetch(need.cid)
        assert scope.cancelled_caught
        raise Timeout(f"content not found within {self.limits.gateway_timeout_s:g} s")

    async def _ipns_path(self, req: Request, resp: Response) -> hc.ContentPath | None:
        """`/ipns/{name}[/path]`: resolve the name (every record validated by the IPNS
        resolver), answer `?format=ipns-record` (IPIP-351) here, else hand back the `/ipfs/`
        path it points at for the usual trustless/deserialized answer."""
        from urllib.parse import quote, unquote

        from ..ipns.name import IpnsName

        svc = self._ipns()
        if svc is None:
            raise hc.HttpError(501, "IPNS is not enabled on this gateway")
        head, _, rest = req.path[len("/ipns/"):].partition("/")
        head = unquote(head)
        if not head:
            raise hc.HttpError(400, "missing name after /ipns/")
        wants_record = req.query.get("format") == "ipns-record" or \
            "application/vnd.ipfs.ipns-record" in req.headers.get("accept", "")
        if wants_record:
            try:
                name = IpnsName.parse(head)
            except InvalidInput as exc:
                raise hc.HttpError(400, f"not an IPNS name: {exc}") from None
            with trio.move_on_after(self.limits.gateway_timeout_s) as scope:
                rec = await svc.resolver.resolve_record(name)
            if scope.cancelled_caught:
                raise Timeout(f"no record for {head} within {self.limits.gateway_timeout_s:g} s")
            ttl = max(0, int(min(rec.ttl_ns / 1e9, rec.expires_in(time.time()))))
            await resp.full(200, [("Content-Type", "application/vnd.ipfs.ipns-record"),
                                  ("Content-Disposition", f'attachment; filename="{head}.ipns-record"'),
                                  ("Cache-Control", f"public, max-age={ttl}"),
                                  ("X-Ipfs-Path", req.path), ("Vary", "Accept"), *_CORS], rec.raw)
            return None
        with trio.move_on_after(self.limits.gateway_timeout_s) as scope:
            target = await svc.resolve("/ipns/" + head)
        if scope.cancelled_caught:
            raise Timeout(f"{head} did not resolve within {self.limits.gateway_timeout_s:g} s")
        ttl = svc.resolver.limits.record_ttl_s
        req.scope["jzfs.cache_control"] = f"public, max-age={int(ttl)}"
        return hc.parse_content_path(quote(target, safe="/") + ("/" + rest if rest or
                                                                 req.path.endswith("/") else ""))

    def _common(self, req: Request, resolved: Resolved | None, tag: str) -> list[tuple[str, str]]:
        cache = req.scope.get("jzfs.cache_control", hc.IMMUTABLE_CACHE)
        headers = [("Etag", tag), ("Cache-Control", cache),
                   ("X-Ipfs-Path", req.path), ("Vary", "Accept"), *_CORS]
        if resolved is not None:
            headers.append(("X-Ipfs-Roots", ",".join(str(c) for c in resolved.roots)))
        return headers

    async def _not_modified(self, req: Request, resp: Response, headers: list[tuple[str, str]],
                            tag: str) -> bool:
        if hc.etag_matches(req.headers.get("if-none-match"), tag):
            await resp.start(304, headers)
            await resp.end()
            return True
        return False

    async def _stream(self, resp: Response, chunks: Iterator[bytes]) -> None:
        pull = _batched(chunks, self.limits.send_chunk_bytes)
        while True:
            data = await self._in_thread(pull)
            if not data:
                break
            await resp.chunk(data)
            if resp.head_only:
                break
        await resp.end()

    # ---------------------------------------------------------------- trustless

    async def _raw(self, req: Request, resp: Response, cpath: hc.ContentPath,
                   fmt: hc.ResponseFormat) -> None:
        resolved = await self._lookup(resolve_path, self.getter, cpath.cid, cpath.segments)
        cid = resolved.cid
        tag = hc.etag(cid, fmt)
        headers = [*self._common(req, resolved, tag), ("Content-Type", hc.RAW_MEDIA),
                   ("Content-Disposition", f'attachment; filename="{cid}.bin"'),
                   ("X-Content-Type-Options", "nosniff")]
        if await self._not_modified(req, resp, headers, tag):
            return
        data = await self._lookup(load_block, self.getter, cid)
        await resp.full(200, headers, data)

    async def _car(self, req: Request, resp: Response, cpath: hc.ContentPath,
                   fmt: hc.ResponseFormat) -> None:
        resolved = await self._lookup(resolve_path, self.getter, cpath.cid, cpath.segments)
        tag = hc.etag(resolved.cid, fmt)
        headers = [*self._common(req, resolved, tag), ("Content-Type", hc.CAR_CONTENT_TYPE),
                   ("Content-Disposition", f'attachment; filename="{resolved.cid}.car"'),
                   ("X-Content-Type-Options", "nosniff"), ("Accept-Ranges", "none")]
        if await self._not_modified(req, resp, headers, tag):
            return
        # The root block must be there before we commit to 200 (spec: 404/504 otherwise).
        await self._lookup(load_block, self.getter, resolved.cid)
        await resp.start(200, headers)
        if resp.head_only:
            await resp.end()
            return
        await resp.chunk(encode_header([cpath.cid]))

        def sections() -> Iterator[bytes]:
            for cid, data in car_blocks(self.getter, resolved, fmt.dag_scope, fmt.entity_bytes):
                yield encode_section(cid, data)

        whole = fmt.dag_scope == "all" and not fmt.entity_bytes
        async with self._ahead(resolved.cid if whole else None):
            await self._stream(resp, sections())

    # ---------------------------------------------------------------- deserialized

    async def _deserialized(self, req: Request, resp: Response, cpath: hc.ContentPath,
                            fmt: hc.ResponseFormat) -> None:
        resolved = await self._lookup(resolve_path, self.getter, cpath.cid, cpath.segments)
        cid = resolved.cid
        if cid.codec in (DAG_CBOR, DAG_JSON) or cid.codec not in (DAG_PB, RAW):
            await self._ipld_block(req, resp, resolved, fmt)
            return
        st = await self._lookup(exporter.stat, self.getter, cid)
        if st.type == "directory":
            await self._directory(req, resp, cpath, resolved, fmt)
            return
        if st.type == "symlink":
            tag = hc.etag(cid, fmt)
            headers = [*self._common(req, resolved, tag), ("Content-Type", "inode/symlink")]
            await resp.full(200, headers, (st.target or "").encode())
            return
        await self._file(req, resp, resolved, fmt, cid, st.size,
                         cpath.segments[-1] if cpath.segments else None)

    async def _file(self, req: Request, resp: Response, resolved: Resolved, fmt: hc.ResponseFormat,
                    cid: CID, size: int, name: str | None) -> None:
        tag = hc.etag(cid, fmt)
        headers = self._common(req, resolved, tag)
        if await self._not_modified(req, resp, headers, tag):
            return
        head = b"".join(await self._lookup(lambda: list(exporter.read_file(self.getter, cid, 0, 512))))
        headers += [("Content-Type", hc.sniff_content_type(name, head)), ("Accept-Ranges", "bytes")]
        rng = hc.parse_range(req.headers.get("range"), size)
        if rng is None:
            status, start, length = 200, 0, size
        else:
            start, end = rng
            status, length = 206, end - start + 1
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        headers.append(("Content-Length", str(length)))
        await resp.start(status, headers)
        if resp.head_only or length == 0:
            await resp.end()
            return
        async with self._ahead(cid if length == size else None):
            await self._stream(resp, exporter.read_file(self.getter, cid, start, length))

    def _ahead(self, root: CID | None) -> AbstractAsyncContextManager[None]:
        """Fetch `root`'s whole DAG ahead of the stream (None, or no prefetch: nothing)."""
        if root is None or self._prefetch is None:
            return nullcontext()
        return self._prefetch(root)

    async def _directory(self, req: Request, resp: Response, cpath: hc.ContentPath,
                         resolved: Resolved, fmt: hc.ResponseFormat) -> None:
        if not req.path.endswith("/"):
            qs = req.scope.get("query_string", b"").decode("latin-1")
            location = req.path + "/" + (f"?{qs}" if qs else "")
            await resp.full(301, [("Location", location), *self._common(req, resolved, hc.etag(
                resolved.cid, fmt))], b"")
            return
        try:
            index = await self._lookup(resolve_path, self.getter, resolved.cid, ("index.html",))
        except NotFound:
            index = None
        if index is not None:
            await self._file(req, resp, resolved, fmt, index.cid, (await self._lookup(
                exporter.file_size, self.getter, index.cid)), "index.html")
            return
        tag = f'W/"DirIndex-jzfs1_CID-{resolved.cid}"'
        headers = [*self._common(req, resolved, tag), ("Content-Type", "text/html; charset=utf-8")]
        if await self._not_modified(req, resp, headers, tag):
            return

        def listing() -> bytes:
            entries = [hc.ListingEntry(e.name, e.cid, e.size if e.type == "file" else None,
                                       e.type == "directory")
                       for e in exporter.list_dir(self.getter, resolved.cid)]
            return hc.render_directory(cpath, resolved.cid, entries)

        await resp.full(200, headers, await self._lookup(listing))

    async def _ipld_block(self, req: Request, resp: Response, resolved: Resolved,
                          fmt: hc.ResponseFormat) -> None:
        cid = resolved.cid
        tag = hc.etag(cid, fmt)
        ctype = {DAG_CBOR: "application/vnd.ipld.dag-cbor",
                 DAG_JSON: "application/vnd.ipld.dag-json"}.get(cid.codec, "application/octet-stream")
        headers = [*self._common(req, resolved, tag), ("Content-Type", ctype)]
        if await self._not_modified(req, resp, headers, tag):
            return
        await resp.full(200, headers, await self._lookup(load_block, self.getter, cid))


_CORS = [("Access-Control-Allow-Origin", "*"),
         ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
         ("Access-Control-Allow-Headers", "Content-Type, Range, User-Agent, X-Requested-With"),
         ("Access-Control-Expose-Headers",
          "Content-Range, Content-Length, X-Ipfs-Path, X-Ipfs-Roots, X-Stream-Output")]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
