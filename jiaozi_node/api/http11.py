"""The CLI's HTTP/1.1 connection to its own daemon (used by api/client.py only).

    conn = Connection("127.0.0.1", 5001, connect_timeout=2.0, max_header_bytes=16384)
    resp = conn.request("POST", "/api/v0/version", body=b"", headers={})
    resp.status, resp.read()            # or resp.read1(n) / `for line in resp`, then resp.close()

Why not the standard library's `http.client`: it loads the `email` package to parse headers,
~20 ms of every daemon-routed `jzfs` command's start on this machine (the whole `jzfs pin add`
of a local block is ~0.1 s). This speaks the subset the RPC API needs: POST with a body of bytes
or a stream of chunks (chunked transfer coding), keep-alive, answers framed by Content-Length,
chunked coding or the end of the connection (RFC 9112 §6.3), 1xx answers skipped. The status
line and headers together are bounded by `max_header_bytes`, chunk-size lines and trailers
likewise. Anything malformed or cut short raises ProtocolError (an OSError); after it, or after
a response that was not read to its end, the connection is closed and the next request opens a
new one.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from typing import Any


class ProtocolError(OSError):
    """The daemon's answer is not the HTTP/1.1 this client speaks (or it broke off)."""


def _is_ip_literal(host: str) -> int | None:
    """The address family of an IP literal, else None (a name: resolved by getaddrinfo)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return family
        except OSError:
            continue
    return None


class Connection:
    """One keep-alive connection; `sock` is None until the first request (or `connect()`)."""

    def __init__(self, host: str, port: int, *, connect_timeout: float | None,
                 max_header_bytes: int) -> None:
        self.host, self.port = host, port
        self.timeout = connect_timeout  # bounds connecting; the caller sets the socket's timeout after
        self.max_header_bytes = max_header_bytes
        self.sock: socket.socket | None = None
        self._rfile: Any = None
        self._response: Response | None = None
        self._host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def connect(self) -> None:
        family = _is_ip_literal(self.host)
        if family is None:
            sock = socket.create_connection((self.host, self.port), self.timeout)
        else:  # no getaddrinfo: it would load the idna codec (~2 ms) for a numeric address
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect((self.host, self.port))
            except BaseException:
                sock.close()
                raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self._rfile = sock.makefile("rb")

    def close(self) -> None:
        if self._rfile is not None:
            self._rfile.close()
            self._rfile = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._response = None

    def request(self, method: str, url: str, *, body: bytes | Iterable[bytes],
                headers: dict[str, str]) -> Response:
        """Send the request; the response once its status line and headers have arrived."""
        if self._response is not None and not self._response.reusable():
            # the previous answer was not read to its end (its bytes are in the way) or the
            # daemon closes after it: a new connection, with the old one's read timeout
            timeout = self.sock.gettimeout() if self.sock is not None else self.timeout
            self.close()
            self.connect()
            assert self.sock is not None
            self.sock.settimeout(timeout)
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        head = [f"{method} {url} HTTP/1.1", f"Host: {self._host_header}", "Accept-Encoding: identity"]
        chunked = not isinstance(body, bytes)
        head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
        head += [f"{k}: {v}" for k, v in headers.items()]
        start = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        try:
            if not chunked:
                self.sock.sendall(start + body)  # type: ignore[operator]
            else:
                self.sock.sendall(start)
                for chunk in body:
                    if chunk:
                        self.sock.sendall(b"%x\r\n" % len(chunk))
                        self.sock.sendall(chunk)
                        self.sock.sendall(b"\r\n")
                self.sock.sendall(b"0\r\n\r\n")
            resp = Response(self, self._rfile, self.max_header_bytes)
        except BaseException:
            self.close()
            raise
        self._response = resp
        return resp


class Response:
    """One answer: `status`, `headers` (lower-case names), and its body read once, in order."""

    def __init__(self, conn: Connection, rfile: Any, max_header_bytes: int) -> None:
        self._conn = conn
        self._rfile = rfile
        self._max_header_bytes = max_header_bytes
        self._budget = max_header_bytes  # what the status line and headers may still take
        while True:  # 1xx answers (100 Continue, 103 Early Hints) come before the real one
            version, self.status = self._status_line()
            self.headers = self._header_block()
            if not 100 <= self.status < 200:
                break
        conn_tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        self._keep_alive = version == "HTTP/1.1" and "close" not in conn_tokens
        self._done = False
        self._chunked = False
        self._chunk_left = 0
        self._left: int | None = None  # bytes of a Content-Length body still to read
        te = self.headers.get("transfer-encoding", "").lower()
        if self.status in (204, 304):
            self._done = True
        elif te:
            if te.split(",")[-1].strip() != "chunked":
                raise ProtocolError(f"unsupported transfer coding {te!r}")
            self._chunked = True
        elif "content-length" in self.headers:
            values = {v.strip() for v in self.headers["content-length"].split(",")}
            if len(values) != 1 or not next(iter(values)).isascii() or not next(iter(values)).isdigit():
                raise ProtocolError("bad Content-Length")
            self._left = int(values.pop())
            self._done = self._left == 0
        else:
            self._keep_alive = False  # the body ends when the daemon closes the connection

    # ------------------------------------------------------------------ head

    def _line(self) -> bytes:
        line = self._rfile.readline(self._budget + 1)
        self._budget -= len(line)
        if self._budget < 0:
            raise ProtocolError("the answer's header lines are too long")
        if not line.endswith(b"\n"):
            raise ProtocolError("the daemon closed the connection" if not line else "truncated header line")
        return line.rstrip(b"\r\n")

    def _status_line(self) -> tuple[str, int]:
        parts = self._line().split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
            raise ProtocolError("not an HTTP/1.x status line")
        return parts[0].decode("latin-1"), int(parts[1])

    def _header_block(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        while line := self._line():
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise ProtocolError("malformed header line")
            key, val = name.decode("latin-1").lower(), value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {val}" if key in headers else val
        return headers

    # ------------------------------------------------------------------ body

    def reusable(self) -> bool:
        """Read to its end on a connection the daemon keeps open."""
        return self._done and self._keep_alive

    def read1(self, n: int) -> bytes:
        """Up to `n` bytes of the body (at most one read of the socket); b"" at its end."""
        if self._done:
            return b""
        if self._chunked:
            if self._chunk_left == 0:
                self._budget = self._max_header_bytes  # a chunk-size line, then maybe the trailers
                size = self._line().split(b";", 1)[0].strip()
                if not size or size.strip(b"0123456789abcdefABCDEF"):  # int() takes signs, 0x, _
                    raise ProtocolError("bad chunk size")
                self._chunk_left = int(size, 16)
                if self._chunk_left == 0:
                    self._header_block()  # trailers
                    self._done = True
                    return b""
            data = self._rfile.read1(min(n, self._chunk_left))
            if not data:
                raise ProtocolError("the answer broke off inside a chunk")
            self._chunk_left -= len(data)
            if self._chunk_left == 0 and self._rfile.read(2) != b"\r\n":
                raise ProtocolError("missing CRLF after a chunk")
            return data
        if self._left is not None:
            data = self._rfile.read1(min(n, self._left))
            if not data:
                raise ProtocolError(f"the answer broke off ({self._left} bytes missing)")
            self._left -= len(data)
            self._done = self._left == 0
            return data
        data = self._rfile.read1(n)
        self._done = not data
        return data

    def read(self) -> bytes:
        """The rest of the body."""
        out = []
        while chunk := self.read1(1 << 16):
            out.append(chunk)
        return b"".join(out)

    def __iter__(self) -> Iterator[bytes]:
        """The rest of the body, line by line (each with its b"\\n", the last maybe without)."""
        buf = b""
        while chunk := self.read1(1 << 16):
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield line + b"\n"
        if buf:
            yield buf

    def close(self) -> None:
        """Done with this answer: a connection whose answer was not read to its end is closed."""
        if not self.reusable() and self._conn._response is self:
            self._conn.close()
