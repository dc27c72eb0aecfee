"""api/access.py: Host (DNS rebinding), API.Authorizations, Origin/Referer/User-Agent rules."""

from __future__ import annotations

import base64
import json

import pytest

from jiaozi_node.api.access import (
    AUTH_DENIED,
    ApiAccess,
    client_auth_header,
    convert_auth_secret,
    host_name,
    parse_authorizations,
    pick_secret,
)
from jiaozi_node.errors import InvalidInput

SERVER = ("127.0.0.1", 5001)


def cfg(values: dict) -> object:
    return lambda key, default: values.get(key, default)


def test_convert_auth_secret_as_kubo() -> None:
    assert convert_auth_secret("bearer:tok") == "Bearer tok"
    assert convert_auth_secret("tok") == "Bearer tok"
    assert convert_auth_secret("basic:user:pass") == "Basic " + base64.b64encode(b"user:pass").decode()
    assert convert_auth_secret("basic:dXNlcjpwYXNz") == "Basic dXNlcjpwYXNz"
    assert convert_auth_secret("digest:x") == ""
    assert convert_auth_secret("") == ""


def test_parse_authorizations_refuses_malformed_config() -> None:
    assert parse_authorizations(None) == ()
    assert parse_authorizations({}) == ()
    for bad in ([], {"a": "bearer:x"}, {"a": {"AllowedPaths": []}},
                {"a": {"AuthSecret": "bearer:x", "AllowedPaths": "/api/v0"}},
                {"a": {"AuthSecret": "digest:x"}}):
        with pytest.raises(InvalidInput):
            parse_authorizations(bad)


@pytest.mark.parametrize("host,ok", [
    ("127.0.0.1:5001", True), ("localhost:5001", True), ("LOCALHOST.", True), ("[::1]:5001", True),
    ("127.9.9.9", True), ("evil.example:5001", False), ("127.0.0.1.evil.example", False),
    ("10.1.2.3:5001", False), ("", False), ("localhost.evil.example", False),
])
def test_host_check(host: str, ok: bool) -> None:
    access = ApiAccess.from_config(cfg({}), listen_host="127.0.0.1")
    assert (access.check("POST", "/api/v0/id", {"host": host}, SERVER) is None) is ok


def test_host_check_listen_address_and_allowed_hosts() -> None:
    access = ApiAccess.from_config(cfg({"API.AllowedHosts": ["node.lan"]}), listen_host="0.0.0.0")
    assert access.host_ok("node.lan:5001", "192.168.1.5")
    assert access.host_ok("192.168.1.5:5001", "192.168.1.5")  # the address it arrived on
    assert not access.host_ok("rebind.evil.example:5001", "192.168.1.5")
    assert ApiAccess.from_config(cfg({"API.AllowedHosts": ["*"]})).host_ok("any.name", None)
    assert ApiAccess().host_ok(None, None)  # HTTP/1.0 without Host
    assert host_name("[::1]:80") == "::1" and host_name("Example.COM.:80") == "example.com"


def test_authorizations() -> None:
    access = ApiAccess.from_config(cfg({"API.Authorizations": {
        "admin": {"AuthSecret": "bearer:root-token", "AllowedPaths": ["/api/v0"]},
        "reader": {"AuthSecret": "basic:alice:pw", "AllowedPaths": ["/api/v0/cat", "/api/v0/ls"]},
    }}))
    h = {"host": "127.0.0.1:5001"}
    basic = "Basic " + base64.b64encode(b"alice:pw").decode()
    assert access.check("POST", "/api/v0/id", h, SERVER) == AUTH_DENIED
    assert access.check("POST", "/api/v0/id", {**h, "authorization": "Bearer nope"}, SERVER) == AUTH_DENIED
    assert access.check("POST", "/api/v0/id", {**h, "authorization": "Bearer root-token"}, SERVER) is None
    assert access.check("POST", "/api/v0/cat", {**h, "authorization": basic}, SERVER) is None
    assert access.check("POST", "/api/v0/version", {**h, "authorization": basic}, SERVER) is None
    assert access.check("POST", "/api/v0/pin/add", {**h, "authorization": basic}, SERVER) == AUTH_DENIED
    assert access.check("POST", "/api/v0/version", h, SERVER) == AUTH_DENIED  # only with a secret


@pytest.mark.parametrize("headers,ok", [
    ({}, True),
    ({"origin": "http://127.0.0.1:5001"}, True),
    ({"origin": "https://localhost:5001"}, True),
    ({"origin": "http://127.0.0.1:5002"}, False),
    ({"origin": "http://evil.example"}, False),
    ({"origin": "null"}, False),
    ({"referer": "http://evil.example/page"}, False),
    ({"referer": "http://127.0.0.1:5001/webui/"}, True),
    ({"referer": "not a url"}, False),
    ({"user-agent": "Mozilla/5.0 (X11)"}, False),          # a browser POST with neither header
    ({"user-agent": "Mozilla/5.0 Electron/30"}, True),
    ({"user-agent": "curl/8.0"}, True),
    ({"user-agent": "Mozilla/5.0", "origin": "http://localhost:5001"}, True),
])
def test_cross_site_rules(headers: dict, ok: bool) -> None:
    access = ApiAccess.from_config(cfg({}))
    assert (access.check("POST", "/api/v0/id", {"host": "127.0.0.1:5001", **headers}, SERVER) is None) is ok


def test_configured_origins_replace_the_defaults() -> None:
    access = ApiAccess.from_config(cfg({"API.HTTPHeaders.Access-Control-Allow-Origin": ["https://app.example"]}))
    assert access.cross_site_ok("POST", {"origin": "https://app.example"}, 5001)
    assert access.cross_site_ok("POST", {"referer": "https://app.example/x"}, 5001)
    assert not access.cross_site_ok("POST", {"origin": "http://127.0.0.1:5001"}, 5001)
    assert ApiAccess.from_config(cfg({}), allowed_origins=["*"]).cross_site_ok(
        "POST", {"origin": "http://anything"}, 5001)


def test_client_side_secret(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("JZFS_API_AUTH", raising=False)
    assert client_auth_header(tmp_path) is None  # no config
    auths = {"ro": {"AuthSecret": "bearer:ro", "AllowedPaths": ["/api/v0/cat"]},
             "all": {"AuthSecret": "basic:u:p", "AllowedPaths": ["/api/v0"]}}
    assert pick_secret(auths) == "basic:u:p"
    assert pick_secret({"ro": auths["ro"]}) == "bearer:ro"
    (tmp_path / "config").write_text(json.dumps({"API": {"Authorizations": auths}}))
    assert client_auth_header(tmp_path) == convert_auth_secret("basic:u:p")
    monkeypatch.setenv("JZFS_API_AUTH", "bearer:given")
    assert client_auth_header(tmp_path) == "Bearer given"
    monkeypatch.setenv("JZFS_API_AUTH", "weird:x")
    with pytest.raises(InvalidInput):
        client_auth_header(tmp_path)


def test_webui_needs_a_full_scope() -> None:
    access = ApiAccess.from_config(cfg({"API.Authorizations": {
        "all": {"AuthSecret": "basic:admin:pw", "AllowedPaths": ["/api/v0"]},
        "cat": {"AuthSecret": "bearer:cat", "AllowedPaths": ["/api/v0/cat"]}}}))
    full = convert_auth_secret("basic:admin:pw")
    assert access.auth_ok("/webui", full) and access.auth_ok("/webui/tree/x", full)
    assert not access.auth_ok("/webui", "Bearer cat") and not access.auth_ok("/webui", None)
    assert not access.auth_ok("/webuix", full)
    assert access.basic_challenge("/webui/") and not access.basic_challenge("/api/v0/id")
