"""api/http11.py: the CLI's HTTP/1.1 connection, against a scripted server (raw bytes)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from jiaozi_node.api.http11 import Connection, ProtocolError


class Scripted:
    """A loopback server: each accepted connection reads one request (head + body) per entry of
    `answers` and sends that entry's bytes; `requests` keeps what arrived."""

    def __init__(self, answers: list[bytes], *, close_after: bool = False) -> None:
        self.answers = list(answers)
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.answers:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with c, c.makefile("rb") as f:
                while self.answers:
                    req = self._read_request(f)
                    if req is None:
                        break
                    self.requests.append(req)
                    c.sendall(self.answers.pop(0))
                    if self.close_after:
                        break

    @staticmethod
    def _read_request(f: object) -> bytes | None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = f.readline()  # type: ignore[attr-defined]
            if not line:
                return None
            head += line
        if b"chunked" in head:
            body = b""
            while True:
                size = int(f.readline().strip(), 16)  # type: ignore[attr-defined]
                data = f.read(size + 2)  # type: ignore[attr-defined]
                if size == 0:
                    break
                body += data[:-2]
            return head + body
        n = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        return head + f.read(n)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Scripted]]:
    made: list[Scripted] = []

    def make(answers: list[bytes], **kw: bool) -> Scripted:
        made.append(Scripted(answers, **kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def conn(port: int, **kw: int) -> Connection:
    c = Connection("127.0.0.1", port, connect_timeout=5.0, max_header_bytes=kw.get("max_header_bytes", 4096))
    c.connect()
    assert c.sock is not None
    c.sock.settimeout(5.0)
    return c


def test_content_length_chunked_and_keep_alive(serve: Callable[..., Scripted]) -> None:
    s = serve([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
               b"3\r\nab\n\r\n4;ext=1\r\ncd\nx\r\n0\r\nTrailer: t\r\n\r\n",
               b"HTTP/1.1 204 No Content\r\n\r\n"])
    c = conn(s.port)
    r = c.request("POST", "/api/v0/version", body=b"", headers={"Authorization": "Bearer t"})
    assert (r.status, r.read()) == (200, b"hello")
    r = c.request("POST", "/api/v0/add", body=iter([b"part1", b"", b"part2"]), headers={})
    assert r.headers["x-a"] == "1, 2"
    assert list(r) == [b"ab\n", b"cd\n", b"x"]
    r = c.request("POST", "/x", body=b"", headers={})
    assert (r.status, r.read()) == (204, b"")
    assert s.connections == 1  # one connection for all three
    assert b"Authorization: Bearer t\r\n" in s.requests[0] and b"Host: 127.0.0.1:" in s.requests[0]
    assert s.requests[1].endswith(b"\r\n\r\npart1part2") and b"Transfer-Encoding: chunked" in s.requests[1]


def test_read1_respects_the_size_and_1xx_is_skipped(serve: Callable[..., Scripted]) -> None:
    s = serve([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"])
    r = conn(s.port).request("POST", "/", body=b"", headers={})
    assert r.status == 200
    got = []
    while chunk := r.read1(4):
        got.append(chunk)
    assert b"".join(got) == b"0123456789" and all(len(g) <= 4 for g in got)


def test_body_until_close_then_a_new_connection(serve: Callable[..., Scripted]) -> None:
    s = serve([b"HTTP/1.1 200 OK\r\n\r\nuntil the end", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
               b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], close_after=True)
    c = conn(s.port)
    assert c.request("POST", "/", body=b"", headers={}).read() == b"until the end"
    assert c.request("POST", "/", body=b"", headers={}).read() == b"ok"  # HTTP/1.0: not kept
    assert c.request("POST", "/", body=b"", headers={}).read() == b"ok"
    assert s.connections == 3


def test_an_answer_not_read_to_its_end_is_not_reused(serve: Callable[..., Scripted]) -> None:
    s = serve([b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    c = conn(s.port)
    r = c.request("POST", "/", body=b"", headers={})
    assert r.read1(2) == b"ab"
    r.close()
    assert c.sock is None  # closed: its remaining bytes would be read as the next answer
    c.connect()
    assert c.request("POST", "/", body=b"", headers={}).read() == b"ok"


@pytest.mark.parametrize("answer, match", [
    (b"SSH-2.0-OpenSSH\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 5000 + b"\r\n\r\n", "too long"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 1000 + b"\r\n", "too long"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer coding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", "CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc", "broke off"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", "broke off"),
    (b"HTTP/1.1 200 OK\r\nContent-", "truncated"),
    (b"", "closed the connection"),
])
def test_bad_answers_are_protocol_errors(serve: Callable[..., Scripted], answer: bytes, match: str) -> None:
    s = serve([answer], close_after=True)
    c = conn(s.port)
    with pytest.raises(ProtocolError, match=match):
        c.request("POST", "/", body=b"", headers={}).read()
    assert isinstance(ProtocolError("x"), OSError)  # the client's `except OSError` catches it
