"""URLs of Delegated Routing V1 for the client, and request parsing for the server (pure).

Client side: `normalize_endpoint` takes what a user puts in `Routing.DelegatedRouters` (a base
URL such as `http://127.0.0.1:8080`, with or without a trailing `/routing/v1`) and the
`*_url` functions build request URLs: CIDs as CIDv1 base32 and peer IDs / IPNS names as CIDv1
libp2p-key base32 (the spec's preferred, cache-friendly form that every server parses).

Server side: `parse_request` turns a path under `/routing/v1/` into a `RoutingRequest`, raising
`HttpError` with the status the spec asks for (400 for an unknown path, a bad CID or a bad peer
ID); `negotiate_records` picks JSON or NDJSON from `Accept`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urlsplit

from ...config import DELEGATED_ROUTING_LIMITS
from ...errors import InvalidInput
from ...gateway.http_common import HttpError
from ...ipld.cid import CID
from .filters import Filters, parse_filter
from .records import IPNS_RECORD_MEDIA, JSON_MEDIA, NDJSON_MEDIA, parse_peer_id, peer_id_cid_str

PREFIX = "/routing/v1"
NO_FILTERS = Filters()


def normalize_endpoint(url: str) -> str:
    """A delegated router's base URL: http(s), no query, no trailing slash or `/routing/v1`."""
    if not isinstance(url, str):
        raise InvalidInput(f"delegated router URL must be a string: {url!r}")
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"delegated router URL must start with http:// or https://: {url!r}")
    if parts.query or parts.fragment:
        raise InvalidInput(f"delegated router URL must not have a query or fragment: {url!r}")
    if url.endswith(PREFIX):
        url = url[: -len(PREFIX)]
    return url


def _query(filters: Filters) -> str:
    params = []
    if filters.addrs:
        params.append(("filter-addrs", ",".join(filters.addrs)))
    if filters.protocols:
        params.append(("filter-protocols", ",".join(filters.protocols)))
    return ("?" + urlencode(params, safe=",!")) if params else ""


def providers_url(base: str, cid: CID, filters: Filters = NO_FILTERS) -> str:
    return f"{base}{PREFIX}/providers/{cid.to_v1().encode('base32')}{_query(filters)}"


def peers_url(base: str, peer_mh: bytes, filters: Filters = NO_FILTERS) -> str:
    return f"{base}{PREFIX}/peers/{peer_id_cid_str(peer_mh)}{_query(filters)}"


def ipns_url(base: str, name_mh: bytes) -> str:
    return f"{base}{PREFIX}/ipns/{peer_id_cid_str(name_mh)}"


@dataclass(frozen=True)
class RoutingRequest:
    kind: str  # "providers" | "peers" | "ipns"
    cid: CID | None = None  # providers
    peer_mh: bytes = b""  # peers (the peer) and ipns (the name)
    filters: Filters = NO_FILTERS


def is_routing_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def parse_request(path: str, query: dict[str, str], *,
                  max_filter_names: int = DELEGATED_ROUTING_LIMITS.max_filter_names) -> RoutingRequest:
    """`/routing/v1/{providers/CID | peers/PEER | ipns/NAME}` -> RoutingRequest (HttpError)."""
    rest = path[len(PREFIX):].strip("/") if is_routing_path(path) else ""
    parts = rest.split("/")
    if len(parts) != 2 or not parts[1]:
        raise HttpError(400, f"unknown path {path[:200]!r}: use {PREFIX}/providers/{{cid}}, "
                             f"{PREFIX}/peers/{{peer-id}} or {PREFIX}/ipns/{{name}}")
    kind, arg = parts[0], unquote(parts[1])
    try:
        filters = Filters(parse_filter(query.get("filter-addrs"), max_names=max_filter_names),
                          parse_filter(query.get("filter-protocols"), max_names=max_filter_names))
    except InvalidInput as exc:
        raise HttpError(400, str(exc)) from None
    if kind == "providers":
        try:
            cid = CID.decode(arg)
        except InvalidInput as exc:
            raise HttpError(400, f"unable to parse CID: {exc}") from None
        return RoutingRequest("providers", cid=cid, filters=filters)
    if kind in ("peers", "ipns"):
        try:
            mh = parse_peer_id(arg)
        except InvalidInput as exc:
            what = "peer ID" if kind == "peers" else "IPNS name"
            raise HttpError(400, f"unable to parse {what}: {exc}") from None
        return RoutingRequest(kind, peer_mh=mh, filters=filters)
    raise HttpError(400, f"unknown path {path[:200]!r}: no {PREFIX}/{kind[:40]} endpoint")


def _media_ranges(accept: str) -> list[str]:
    out = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if fields[0] and q > 0:
            out.append(fields[0].lower())
    return out


def negotiate_records(accept: str | None) -> str:
    """JSON_MEDIA or NDJSON_MEDIA for a providers/peers answer. NDJSON only when asked for
    explicitly (the spec: a server MUST NOT stream unless the client asked); 406 when the
    client accepts neither."""
    if not accept or not accept.strip():
        return JSON_MEDIA
    ranges = _media_ranges(accept)
    if NDJSON_MEDIA in ranges:
        return NDJSON_MEDIA
    if any(r in (JSON_MEDIA, "application/*", "*/*") for r in ranges):
        return JSON_MEDIA
    raise HttpError(406, f"not acceptable: this endpoint answers {JSON_MEDIA} or {NDJSON_MEDIA}")


def accepts_ipns_record(accept: str | None) -> bool:
    return IPNS_RECORD_MEDIA in _media_ranges(accept or "")
