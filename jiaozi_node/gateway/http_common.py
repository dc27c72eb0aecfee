"""Pure HTTP helpers shared by the gateway and the RPC API (no I/O, no trio, no clock).

Everything a request carries is turned into values here (content paths, response formats, byte
ranges) and every failure becomes an `HttpError` that names the status code it maps to, so the
adapters (`gateway/server.py`, `api/server.py`) only move bytes.

Spec references: https://specs.ipfs.tech/http-gateways/path-gateway/ and
https://specs.ipfs.tech/http-gateways/trustless-gateway/.
"""

from __future__ import annotations

import html
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from ..errors import (
    CodecError,
    HashMismatch,
    InvalidInput,
    JzfsError,
    LimitExceeded,
    NotFound,
    PinnedError,
    Timeout,
)
from ..ipld import multihash
from ..ipld.cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW
from .http_addr import host_port_to_multiaddr, is_loopback_host, multiaddr_to_host_port  # noqa: F401

RAW_MEDIA = "application/vnd.ipld.raw"
CAR_MEDIA = "application/vnd.ipld.car"
CAR_CONTENT_TYPE = "application/vnd.ipld.car; version=1; order=dfs; dups=n"
IMMUTABLE_CACHE = "public, max-age=29030400, immutable"
DAG_SCOPES = ("all", "entity", "block")

# Names a gateway path segment may not be: they would let a path escape its root once written to
# disk or re-joined by a naive client. NUL is refused because no UnixFS name contains it honestly.
_FORBIDDEN_SEGMENTS = (".", "..")


class HttpError(JzfsError):
    """A request that ends in an HTTP error status. `status` is the code, str(self) the body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def status_for(exc: BaseException) -> int:
    """The HTTP status an exception maps to (path-gateway spec, "Response Status Codes")."""
    if isinstance(exc, HttpError):
        return exc.status
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Timeout):
        return 504
    if isinstance(exc, HashMismatch):
        # Corrupt local data or a lying upstream: our fault, not the client's.
        return 502
    if isinstance(exc, (CodecError, LimitExceeded, InvalidInput, PinnedError)):
        return 400 if not isinstance(exc, CodecError) else 502
    return 500


# --------------------------------------------------------------------------------------------
# content paths
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentPath:
    """`/ipfs/{cid}[/{segments}]`: the CID and the already-decoded, validated path segments."""

    cid: CID
    segments: tuple[str, ...] = ()
    trailing_slash: bool = False

    @property
    def path(self) -> str:
        """The canonical `/ipfs/...` form (percent-encoded), as used in X-Ipfs-Path."""
        tail = "".join("/" + quote(s, safe="") for s in self.segments)
        return f"/ipfs/{self.cid}{tail}" + ("/" if self.trailing_slash and self.segments else "")


def split_segments(raw: str) -> tuple[str, ...]:
    """Percent-decode and validate the segments of a path below a CID.

    Empty segments (`a//b`) are collapsed, as Kubo does. `.`/`..`, NUL and segments that only
    become `/` after decoding are refused with 400: a gateway answer must never name something
    outside the DAG under the requested CID.
    """
    out: list[str] = []
    for part in raw.split("/"):
        if part == "":
            continue
        name = unquote(part, errors="strict")
        if name in _FORBIDDEN_SEGMENTS or "\x00" in name or "/" in name:
            raise HttpError(400, f"invalid path segment {part!r}")
        out.append(name)
    return tuple(out)


# Codecs whose blocks we can read past the block itself (paths, files, DAG walks, CAR export).
SERVABLE_CODECS = frozenset({RAW, DAG_PB, DAG_CBOR, DAG_JSON})


def check_servable(cid: CID, *, any_codec: bool = False) -> None:
    """501 at once for what we could never answer, instead of asking peers for it and timing out:
    a hash function we cannot verify (no block of it is ever accepted) and, unless `any_codec`
    (a bare block, served as bytes), a codec we cannot read."""
    code = cid.hash_code
    if not multihash.can_verify(code):
        raise HttpError(501, f"{cid}: hash function 0x{code:x} is not supported "
                             "(its blocks cannot be verified)")
    if not any_codec and cid.codec not in SERVABLE_CODECS:
        raise HttpError(501, f"{cid}: codec {cid.codec_name} is not supported")


def parse_cid(text: str) -> CID:
    """A CID from a request (block commands: any codec, but a hash we can verify)."""
    try:
        cid = CID.decode(text)
    except (JzfsError, ValueError, KeyError, IndexError) as exc:
        msg = str(exc)  # CID.decode's message already names the CID: do not say it twice
        raise HttpError(400, msg if msg.startswith("invalid CID") else f"invalid CID {text[:100]!r}: {msg}") from None
    check_servable(cid, any_codec=True)
    return cid


def parse_content_path(path: str, *, any_codec: bool = False) -> ContentPath:
    """Parse a request path such as `/ipfs/bafy.../dir/file.txt` (already without query).
    Its CID must be one we can serve (`check_servable`; `any_codec` for a bare raw block)."""
    if path.startswith("/ipns/"):
        raise HttpError(501, "IPNS is not supported by this gateway")
    if not path.startswith("/ipfs/"):
        raise HttpError(400, f"path must start with /ipfs/: {path[:100]!r}")
    rest = path[len("/ipfs/"):]
    cid_text, _, tail = rest.partition("/")
    if not cid_text:
        raise HttpError(400, "missing CID after /ipfs/")
    try:
        cid_text = unquote(cid_text, errors="strict")
        segments = split_segments(tail)
    except UnicodeDecodeError:
        raise HttpError(400, "path is not valid UTF-8 after percent-decoding") from None
    cid = parse_cid(cid_text)
    check_servable(cid, any_codec=any_codec and not segments)
    return ContentPath(cid, segments, trailing_slash=path.endswith("/"))


def parse_arg_path(arg: str) -> ContentPath:
    """An RPC `arg`: `CID`, `CID/path`, `/ipfs/CID/path` (Kubo accepts all three)."""
    if not arg.startswith("/"):
        arg = "/ipfs/" + arg
    return parse_content_path(arg)


# --------------------------------------------------------------------------------------------
# format negotiation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseFormat:
    """What to answer with: `kind` is "raw", "car" or "unixfs" (deserialized)."""

    kind: str
    dag_scope: str = "all"
    entity_bytes: tuple[int, int | None] | None = None
    params: dict[str, str] = field(default_factory=dict)

    @property
    def trustless(self) -> bool:
        return self.kind in ("raw", "car")


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str], float]]:
    """Parse an Accept header into (type, params, q), best first (stable for equal q)."""
    items: list[tuple[str, dict[str, str], float]] = []
    for raw in accept.split(","):
        parts = [p.strip() for p in raw.split(";")]
        mtype = parts[0].lower()
        if not mtype:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for p in parts[1:]:
            k, _, v = p.partition("=")
            k, v = k.strip().lower(), v.strip().strip('"')
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
            elif k:
                params[k] = v
        if q > 0:
            items.append((mtype, params, q))
    return sorted(items, key=lambda t: -t[2])


def _check_car_params(params: dict[str, str]) -> dict[str, str]:
    version = params.get("version", "1")
    if version != "1":
        raise HttpError(406, f"unsupported CAR version {version!r} (only version=1)")
    order = params.get("order", "dfs")
    if order not in ("dfs", "unk"):
        raise HttpError(406, f"unsupported CAR order {order!r} (dfs or unk)")
    dups = params.get("dups", "n")
    if dups not in ("y", "n"):
        raise HttpError(406, f"unsupported CAR dups {dups!r}")
    return {"version": "1", "order": "dfs", "dups": "n"}


def parse_entity_bytes(value: str) -> tuple[int, int | None]:
    """`from:to` (inclusive; `*` = end; negatives count from the end), IPIP-402."""
    lo, sep, hi = value.partition(":")
    try:
        start = int(lo)
        end = None if hi == "*" else int(hi)
    except ValueError:
        raise HttpError(400, f"invalid entity-bytes {value!r}") from None
    if not sep:
        raise HttpError(400, f"invalid entity-bytes {value!r}")
    if start >= 0 and end is not None and end >= 0 and end < start:
        raise HttpError(400, f"invalid entity-bytes {value!r}: to < from")
    return start, end


def negotiate(query: dict[str, str], accept: str | None) -> ResponseFormat:
    """Choose the response format from `?format=` (wins) and the Accept header."""
    fmt = query.get("format")
    params: dict[str, str] = {}
    kind: str | None = None
    if fmt:
        if fmt == "raw":
            kind = "raw"
        elif fmt == "car":
            kind = "car"
            car_q = {k[4:]: v for k, v in query.items() if k.startswith("car-")}
            params = _check_car_params(car_q)
        else:
            raise HttpError(406, f"unsupported format {fmt!r} (raw, car)")
    elif accept:
        acceptable_other = False
        for mtype, mparams, _ in _media_ranges(accept):
            if mtype == RAW_MEDIA:
                kind = "raw"
                break
            if mtype == CAR_MEDIA:
                kind = "car"
                params = _check_car_params(mparams)
                break
            if mtype.startswith(("application/vnd.ipld.", "application/vnd.ipfs.", "application/x-tar")):
                continue  # a verifiable format we do not produce: look further
            acceptable_other = True
            break
        if kind is None:
            if not acceptable_other:
                raise HttpError(406, f"none of the accepted types is supported: {accept[:200]!r}")
            kind = "unixfs"
    else:
        kind = "unixfs"
    scope = query.get("dag-scope", "all")
    if scope not in DAG_SCOPES:
        raise HttpError(400, f"invalid dag-scope {scope!r} (all, entity, block)")
    entity = None
    if "entity-bytes" in query:
        entity = parse_entity_bytes(query["entity-bytes"])
        if "dag-scope" not in query:
            scope = "entity"
    if kind != "car" and ("dag-scope" in query or entity is not None):
        raise HttpError(400, "dag-scope and entity-bytes are only valid for CAR responses")
    return ResponseFormat(kind, scope, entity, params)


def etag(cid: CID, fmt: ResponseFormat, *, extra: str = "") -> str:
    """Strong ETags for byte-deterministic answers; CARs are weak (order may vary between servers)."""
    if fmt.kind == "raw":
        return f'"{cid}.raw"'
    if fmt.kind == "car":
        ent = "" if fmt.entity_bytes is None else f".{fmt.entity_bytes[0]}:{fmt.entity_bytes[1] or '*'}"
        return f'W/"{cid}.car.{fmt.dag_scope}{ent}.dfs.n"'
    return f'"{cid}{extra}"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    bare = tag.removeprefix("W/")
    for cand in if_none_match.split(","):
        cand = cand.strip()
        if cand == "*" or cand.removeprefix("W/") == bare:
            return True
    return False


# --------------------------------------------------------------------------------------------
# ranges
# --------------------------------------------------------------------------------------------


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single `bytes=` range as (start, end_inclusive), or None for "whole body".

    Multiple ranges are answered with the whole body (RFC 9110 allows ignoring Range). An
    unsatisfiable range raises HttpError(416).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    lo, sep, hi = spec.strip().partition("-")
    if not sep:
        return None
    try:
        if lo == "":
            n = int(hi)
            if n <= 0:
                raise HttpError(416, f"unsatisfiable range {header!r}")
            return (max(0, size - n), size - 1) if size else _unsatisfiable(header)
        start = int(lo)
        end = int(hi) if hi else size - 1
    except ValueError:
        return None
    if start < 0 or (hi and end < start):
        return None
    if start >= size:
        _unsatisfiable(header)
    return start, min(end, size - 1)


def _unsatisfiable(header: str) -> tuple[int, int]:
    raise HttpError(416, f"unsatisfiable range {header!r}")


# --------------------------------------------------------------------------------------------
# content type sniffing and directory listings
# --------------------------------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b\x08", "application/x-gzip"),
    (b"RIFF", "application/octet-stream"),
    (b"\x00asm", "application/wasm"),
    (b"OggS", "application/ogg"),
)


def sniff_content_type(name: str | None, head: bytes) -> str:
    """Content-Type from the file name's extension, else from the first bytes (like Go's
    http.DetectContentType, reduced to common types)."""
    if name:
        guessed, _ = mimetypes.guess_type(name, strict=False)
        if guessed:
            if guessed.startswith("text/") or guessed in ("application/javascript", "application/json"):
                return f"{guessed}; charset=utf-8"
            return guessed
    for magic, ctype in _MAGIC:
        if head.startswith(magic):
            return ctype
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    lowered = head.lstrip()[:512].lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html; charset=utf-8"
    if lowered.startswith(b"<svg") or (lowered.startswith(b"<?xml") and b"<svg" in lowered):
        return "image/svg+xml"
    if lowered.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    sample = head[:512]
    if b"\x00" not in sample:
        try:
            sample.decode("utf-8")
            return "text/plain; charset=utf-8"
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 3:  # a multi-byte char cut at the sample's end
                return "text/plain; charset=utf-8"
    return "application/octet-stream"


@dataclass(frozen=True)
class ListingEntry:
    name: str
    cid: CID
    size: int | None
    is_dir: bool


def _human(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def render_directory(cpath: ContentPath, dir_cid: CID, entries: Iterable[ListingEntry]) -> bytes:
    """An HTML directory listing; every name is escaped (names come from untrusted DAGs)."""
    base = cpath.path.rstrip("/") + "/"
    title = html.escape(cpath.path)
    rows = []
    if cpath.segments:
        rows.append(f'<tr><td><a href="{html.escape(base)}..">..</a></td><td></td><td></td></tr>')
    for e in entries:
        href = html.escape(base + quote(e.name, safe="") + ("/" if e.is_dir else ""))
        rows.append(
            f'<tr><td><a href="{href}">{html.escape(e.name)}{"/" if e.is_dir else ""}</a></td>'
            f'<td><a href="/ipfs/{e.cid}">{e.cid}</a></td><td>{_human(e.size)}</td></tr>'
        )
    body = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
        f"{title}</title></head><body>\n<h1>Index of {title}</h1>\n<p>{dir_cid}</p>\n"
        "<table>\n<tr><th>Name</th><th>CID</th><th>Size</th></tr>\n"
        + "\n".join(rows)
        + "\n</table>\n</body></html>\n"
    )
    return body.encode()


# --------------------------------------------------------------------------------------------
# addresses
# --------------------------------------------------------------------------------------------


# multiaddr_to_host_port, host_port_to_multiaddr, is_loopback_host: gateway/http_addr.py (imported
# above), which the CLI's daemon client loads without this module's CID and MIME tables.
