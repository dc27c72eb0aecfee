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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from ..config import HTTP_LIMITS
from ..errors import InvalidInput, JzfsError, NotFound
from ..gateway.http_common import multiaddr_to_host_port

API_FILE = "api"  # $JZFS_PATH/api, written by `jzfs daemon` (see repo.Repo.api_file)


class ApiError(JzfsError):
    """The daemon answered with an error (its message is ours)."""


def api_url(multiaddr: str) -> str:
    host, port = multiaddr_to_host_port(multiaddr)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class ApiClient:
    def __init__(self, base_url: str, *, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        # No read timeout by default: `cat` of a big file or `add` may legitimately take long;
        # the daemon applies its own fetch timeouts.
        self._http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(
            timeout, connect=HTTP_LIMITS.client_timeout_s))

    @classmethod
    def for_repo(cls, repo: Any) -> ApiClient:
        """The client of the daemon running on `repo`; NotFound if none answers."""
        return cls.for_path(repo.path)

    @classmethod
    def for_path(cls, repo_path: Path) -> ApiClient:
        """The client of the daemon running on the repo at `repo_path`; NotFound if none answers."""
        api_file = Path(repo_path) / API_FILE
        try:
            addr = api_file.read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no jzfs daemon running on {repo_path}") from None
        try:
            url = api_url(addr)
        except InvalidInput:
            raise NotFound(f"unusable API address {addr!r} in {api_file}") from None
        try:
            r = httpx.post(f"{url}/api/v0/version", timeout=HTTP_LIMITS.api_probe_timeout_s)
            r.raise_for_status()
        except httpx.HTTPError:
            raise NotFound(f"the daemon API at {addr} does not answer") from None
        return cls(url)

    def close(self) -> None:
        self._http.close()

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

    def _raise(self, resp: httpx.Response) -> None:
        resp.read()
        try:
            body = resp.json()
            msg = body.get("Message") if isinstance(body, dict) else None
        except ValueError:
            msg = None
        raise ApiError(msg or f"daemon API error: HTTP {resp.status_code} {resp.text.strip()[:200]}")

    def _send(self, command: str, args: Sequence[str], params: dict[str, Any] | None,
              **kw: Any) -> Any:
        req = self._http.build_request("POST", f"/api/v0/{command}",
                                       params=self._params(args, params), **kw)
        try:
            resp = self._http.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach the daemon at {self.base_url}: {exc}") from None
        if resp.status_code != 200:
            try:
                self._raise(resp)
            finally:
                resp.close()
        return resp

    def json(self, command: str, args: Sequence[str] = (), params: dict[str, Any] | None = None,
             **kw: Any) -> Any:
        resp = self._send(command, args, params, **kw)
        try:
            resp.read()
            return resp.json()
        finally:
            resp.close()

    def ndjson(self, command: str, args: Sequence[str] = (), params: dict[str, Any] | None = None,
               **kw: Any) -> Iterator[Any]:
        resp = self._send(command, args, params, **kw)
        try:
            for line in resp.iter_lines():
                if line.strip():
                    obj = json.loads(line)
                    if isinstance(obj, dict) and obj.get("Type") == "error" and "Message" in obj:
                        raise ApiError(obj["Message"])
                    yield obj
        except httpx.HTTPError as exc:
            raise ApiError(f"the daemon stream broke off: {exc}") from None
        finally:
            resp.close()

    def stream(self, command: str, args: Sequence[str] = (), params: dict[str, Any] | None = None,
               **kw: Any) -> Iterator[bytes]:
        resp = self._send(command, args, params, **kw)
        try:
            yield from resp.iter_bytes()
        except httpx.HTTPError as exc:
            raise ApiError(f"the daemon stream broke off (incomplete output): {exc}") from None
        finally:
            resp.close()


class _ChunkReader:
    """A read-only file object over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


def extract_tar(chunks: Iterator[bytes], dest: Path) -> None:
    """Extract a `get` tar stream so that its single top-level entry becomes `dest`.

    Uses tarfile's "data" filter (no absolute paths, no `..`, no links leaving the tree, no
    devices), into a temporary directory next to `dest` that is renamed at the end: an
    interrupted get leaves no half-written `dest`.
    """
    import shutil
    import tarfile
    import tempfile

    dest = Path(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent if str(dest.parent) else "."))
    try:
        with tarfile.open(fileobj=_ChunkReader(chunks), mode="r|") as tf:  # type: ignore[call-overload]
            tf.extractall(tmp, filter="data")
        tops = list(tmp.iterdir())
        if len(tops) != 1:
            raise ApiError(f"daemon sent a tar with {len(tops)} top-level entries, expected 1")
        tops[0].rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ls_entries(client: ApiClient, path: str, *, resolve_type: bool = True) -> list[Any]:
    """`ls` through the daemon as exporter Entry values (so the CLI prints them the same way)."""
    from ..ipld.cid import CID
    from ..unixfs.exporter import KUBO_TYPES, Entry

    names = {v: k for k, v in KUBO_TYPES.items()}
    out = client.json("ls", [path], {"resolve-type": resolve_type})
    links = out["Objects"][0]["Links"] if out.get("Objects") else []
    return [Entry(lk["Name"], CID.decode(lk["Hash"]), int(lk["Size"]), names.get(lk["Type"], "unknown"))
            for lk in links]
