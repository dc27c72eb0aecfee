"""api/client.py: daemon discovery, Kubo error bodies, streams."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jiaozi_node.api.client import ApiClient, ApiError, api_url
from jiaozi_node.errors import NotFound


def test_api_url() -> None:
    assert api_url("/ip4/127.0.0.1/tcp/5001") == "http://127.0.0.1:5001"
    assert api_url("/ip6/::1/tcp/5001") == "http://[::1]:5001"


def test_no_daemon_means_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        ApiClient.for_path(tmp_path)  # no api file
    (tmp_path / "api").write_text("/ip4/127.0.0.1/tcp/1")  # nobody listens on port 1
    with pytest.raises(NotFound):
        ApiClient.for_path(tmp_path)
    (tmp_path / "api").write_text("garbage")
    with pytest.raises(NotFound):
        ApiClient.for_path(tmp_path)


@pytest.fixture
def server() -> Iterator[str]:
    """A tiny stand-in daemon (stdlib http.server) answering like Kubo does."""
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            if self.path.startswith("/api/v0/version"):
                self._send(200, b'{"Version":"x"}\n')
            elif self.path.startswith("/api/v0/fail"):
                self._send(500, b'{"Message":"block was not found","Code":0,"Type":"error"}\n')
            elif self.path.startswith("/api/v0/lines"):
                self._send(200, b'{"a":1}\n{"a":2}\n{"Message":"broke","Code":0,"Type":"error"}\n')
            else:
                self._send(404, b"404 page not found\n")

        def _send(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"/ip4/127.0.0.1/tcp/{srv.server_address[1]}"
    srv.shutdown()


def test_client_against_server(server: str, tmp_path: Path) -> None:
    (tmp_path / "api").write_text(server)
    with ApiClient.for_path(tmp_path) as c:
        assert c.json("version") == {"Version": "x"}
        with pytest.raises(ApiError, match="block was not found"):
            c.json("fail")
        with pytest.raises(ApiError, match="404"):
            c.json("nope")
        got = []
        with pytest.raises(ApiError, match="broke"):
            for obj in c.ndjson("lines"):
                got.append(obj)
        assert got == [{"a": 1}, {"a": 2}]


def test_limits_are_passed_in(server: str, tmp_path: Path) -> None:
    from jiaozi_node.config import HttpLimits

    (tmp_path / "api").write_text(server)
    limits = HttpLimits(api_probe_timeout_s=0.5, client_timeout_s=1.5)
    with ApiClient.for_path(tmp_path, limits=limits) as c:
        assert c.limits is limits
        assert c._conn is not None and c._conn.timeout == 0.5  # the probe's connection is kept
    c = ApiClient(api_url(server), limits=limits, read_bytes=4)
    with c:
        assert list(c.stream("version")) == [b'{"Ve', b'rsio', b'n":"', b'x"}\n']  # 4 bytes a read
        c.close()
        c.json("version")
        assert c._conn is not None and c._conn.timeout == 1.5


def test_defaults_are_config_defaults() -> None:
    """client.DEFAULTS copies config.py's defaults (so a CLI start need not load config.py)."""
    from jiaozi_node.api.client import CONFIG_FILE, DEFAULTS
    from jiaozi_node.config import CONFIG_FILE as CONF
    from jiaozi_node.config import HTTP_LIMITS, IO_TUNING

    assert vars(DEFAULTS) == {"client_timeout_s": HTTP_LIMITS.client_timeout_s,
                              "api_probe_timeout_s": HTTP_LIMITS.api_probe_timeout_s,
                              "max_header_bytes": HTTP_LIMITS.max_header_bytes,
                              "read_bytes": IO_TUNING.read_bytes}
    assert CONFIG_FILE == CONF


def test_auth_header_reads_the_repo_config_like_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from jiaozi_node.api.access import AUTH_ENV, client_auth_header
    from jiaozi_node.api.client import auth_header

    monkeypatch.delenv(AUTH_ENV, raising=False)
    assert auth_header(tmp_path) is None  # no config at all
    for conf in ({"API": {}}, {"API": {"Authorizations": {"a": {"AuthSecret": "bearer:tok",
                                                                "AllowedPaths": ["/api/v0"]}}}},
                 {"API": {"\u0041uthorizations": {"a": {"AuthSecret": "bearer:x", "AllowedPaths": ["/api/v0"]}}}}):
        (tmp_path / "config").write_text(json.dumps(conf, ensure_ascii=True).replace("Authorizations", "\\u0041uthorizations", 1)
                                         if "x" in str(conf) else json.dumps(conf))
        assert auth_header(tmp_path) == client_auth_header(tmp_path)
    assert auth_header(tmp_path) == "Bearer x"  # spelled with a JSON escape, still found
    monkeypatch.setenv(AUTH_ENV, "bearer:env")
    assert auth_header(tmp_path) == "Bearer env"
