"""Streaming multipart/form-data bodies (Kubo's `add`, `block put`, `dag put`, `dag import`).

Wraps `python_multipart`'s push parser: body chunks go in, ("begin", PartInfo) / ("data", bytes) /
("end", None) events come out, so a 10 GiB upload is never held in memory. Part headers are
bounded (`max_header_bytes`: the handlers pass their `ApiContext.limits.max_part_header_bytes`)
because the parser itself would accumulate them without limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import InvalidInput, LimitExceeded
from ..gateway.asgi import Request


@dataclass
class PartInfo:
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def disposition(self) -> dict[str, str]:
        _, params = parse_options_header(self.headers.get("content-disposition", ""))
        return {k.decode(): v.decode("utf-8", "replace") for k, v in params.items()}

    @property
    def filename(self) -> str:
        """The part's path (Kubo clients percent-encode it), '' when absent."""
        d = self.disposition
        return unquote(d.get("filename", "") or d.get("name", ""))

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "application/octet-stream").split(";")[0].strip()

    @property
    def is_directory(self) -> bool:
        return self.content_type == "application/x-directory"

    @property
    def is_symlink(self) -> bool:
        return self.content_type == "application/symlink"


def boundary_of(req: Request) -> bytes:
    ctype, params = parse_options_header(req.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise InvalidInput("expected a multipart/form-data body with a boundary")
    return params[b"boundary"]


async def iter_parts(req: Request, *, limit: int, max_header_bytes: int) -> AsyncIterator[tuple[str, Any]]:
    """Events of the multipart body: ("begin", PartInfo), ("data", bytes), ("end", None).

    `limit`: body bytes in all; `max_header_bytes`: header bytes of one part."""
    events: list[tuple[str, Any]] = []
    state: dict[str, Any] = {"field": b"", "value": b"", "info": None, "hbytes": 0}

    def on_part_begin() -> None:
        state["info"] = PartInfo()
        state["hbytes"] = 0

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]
        _count(end - start)

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]
        _count(end - start)

    def _count(n: int) -> None:
        state["hbytes"] += n
        if state["hbytes"] > max_header_bytes:
            raise LimitExceeded(f"multipart part headers over {max_header_bytes} bytes")

    def on_header_end() -> None:
        state["info"].headers[state["field"].decode("latin-1").lower()] = state["value"].decode("utf-8", "replace")
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        events.append(("begin", state["info"]))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", bytes(data[start:end])))

    def on_part_end() -> None:
        events.append(("end", None))

    parser = MultipartParser(boundary_of(req), {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    })
    async for chunk in req.stream(limit):
        try:
            parser.write(chunk)
        except LimitExceeded:
            raise
        except Exception as exc:  # python_multipart raises its own error types
            raise InvalidInput(f"malformed multipart body: {exc}") from None
        if events:
            out, events[:] = list(events), []
            for ev in out:
                yield ev
    try:
        parser.finalize()
    except Exception as exc:
        raise InvalidInput(f"malformed multipart body: {exc}") from None
    for ev in events:
        yield ev


async def first_part(req: Request, *, limit: int, max_header_bytes: int) -> bytes:
    """The whole data of the first part (block put, dag put): bounded by `limit`."""
    parts: list[bytes] = []
    seen = False
    async for kind, value in iter_parts(req, limit=limit, max_header_bytes=max_header_bytes):
        if kind == "begin":
            if seen:
                break
            seen = True
        elif kind == "data" and seen:
            parts.append(value)
        elif kind == "end" and seen:
            break
    if not seen:
        raise InvalidInput("file argument 'data' is required")
    return b"".join(parts)
