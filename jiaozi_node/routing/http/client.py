"""A `Router` that asks one Delegated Routing V1 HTTP server (`Routing.DelegatedRouters`).

    router = DelegatedRouter("http://127.0.0.1:8080", validators={"ipns": ipns_validator})
    async for rec in router.find_providers(cid, limit=20): ...    # streamed as lines arrive
    await router.aclose()                                          # owns its httpx client

* `find_providers` / `find_peer`: `GET /routing/v1/providers/{cid}` and `/peers/{peer-id}`
  with `Accept: application/x-ndjson, application/json;q=0.8`: an NDJSON answer is parsed line by
  line and each record yielded as it arrives; a JSON answer (servers may ignore the NDJSON
  wish) is read whole, bounded. 404 means "no results" (IPIP-0513: old servers send it).
  `filter-addrs` / `filter-protocols` (IPIP-484) are sent and applied again to what comes back.
* `get_value` / `put_value`: only `/ipns/` keys (`GET/PUT /routing/v1/ipns/{name}`). Records are
  validated with the node's IPNS validator before they are returned or sent; while the node has
  none (`validators` lacks "ipns") both raise `RoutingUnsupported` with that reason, so nothing
  unverified is ever used. A 200 without `Content-Type: application/vnd.ipfs.ipns-record` is
  "no record" (IPIP-0513).
* `provide` raises `RoutingUnsupported`: the spec's `PUT /routing/v1/providers` needs signed
  announcement records, which neither Kubo's nor Helia's servers accept; we do not implement it.

Every answer is untrusted: bad records are dropped (`dropped` counts them), bodies and lines
are bounded, every wait is bounded (`DelegatedRoutingLimits`: per-read timeout and a total
deadline per request, so a router that drips bytes cannot hold a lookup). Transport failures
raise NetworkError, deadlines Timeout, garbage RemoteProtocolError/LimitExceeded.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any

import httpx
import trio

from ...config import AGENT_VERSION, DELEGATED_ROUTING_LIMITS, DelegatedRoutingLimits
from ...errors import (
    InvalidInput,
    JzfsError,
    LimitExceeded,
    NetworkError,
    NotFound,
    RemoteProtocolError,
    Timeout,
)
from ...ipld.cid import CID
from ..base import PeerRecord, RecordValidator, RoutingUnsupported, key_namespace
from . import filters as flt
from . import paths
from .records import (
    IPNS_RECORD_MEDIA,
    JSON_MEDIA,
    NDJSON_MEDIA,
    NdjsonSplitter,
    canonical_peer_id,
    ipns_name_of_key,
    media_type,
    parse_ndjson_line,
    parse_peer_id,
    parse_record,
    records_of_json_answer,
)

log = logging.getLogger(__name__)

RECORDS_ACCEPT = f"{NDJSON_MEDIA}, {JSON_MEDIA};q=0.8"
NO_IPNS_VALIDATOR = ("IPNS records cannot be verified on this node yet (no IPNS validator): "
                     "refusing to use or send unverified /ipns/ records")


class DelegatedRouter:
    """Router over one delegated routing endpoint (see module docstring). Owns its httpx
    client: `aclose()` it (or `async with`)."""

    def __init__(self, endpoint: str, *,
                 validators: Mapping[str, RecordValidator] | None = None,
                 filter_addrs: Sequence[str] = (), filter_protocols: Sequence[str] = (),
                 limits: DelegatedRoutingLimits = DELEGATED_ROUTING_LIMITS,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.endpoint = paths.normalize_endpoint(endpoint)
        self.name = f"delegated:{self.endpoint}"
        self.validators: Mapping[str, RecordValidator] = validators if validators is not None else {}
        self.filters = flt.make_filters(filter_addrs, filter_protocols)
        self.limits = limits
        self.dropped = 0  # records refused (invalid, wrong peer, filtered out by us)
        self._clock = clock
        self._http = httpx.AsyncClient(timeout=limits.client_timeout_s, transport=transport,
                                       follow_redirects=False,
                                       headers={"User-Agent": AGENT_VERSION,
                                                "Accept-Encoding": "identity"})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> DelegatedRouter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"DelegatedRouter({self.endpoint!r})"

    # ------------------------------------------------------------------ content / peer routing

    async def find_providers(self, cid: Any, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        """Providers of `cid`, streamed as the router sends them; at most `limit`."""
        cid = CID.parse(cid)
        url = paths.providers_url(self.endpoint, cid, self.filters)
        async with aclosing(self._records(url, "Providers", limit)) as records:
            async for rec in records:  # the response is closed as soon as we stop
                yield rec

    async def find_peer(self, peer_id: str) -> PeerRecord:
        """The first record the router has for `peer_id` (raises NotFound)."""
        mh = parse_peer_id(peer_id)
        want = canonical_peer_id(peer_id)
        url = paths.peers_url(self.endpoint, mh, self.filters)
        found: PeerRecord | None = None
        gen = self._records(url, "Peers", self.limits.max_records_per_response)
        try:
            async for rec in gen:
                if rec.peer_id == want:
                    found = rec
                    break
                self.dropped += 1
                log.info("%s: dropped a record for %s in an answer about %s", self.name,
                         rec.peer_id, want)
        finally:
            await gen.aclose()
        if found is None:
            raise NotFound(f"peer {want} not found by {self.endpoint}")
        return found

    async def provide(self, cids: Sequence[Any]) -> None:
        raise RoutingUnsupported(f"{self.name}: providing through a delegated router is not "
                                 "supported (PUT /routing/v1/providers is not implemented)")

    # ------------------------------------------------------------------ records (IPNS)

    def _ipns_validator(self, key: bytes) -> RecordValidator:
        try:
            ns = key_namespace(key)
        except InvalidInput as exc:
            raise RoutingUnsupported(f"{self.name}: {exc}") from None
        if ns != "ipns":
            raise RoutingUnsupported(f"{self.name}: delegated routing only carries /ipns/ "
                                     f"records, not /{ns}/")
        ipns_name_of_key(key)  # InvalidInput for a malformed name
        validator = self.validators.get("ipns")
        if validator is None:
            raise RoutingUnsupported(f"{self.name}: {NO_IPNS_VALIDATOR}")
        return validator

    async def get_value(self, key: bytes) -> bytes:
        """The IPNS record under `key`, validated (raises NotFound, InvalidInput)."""
        validator = self._ipns_validator(key)
        url = paths.ipns_url(self.endpoint, ipns_name_of_key(key))
        with self._deadline() as deadline:
            async with self._guard(url):
                async with self._http.stream("GET", url, headers={"Accept": IPNS_RECORD_MEDIA}) as resp:
                    if resp.status_code == 404:
                        raise NotFound(f"no IPNS record for this name at {self.endpoint}")
                    if resp.status_code != 200:
                        raise await self._status_error(resp, url)
                    if media_type(resp.headers.get("content-type")) != IPNS_RECORD_MEDIA:
                        raise NotFound(f"no IPNS record for this name at {self.endpoint}")
                    self._check_encoding(resp)
                    body = await self._read_bounded(resp, self.limits.max_ipns_record_bytes,
                                                    "IPNS record")
        if deadline.cancelled_caught:
            raise self._timeout("GET", url)
        validator.validate(key, body, now=self._clock())
        return body

    async def put_value(self, key: bytes, value: bytes) -> None:
        """Validate the IPNS record, then `PUT` it (raises InvalidInput, RemoteProtocolError)."""
        validator = self._ipns_validator(key)
        if len(value) > self.limits.max_ipns_record_bytes:
            raise LimitExceeded(f"IPNS record of {len(value)} bytes is over the "
                                f"{self.limits.max_ipns_record_bytes} byte limit")
        validator.validate(key, value, now=self._clock())
        url = paths.ipns_url(self.endpoint, ipns_name_of_key(key))
        with self._deadline() as deadline:
            async with self._guard(url):
                async with self._http.stream("PUT", url, content=bytes(value),
                                             headers={"Content-Type": IPNS_RECORD_MEDIA}) as resp:
                    if resp.status_code != 200:
                        raise await self._status_error(resp, url)
        if deadline.cancelled_caught:
            raise self._timeout("PUT", url)

    # ------------------------------------------------------------------ plumbing

    def _deadline(self) -> trio.CancelScope:
        return trio.move_on_after(self.limits.client_total_timeout_s)

    def _timeout(self, method: str, url: str) -> Timeout:
        return Timeout(f"{self.name}: {method} {url} took longer than "
                       f"{self.limits.client_total_timeout_s:g} s")

    def _guard(self, url: str) -> _HttpErrors:
        return _HttpErrors(self.name, url)

    async def _status_error(self, resp: httpx.Response, url: str,
                            deadline: float | None = None) -> JzfsError:
        """The error for an unexpected status, with the start of the body (read within the
        request's deadline, at most 1 KiB)."""
        text = ""
        with trio.move_on_at(deadline if deadline is not None else math.inf):
            try:
                text = (await self._read_bounded(resp, 1024, "error body", truncate=True)).decode(
                    "utf-8", "replace")
            except (httpx.HTTPError, JzfsError):
                pass
        text = " ".join(text.split())[:200]
        return RemoteProtocolError(f"{self.name}: HTTP {resp.status_code} for {url}"
                                   + (f": {text}" if text else ""))

    async def _read_bounded(self, resp: httpx.Response, limit: int, what: str, *,
                            truncate: bool = False) -> bytes:
        declared = resp.headers.get("content-length")
        if not truncate and declared is not None and declared.isdigit() and int(declared) > limit:
            raise LimitExceeded(f"{self.name}: {what} of {declared} bytes is over the {limit} "
                                "byte limit")
        buf = bytearray()
        async for chunk in _raw_chunks(resp):  # never decompressed (see _check_encoding)
            buf += chunk
            if len(buf) > limit:
                if truncate:
                    return bytes(buf[:limit])
                raise LimitExceeded(f"{self.name}: {what} over the {limit} byte limit")
        return bytes(buf)

    def _check_encoding(self, resp: httpx.Response) -> None:
        """We ask for `Accept-Encoding: identity`; a compressed answer anyway is refused rather
        than inflated (a small gzip body can expand a thousandfold in one read)."""
        enc = resp.headers.get("content-encoding", "").strip().lower()
        if enc not in ("", "identity"):
            raise RemoteProtocolError(f"{self.name}: answer with Content-Encoding {enc[:40]!r} "
                                      "(we asked for identity)")

    def _accept(self, obj: object) -> PeerRecord | None:
        try:
            rec = parse_record(obj, self.limits)
        except (InvalidInput, RemoteProtocolError) as exc:
            self.dropped += 1
            log.info("%s: dropped a record: %s", self.name, exc)
            return None
        return self._filtered(rec)

    def _filtered(self, rec: PeerRecord) -> PeerRecord | None:
        out = flt.apply(rec, self.filters)
        if out is None:
            self.dropped += 1
        return out

    async def _records(self, url: str, field: str, limit: int) -> AsyncIterator[PeerRecord]:
        """Records of one providers/peers answer, streamed, de-duplicated, at most `limit`.
        No cancel scope is held across a `yield`: each wait has its own, up to one deadline."""
        if limit <= 0:
            return
        deadline = trio.current_time() + self.limits.client_total_timeout_s
        seen: set[str] = set()
        resp = await self._send(url, deadline)
        try:
            if resp.status_code == 404:
                return
            if resp.status_code != 200:
                raise await self._status_error(resp, url, deadline)
            self._check_encoding(resp)
            ctype = media_type(resp.headers.get("content-type"))
            if ctype == JSON_MEDIA:
                with trio.move_on_at(deadline) as scope:
                    async with self._guard(url):
                        body = await self._read_bounded(resp, self.limits.max_json_body_bytes,
                                                        "JSON answer")
                if scope.cancelled_caught:
                    raise self._timeout("GET", url)
                items = records_of_json_answer(body, field)[: self.limits.max_records_per_response]
                for obj in items:
                    rec = self._accept(obj)
                    if rec is not None and rec.peer_id not in seen:
                        seen.add(rec.peer_id)
                        yield rec
                        if len(seen) >= limit:
                            return
                return
            if ctype != NDJSON_MEDIA:
                raise RemoteProtocolError(f"{self.name}: unexpected Content-Type "
                                          f"{ctype[:80] or 'none'!r} for {url}")
            splitter = NdjsonSplitter(self.limits.max_ndjson_line_bytes)
            chunks = _raw_chunks(resp)
            total = lines = 0
            done = False
            while not done:
                with trio.move_on_at(deadline) as scope:
                    async with self._guard(url):
                        try:
                            chunk = await chunks.__anext__()
                        except StopAsyncIteration:
                            chunk, done = b"", True
                if scope.cancelled_caught:
                    raise self._timeout("GET", url)
                total += len(chunk)
                if total > self.limits.max_ndjson_stream_bytes:
                    raise LimitExceeded(f"{self.name}: NDJSON answer over the "
                                        f"{self.limits.max_ndjson_stream_bytes} byte limit")
                batch = splitter.close() if done else splitter.feed(chunk)
                for line in batch:
                    lines += 1
                    if lines > self.limits.max_records_per_response:
                        log.info("%s: more than %d records in one answer: stopped reading",
                                 self.name, self.limits.max_records_per_response)
                        return
                    try:
                        parsed = parse_ndjson_line(line, self.limits)
                    except (InvalidInput, RemoteProtocolError) as exc:
                        self.dropped += 1
                        log.info("%s: dropped a record: %s", self.name, exc)
                        continue
                    rec = self._filtered(parsed)
                    if rec is not None and rec.peer_id not in seen:
                        seen.add(rec.peer_id)
                        yield rec
                        if len(seen) >= limit:
                            return
            if splitter.dropped:
                self.dropped += splitter.dropped
                log.info("%s: dropped %d over-long NDJSON lines", self.name, splitter.dropped)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await resp.aclose()

    async def _send(self, url: str, deadline: float) -> httpx.Response:
        req = self._http.build_request("GET", url, headers={"Accept": RECORDS_ACCEPT})
        with trio.move_on_at(deadline) as scope:
            async with self._guard(url):
                return await self._http.send(req, stream=True)
        assert scope.cancelled_caught
        raise self._timeout("GET", url)


async def _raw_chunks(resp: httpx.Response) -> AsyncIterator[bytes]:
    """The body as received (no decompression); a body an in-process transport already read
    whole is handed out as it is."""
    if resp.is_stream_consumed:
        yield resp.content
        return
    async for chunk in resp.aiter_raw():
        yield chunk


class _HttpErrors:
    """Turns httpx exceptions into the package's errors (async context manager)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> bool:
        if exc is None or not isinstance(exc, httpx.HTTPError):
            return False
        detail = str(exc) or exc.__class__.__name__
        if isinstance(exc, httpx.TimeoutException):
            raise Timeout(f"{self.name}: {detail} ({self.url})") from None
        if isinstance(exc, httpx.DecodingError | httpx.RemoteProtocolError):
            raise RemoteProtocolError(f"{self.name}: broken HTTP answer: {detail}") from None
        raise NetworkError(f"{self.name}: {exc.__class__.__name__}: {detail} ({self.url})") from None
