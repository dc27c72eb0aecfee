"""Answers no daemon of ours sends, against the CLI's HTTP/1.1 client (api/http11.py): whatever
listens on the API port (another program, a stale or broken daemon) must make a `jzfs` command
fail with an OSError the CLI prints as one line (ProtocolError, or a timeout), never another
exception, unbounded reading or a hang. Common malformed answers:
tests/unit/api/test_http11.py::test_bad_answers_are_protocol_errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from jiaozi_node.api.http11 import Connection, ProtocolError

MAX_HEADER = 4096


class OneShot:
    """Accepts one connection, reads the request head, sends `answer`, then keeps the socket open
    (`hold`) or closes it."""

    def __init__(self, answer: bytes, *, hold: bool = False) -> None:
        self.answer, self.hold = answer, hold
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        c, _ = self.sock.accept()
        with c:
            head = b""
            while b"\r\n\r\n" not in head:
                head += c.recv(65536)
            try:
                c.sendall(self.answer)
            except OSError:
                pass  # the client gave up first
            if self.hold:
                self.done.wait(10)


@pytest.fixture
def server() -> Iterator[type[OneShot]]:
    made: list[OneShot] = []

    def make(answer: bytes, **kw: bool) -> OneShot:
        made.append(OneShot(answer, **kw))
        return made[-1]

    yield make  # type: ignore[misc]
    for s in made:
        s.done.set()
        s.sock.close()


def _ask(port: int, *, timeout: float = 5.0) -> bytes:
    c = Connection("127.0.0.1", port, connect_timeout=5.0, max_header_bytes=MAX_HEADER)
    c.connect()
    assert c.sock is not None
    c.sock.settimeout(timeout)
    try:
        return c.request("POST", "/api/v0/version", body=b"", headers={}).read()
    finally:
        c.close()


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("size", [
    b"-5",  # int(…, 16) takes a sign: a negative chunk left the body unbounded
    b"+5",
    b"0x5",  # …and a base prefix
    b"1_0",  # …and underscores
    b"\xd9\xa5",  # …and non-ASCII digits (here Arabic-Indic five, UTF-8)
])
def test_chunk_sizes_int_would_take_are_refused(server, size: bytes) -> None:
    s = server(CHUNKED + size + b"\r\nhello\r\n0\r\n\r\n")
    with pytest.raises(ProtocolError, match="chunk size"):
        _ask(s.port)


@pytest.mark.parametrize("value", ["\u00b2", "\u00b9\u00b2", "1\u00b3"])  # latin-1 superscripts: isdigit()
def test_content_length_with_non_ascii_digits_is_refused(server, value: str) -> None:
    s = server(b"HTTP/1.1 200 OK\r\nContent-Length: " + value.encode("latin-1") + b"\r\n\r\nhello")
    with pytest.raises(ProtocolError, match="Content-Length"):
        _ask(s.port)


def test_endless_1xx_answers_are_bounded(server) -> None:
    s = server(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" * 2000, hold=True)
    with pytest.raises(ProtocolError, match="too long"):
        _ask(s.port)


def test_endless_trailers_are_bounded(server) -> None:
    s = server(CHUNKED + b"0\r\n" + b"X-Trailer: y\r\n" * 2000, hold=True)
    with pytest.raises(ProtocolError, match="too long"):
        _ask(s.port)


def test_giant_chunk_that_breaks_off(server) -> None:
    s = server(CHUNKED + b"ffffffffffffffff\r\nabc")
    with pytest.raises(ProtocolError, match="broke off"):
        _ask(s.port)


@pytest.mark.parametrize("answer", [
    b"",  # accepts and says nothing
    b"HTTP/1.1 200 OK\r\n",  # a status line, then nothing
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",  # part of the body, then nothing
])
def test_mute_listener_times_out(server, answer: bytes) -> None:
    """The socket timeout the CLI sets after connecting ends the wait (TimeoutError: an OSError)."""
    s = server(answer, hold=True)
    with pytest.raises(TimeoutError):
        _ask(s.port, timeout=0.3)


@pytest.mark.parametrize("body", [
    b"not json",
    b"\xff\xfe{}",  # not UTF-8
    b"[" * 100_000 + b"]" * 100_000,  # nested past the parser's recursion limit
])
@pytest.mark.parametrize("how", ["json", "ndjson"])
def test_an_answer_that_is_not_json_is_an_api_error(server, body: bytes, how: str) -> None:
    """ApiClient (api/client.py) over this connection: a 200 answer whose body (or NDJSON line)
    is not JSON is the client's ApiError (one line from the CLI), not ValueError/RecursionError."""
    from jiaozi_node.api.client import ApiClient, ApiError

    s = server(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    client = ApiClient(f"http://127.0.0.1:{s.port}", timeout=5.0)
    try:
        with pytest.raises(ApiError, match="not JSON"):
            if how == "json":
                client.json("version")
            else:
                list(client.ndjson("version"))
    finally:
        client.close()
