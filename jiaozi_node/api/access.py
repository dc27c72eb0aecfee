"""Who may drive the RPC API: Kubo's rules, as one pure module (no I/O, no clock).

Checked for every request, in this order (each refusal is a 403):

1. **Host** (DNS rebinding): the `Host` header must name a loopback address (`localhost`,
   127.0.0.0/8, ::1), the host the API was configured to listen on, the address the connection
   arrived on, or a name listed in config `API.AllowedHosts` (a jzfs addition; `["*"]` turns the
   check off). A web page whose DNS name was rebound to 127.0.0.1 sends its own name here.
   Kubo has no Host check of its own: it relies on step 3 alone; we do both.
2. **API.Authorizations** (Kubo's shape and semantics): when the map is non-empty, the request's
   `Authorization` header must equal one scope's `AuthSecret` (`bearer:TOKEN`, `basic:USER:PASS`,
   `basic:BASE64`, or a bare token meaning bearer) and the path must start with one of that
   scope's `AllowedPaths` (`["/api/v0"]` allows everything); `/api/v0/version` is allowed to every
   valid secret. An empty or absent map means no authorization, as in Kubo. The web UI
   (`/webui`, served by the API) needs a scope that allows all of `/api/v0` (or `/webui`); a
   browser asking for it without a secret gets 401 with a Basic challenge when a `basic:` secret
   exists, so the browser's own login prompt opens it.
3. **Origin / Referer / User-Agent** (cross-site requests, go-ipfs-cmds' rules): a request with
   an `Origin` is refused unless it is listed in config `API.HTTPHeaders.Access-Control-Allow-
   Origin` (`*` allows all) or, when that list is empty, is one of Kubo's defaults for the API's
   port (`http(s)://127.0.0.1:PORT`, `http(s)://[::1]:PORT`, `http(s)://localhost:PORT`). A
   `Referer` is checked the same way (as its scheme://host origin). A POST with neither, whose
   User-Agent starts with `Mozilla` (a browser that dropped both), is refused.

The CLI's side (`client_auth_header`): the secret given with `jzfs --api-auth SECRET` (Kubo's
flag) or `$JZFS_API_AUTH`, else the repo's own config (whoever can read `$JZFS_PATH/config` holds
the secrets anyway): the scope allowing all of `/api/v0`, else the first one.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import InvalidInput

if TYPE_CHECKING:
    from .. import user_config

AUTH_DENIED = ("jzfs RPC Access Denied: Please provide a valid authorization token as defined "
               "in the API.Authorizations configuration.")
FORBIDDEN = "403 - Forbidden"
VERSION_PATH = "/api/v0/version"
AUTH_ENV = "JZFS_API_AUTH"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_webui(path: str) -> bool:
    return path == "/webui" or path.startswith("/webui/")


def convert_auth_secret(secret: str) -> str:
    """An `AuthSecret` ("type:value") as the Authorization header value it stands for (Kubo's
    ConvertAuthSecret): "" for an unknown type."""
    if not secret:
        return ""
    kind, sep, value = secret.partition(":")
    if not sep:
        return "Bearer " + secret
    if kind == "basic":
        if ":" in value:
            return "Basic " + base64.b64encode(value.encode()).decode()
        return "Basic " + value
    if kind == "bearer":
        return "Bearer " + value
    return ""


@dataclass(frozen=True)
class AuthScope:
    name: str
    header: str  # the Authorization header value that matches
    allowed_paths: tuple[str, ...]


def parse_authorizations(value: Any) -> tuple[AuthScope, ...]:
    """config `API.Authorizations` as scopes; InvalidInput for a malformed map (the daemon then
    refuses to start rather than run an API open to all by mistake)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise InvalidInput("config API.Authorizations must be a map of name -> "
                           '{"AuthSecret": "bearer:TOKEN", "AllowedPaths": ["/api/v0"]}')
    scopes: list[AuthScope] = []
    for name, scope in value.items():
        if not isinstance(scope, Mapping) or not isinstance(scope.get("AuthSecret"), str):
            raise InvalidInput(f"config API.Authorizations.{name}: needs an AuthSecret string")
        paths = scope.get("AllowedPaths") or []
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise InvalidInput(f"config API.Authorizations.{name}.AllowedPaths must be a list of paths")
        header = convert_auth_secret(scope["AuthSecret"])
        if not header:
            raise InvalidInput(f"config API.Authorizations.{name}: unknown AuthSecret type "
                               "(use bearer:TOKEN or basic:USER:PASSWORD)")
        scopes.append(AuthScope(str(name), header, tuple(paths)))
    return tuple(scopes)


def host_name(host_header: str) -> str:
    """The host part of a Host header (`[::1]:5001` -> `::1`, `Example.com.:80` -> `example.com`)."""
    h = host_header.strip()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.lower().rstrip(".")


def _host_port(host_header: str | None) -> int | None:
    """The port of a Host header (only used when the server's own address is unknown)."""
    tail = (host_header or "").rpartition("]")[2] if "]" in (host_header or "") else (host_header or "")
    _, sep, port = tail.rpartition(":")
    return int(port) if sep and port.isdigit() else None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class ApiAccess:
    """The access rules of one API server (see the module docstring)."""

    scopes: tuple[AuthScope, ...] = ()
    allowed_origins: frozenset[str] = frozenset()  # empty: Kubo's localhost defaults
    allowed_hosts: frozenset[str] = frozenset()
    listen_host: str | None = None  # the configured API address's host

    @classmethod
    def from_settings(cls, api: user_config.Api, *, listen_host: str | None = None,
                      allowed_origins: list[str] | None = None) -> ApiAccess:
        """From the typed `API` section (`Node.settings.api`; types checked when parsed)."""
        origins = list(api.allowed_origins or ()) if allowed_origins is None else allowed_origins
        return cls(parse_authorizations(api.authorizations), frozenset(map(str, origins)),
                   frozenset(host_name(h) if h != "*" else "*" for h in api.allowed_hosts), listen_host)

    @classmethod
    def from_config(cls, get: Callable[[str, Any], Any], *, listen_host: str | None = None,
                    allowed_origins: list[str] | None = None) -> ApiAccess:
        """From a repo's `get_config_default`."""
        if allowed_origins is None:
            allowed_origins = get("API.HTTPHeaders.Access-Control-Allow-Origin", None) or []
        hosts = get("API.AllowedHosts", None) or []
        if not isinstance(allowed_origins, list) or not isinstance(hosts, list):
            raise InvalidInput("config API.HTTPHeaders.Access-Control-Allow-Origin and "
                               "API.AllowedHosts must be lists")
        return cls(parse_authorizations(get("API.Authorizations", None)),
                   frozenset(map(str, allowed_origins)),
                   frozenset(host_name(str(h)) if h != "*" else "*" for h in hosts), listen_host)

    # ---------------------------------------------------------------- the checks

    def host_ok(self, host_header: str | None, local_addr: str | None) -> bool:
        if host_header is None or "*" in self.allowed_hosts:
            return True  # HTTP/1.0 without Host: nothing a browser would send
        name = host_name(host_header)
        if name in _LOOPBACK_NAMES or name in self.allowed_hosts:
            return True
        ip = _ip(name)
        if ip is None:
            return self.listen_host is not None and name == self.listen_host.lower()
        if ip.is_loopback:
            return True
        return any(a is not None and _ip(a) == ip for a in (self.listen_host, local_addr))

    def auth_ok(self, path: str, authorization: str | None) -> bool:
        if not self.scopes:
            return True
        given = (authorization or "").encode()
        for scope in self.scopes:
            if hmac.compare_digest(scope.header.encode(), given):
                return self._scope_allows(scope, path)
        return False

    @staticmethod
    def _scope_allows(scope: AuthScope, path: str) -> bool:
        if path == VERSION_PATH or any(path.startswith(p) for p in scope.allowed_paths):
            return True
        # The web UI acts with the whole API's power: a scope allowing all of /api/v0 opens it.
        return is_webui(path) and any("/api/v0/".startswith(p) for p in scope.allowed_paths)

    def basic_challenge(self, path: str) -> bool:
        """Answer 401 + `WWW-Authenticate: Basic` (the browser asks for a user and password)
        instead of 403: a web UI page, when a basic secret could open it."""
        return is_webui(path) and any(s.header.startswith("Basic ") for s in self.scopes)

    def _origin_allowed(self, origin: str, port: int | None) -> bool:
        if "*" in self.allowed_origins or origin in self.allowed_origins:
            return True
        if self.allowed_origins or port is None:
            return False
        return origin in {f"{scheme}://{host}:{port}" for scheme in ("http", "https")
                          for host in ("127.0.0.1", "[::1]", "localhost")}

    def cross_site_ok(self, method: str, headers: Mapping[str, str], port: int | None) -> bool:
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, port):
            return False
        referer = headers.get("referer")
        if referer:
            try:
                u = urlsplit(referer)
            except ValueError:
                return False
            if not u.scheme or not u.netloc or not self._origin_allowed(f"{u.scheme}://{u.netloc}", port):
                return False
        if method == "POST" and origin is None and not referer:
            ua = headers.get("user-agent", "")
            return "Electron" in ua or not ua.startswith("Mozilla")
        return True

    def check(self, method: str, path: str, headers: Mapping[str, str],
              server: tuple[str, int] | None) -> str | None:
        """None when the request may go on; else the body of the 403 to answer."""
        local_addr, port = (server[0], server[1]) if server else (None, _host_port(headers.get("host")))
        if not self.host_ok(headers.get("host"), local_addr):
            return (f"{FORBIDDEN}: Host {headers.get('host', '')[:100]!r} is not allowed "
                    "(DNS rebinding protection; see API.AllowedHosts)")
        if not self.auth_ok(path, headers.get("authorization")):
            return AUTH_DENIED
        if not self.cross_site_ok(method, headers, port):
            return FORBIDDEN
        return None


# -------------------------------------------------------------------- the CLI's side


def pick_secret(authorizations: Any) -> str | None:
    """The AuthSecret the local CLI uses from its repo's own `API.Authorizations`: a scope that
    allows all of /api/v0, else the first one."""
    try:
        scopes = parse_authorizations(authorizations)
    except InvalidInput:
        return None
    if not scopes:
        return None
    full = [s for s in scopes if any("/api/v0/".startswith(p) for p in s.allowed_paths)]
    chosen = (full or list(scopes))[0]
    return next(v["AuthSecret"] for k, v in authorizations.items() if str(k) == chosen.name)


def client_auth_header(repo_path: Path | str | None) -> str | None:
    """The Authorization header the CLI sends to the daemon of `repo_path` (None: none)."""
    secret = os.environ.get(AUTH_ENV)
    if secret:
        header = convert_auth_secret(secret)
        if not header:
            raise InvalidInput("--api-auth: unknown secret type (use bearer:TOKEN or basic:USER:PASSWORD)")
        return header
    if repo_path is None:
        return None
    from ..config import CONFIG_FILE

    try:
        conf = json.loads((Path(repo_path) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    api = conf.get("API") if isinstance(conf, dict) else None
    secret = pick_secret(api.get("Authorizations") if isinstance(api, dict) else None)
    return convert_auth_secret(secret) if secret else None
