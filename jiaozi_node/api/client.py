"""Client for a running daemon's RPC API, used by the CLI (as `ipfs` talks to its daemon).

    client = ApiClient.for_repo(repo)        # NotFound when no daemon answers
    client.json("id")                        # decoded JSON
    for chunk in client.stream("cat", [path]): ...
    for obj in client.ndjson("add", params={...}, files=...): ...

Discovery like Kubo: `$JZFS_PATH/api` holds the API multiaddr while a daemon runs; the client
checks that the address answers (`/api/v0/version`, short timeout) before using it, so a file
left behind by a crashed daemon means "no daemon", not a hang. Kubo-shaped error bodies
(`{"Message", "Code", "Type": "error"}`) become `ApiError` with the daemon's message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from ..errors import InvalidInput, JzfsError, NotFound
from ..gateway.http_addr import multiaddr_to_host_port
from .http11 import Connection, Response

if TYPE_CHECKING:
    from ..config import HttpLimits

API_FILE = "api"  # $JZFS_PATH/api, written by `jzfs daemon` (see repo.Repo.api_file)
CONFIG_FILE = "config"  # config.CONFIG_FILE
# The client's defaults: HttpLimits' client_timeout_s, api_probe_timeout_s and max_header_bytes
# and IoTuning.read_bytes, whose reasons config.py gives. They are copied here, not imported:
# every daemon-routed `jzfs` command starts with this module before it has a Node, and loading
# config.py (its ~20 dataclasses) cost ~30 ms of each start. tests/unit/api/test_client.py
# checks that each equals config.py's default.
DEFAULTS = SimpleNamespace(client_timeout_s=30.0, api_probe_timeout_s=2.0, max_header_bytes=16 * 1024,
                           read_bytes=1024 * 1024)


class ApiError(JzfsError):
    """The daemon answered with an error (its message is ours)."""


def api_url(multiaddr: str) -> str:
    host, port = multiaddr_to_host_port(multiaddr)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class ApiClient:
    """One keep-alive HTTP/1.1 connection to the daemon (api/http11.py): every `jzfs` command
    that talks to a daemon loads this, and httpx (with httpcore, anyio and trio behind it) cost
    ~0.15-0.2 s of start-up per command, the standard library's `http.client` ~20 ms.

    `limits` is an HttpLimits (client_timeout_s: connecting; api_probe_timeout_s: for_path's
    probe; max_header_bytes: an answer's head); None means HttpLimits' defaults (DEFAULTS)."""

    def __init__(self, base_url: str, *, timeout: float | None = None,
                 authorization: str | None = None, limits: HttpLimits | None = None,
                 read_bytes: int = DEFAULTS.read_bytes) -> None:
        self.base_url = base_url.rstrip("/")
        self.limits: Any = limits if limits is not None else DEFAULTS
        self.read_bytes = read_bytes  # IoTuning.read_bytes: per read of a streamed answer or a sent file
        # Sent with every request when the daemon sets API.Authorizations (api/access.py).
        self._authorization = authorization
        u = urlsplit(self.base_url)
        self._host, self._port = u.hostname or "127.0.0.1", u.port or 80
        # No read timeout by default: `cat` of a big file or `add` may legitimately take long;
        # the daemon applies its own fetch timeouts. Connecting is bounded.
        self._timeout = timeout
        self._conn: Connection | None = None

    @classmethod
    def for_repo(cls, repo: Any, *, limits: HttpLimits | None = None) -> ApiClient:
        """The client of the daemon running on `repo`; NotFound if none answers."""
        return cls.for_path(repo.path, limits=limits)

    @classmethod
    def for_path(cls, repo_path: Path | str, *, limits: HttpLimits | None = None) -> ApiClient:
        """The client of the daemon running on the repo at `repo_path`; NotFound if none answers.

        `limits` defaults to HttpLimits' defaults: the CLI asks before it opens any repo (it
        has no Node yet, and opening one would cost every daemon command its start-up)."""
        api_file = Path(repo_path) / API_FILE
        try:
            addr = api_file.read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no jzfs daemon running on {repo_path}") from None
        try:
            url = api_url(addr)
        except InvalidInput:
            raise NotFound(f"unusable API address {addr!r} in {api_file}") from None
        client = cls(url, authorization=auth_header(repo_path), limits=limits)
        probe_s = client.limits.api_probe_timeout_s
        try:  # the probe's connection is kept for the command's own requests
            client._connect(probe_s)
            resp = client._request("version", [], None, timeout=probe_s)
            body = resp.read()
            if resp.status == 403:  # a daemon is there, but will not take our commands
                client.close()
                raise ApiError(f"the daemon API at {addr} refused this client: "
                               f"{body.decode(errors='replace').strip()[:300]} (pass the secret "
                               "with `jzfs --api-auth bearer:TOKEN` or $JZFS_API_AUTH)")
            if resp.status != 200:
                raise OSError(f"HTTP {resp.status}")
        except OSError:
            client.close()
            raise NotFound(f"the daemon API at {addr} does not answer") from None
        return client

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests

    def _params(self, args: Sequence[str], params: dict[str, Any] | None) -> list[tuple[str, str]]:
        out = [("arg", a) for a in args]
        for k, v in (params or {}).items():
            if v is None:
                continue
            out.append((k, ("true" if v else "false") if isinstance(v, bool) else str(v)))
        return out

    def _connect(self, timeout: float) -> Connection:
        if self._conn is None:
            conn = Connection(self._host, self._port, connect_timeout=timeout,
                              max_header_bytes=self.limits.max_header_bytes)
            conn.connect()
        else:
            conn = self._conn
            if conn.sock is None:  # closed after an answer that was not read to its end
                conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self._timeout)
        self._conn = conn
        return conn

    def _request(self, command: str, args: Sequence[str], params: dict[str, Any] | None, *,
                 content: Iterable[bytes] | bytes | None = None,
                 headers: dict[str, str] | None = None,
                 timeout: float | None = None) -> Response:
        conn = self._connect(self.limits.client_timeout_s)
        if timeout is not None and conn.sock is not None:
            conn.sock.settimeout(timeout)
        query = urlencode(self._params(args, params))
        url = f"/api/v0/{command}" + (f"?{query}" if query else "")
        hdrs = dict(headers or {})
        if self._authorization:
            hdrs["Authorization"] = self._authorization
        # a stream of chunks goes with chunked transfer coding, never all in memory
        resp = conn.request("POST", url, body=content or b"", headers=hdrs)
        if conn.sock is not None:
            conn.sock.settimeout(self._timeout)
        return resp

    def _raise(self, resp: Response) -> None:
        text = resp.read().decode(errors="replace")
        try:
            body = json.loads(text)
            msg = body.get("Message") if isinstance(body, dict) else None
        except ValueError:
            msg = None
        raise ApiError(msg or f"daemon API error: HTTP {resp.status} {text.strip()[:200]}")

    def _send(self, command: str, args: Sequence[str], params: dict[str, Any] | None,
              **kw: Any) -> Response:
        try:
            resp = self._request(command, args, params, **kw)
        except OSError as exc:
            self.close()
            raise ApiError(f"cannot reach the daemon at {self.base_url}: {exc}") from None
        if resp.status != 200:
            try:
                self._raise(resp)
            finally:
                resp.close()
        return resp

    def json(self, command: str, args: Sequence[str] = (), params: dict[str, Any] | None = None,
             **kw: Any) -> Any:
        resp = self._send(command, args, params, **kw)
        try:
            return json.loads(resp.read())
        except OSError as exc:
            self.close()
            raise ApiError(f"the daemon answer broke off: {exc}") from None
        except (ValueError, RecursionError):  # not JSON (or nested past the parser)
            raise ApiError(f"the answer to {command} is not JSON") from None
        finally:
            resp.close()

    def ndjson(self, command: str, args: Sequence[str] = (), params: dict[str, Any] | None = None,
               **kw: Any) -> Iterator[Any]:
        resp = self._send(command, args, params, **kw)
        try:
            for line in resp:
                if line.strip():
                    obj = json.loads(line)
                    if isinstance(obj, dict) and obj.get("Type") == "error" and "Message" in obj:
                        raise ApiError(obj["Message"])
                    yield obj
        except OSError as exc:
            self.close()
            raise ApiError(f"the daemon stream broke off: {exc}") from None
        except (ValueError, RecursionError):  # not JSON (or nested past the parser)
            self.close()
            raise ApiError(f"a line of the answer to {command} is not JSON") from None
        finally:
            resp.close()

    def stream(self, command: str, args: Sequence[str] = (), params: dict[str, Any] | None = None,
               **kw: Any) -> Iterator[bytes]:
        resp = self._send(command, args, params, **kw)
        try:
            while chunk := resp.read1(self.read_bytes):
                yield chunk
        except OSError as exc:
            self.close()
            raise ApiError(f"the daemon stream broke off (incomplete output): {exc}") from None
        finally:
            resp.close()


def auth_header(repo_path: Path | str) -> str | None:
    """api/access.client_auth_header, without loading api/access.py (its parsers, ~5 ms) when
    neither `$JZFS_API_AUTH` nor the repo's config names a secret: the usual local daemon."""
    if not os.environ.get("JZFS_API_AUTH"):  # access.AUTH_ENV
        try:
            raw = (Path(repo_path) / CONFIG_FILE).read_bytes()
        except OSError:
            return None
        if b"Authorizations" not in raw and b"\\u" not in raw:  # (a JSON escape could spell it)
            return None
    from .access import client_auth_header

    return client_auth_header(repo_path)


def multipart_body(parts: Iterable[tuple[str, str, Iterable[bytes]]], boundary: str) -> Iterator[bytes]:
    """Kubo's multipart request body: (percent-encoded file path, content type, data chunks)."""
    for name, ctype, chunks in parts:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n").encode()
        yield from chunks
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def multipart_request(parts: Iterable[tuple[str, str, Iterable[bytes]]]) -> dict[str, Any]:
    """Keyword arguments of `ApiClient.json/ndjson/stream` that send `parts` as Kubo's multipart
    body (streamed, with a fresh boundary)."""
    import secrets

    boundary = "jzfs-" + secrets.token_hex(12)
    return {"content": multipart_body(parts, boundary),
            "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


def ls_entries(client: ApiClient, path: str, *, resolve_type: bool = True) -> list[Any]:
    """`ls` through the daemon as exporter Entry values (so the CLI prints them the same way)."""
    from ..ipld.cid import CID
    from ..unixfs.exporter import KUBO_TYPES, Entry

    names = {v: k for k, v in KUBO_TYPES.items()}
    out = client.json("ls", [path], {"resolve-type": resolve_type})
    links = out["Objects"][0]["Links"] if out.get("Objects") else []
    return [Entry(lk["Name"], CID.decode(lk["Hash"]), int(lk["Size"]), names.get(lk["Type"], "unknown"))
            for lk in links]
