"""api/multipart.py: streaming multipart parsing, Kubo-style part names, bounds."""

from __future__ import annotations

from typing import Any

import pytest

from jiaozi_node.api.client import multipart_body
from jiaozi_node.api.multipart import PartInfo, first_part, iter_parts
from jiaozi_node.config import HttpLimits
from jiaozi_node.errors import InvalidInput, LimitExceeded
from jiaozi_node.gateway.asgi import Request


def request(body: bytes, boundary: str = "XyZ", chunk: int = 7) -> Request:
    pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""]
    msgs = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
            for i, p in enumerate(pieces)]

    async def receive() -> dict[str, Any]:
        return msgs.pop(0)

    scope = {"type": "http", "method": "POST", "path": "/api/v0/add", "query_string": b"",
             "headers": [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())]}
    return Request(scope, receive)


HEADERS = HttpLimits().max_part_header_bytes


async def collect(req: Request, limit: int = 1 << 30, headers: int = HEADERS) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    async for kind, value in iter_parts(req, limit=limit, max_header_bytes=headers):
        if kind == "data" and out and out[-1][0] == "data":
            out[-1] = ("data", out[-1][1] + value)
        else:
            out.append((kind, value))
    return out


async def test_parts_in_small_chunks() -> None:
    body = b"".join(multipart_body([
        ("dir", "application/x-directory", ()),
        ("dir%2Fa%20b.txt", "application/octet-stream", (b"hello ", b"world")),
        ("dir%2Flink", "application/symlink", (b"a b.txt",)),
    ], "XyZ"))
    events = await collect(request(body))
    begins = [v for k, v in events if k == "begin"]
    assert [p.filename for p in begins] == ["dir", "dir/a b.txt", "dir/link"]
    assert [p.is_directory for p in begins] == [True, False, False] and begins[2].is_symlink
    datas = [v for k, v in events if k == "data"]
    assert datas == [b"hello world", b"a b.txt"]


async def test_first_part_and_errors() -> None:
    body = b"".join(multipart_body([("data", "application/octet-stream", (b"\x00" * 1000,))], "XyZ"))
    assert await first_part(request(body), limit=1 << 20, max_header_bytes=HEADERS) == b"\x00" * 1000
    with pytest.raises(LimitExceeded):
        await first_part(request(body), limit=100, max_header_bytes=HEADERS)
    with pytest.raises(InvalidInput):
        await first_part(request(b"--XyZ--\r\n"), limit=1 << 20, max_header_bytes=HEADERS)  # no part at all
    huge = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
            + b"a" * (HEADERS + 10) + b"\"\r\n\r\nx\r\n--XyZ--\r\n")
    with pytest.raises((LimitExceeded, InvalidInput)):  # ours or python-multipart's own bound
        await collect(request(huge, chunk=4096))


async def test_part_header_bound_is_passed_in() -> None:
    body = b"".join(multipart_body([("data", "application/octet-stream", (b"x",))], "XyZ"))
    assert await first_part(request(body), limit=1 << 20, max_header_bytes=200) == b"x"
    with pytest.raises(LimitExceeded, match="over 20 bytes"):
        await first_part(request(body), limit=1 << 20, max_header_bytes=20)


async def test_not_multipart() -> None:
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", b"application/json")]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    with pytest.raises(InvalidInput):
        await collect(Request(scope, receive))


def test_partinfo_defaults() -> None:
    p = PartInfo({"content-disposition": 'form-data; name="file"'})
    assert p.filename == "file" and p.content_type == "application/octet-stream"
