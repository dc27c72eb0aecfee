"""The RPC API against hostile callers, over real sockets with real httpx requests: DNS-rebinding
Host names, cross-site Origin/Referer/browser POSTs, API.Authorizations secrets and scopes, and
the `jzfs` CLI driving a daemon whose API needs a secret."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp
from jiaozi_node.node import Node

AUTHS = {"admin": {"AuthSecret": "bearer:s3cret-admin", "AllowedPaths": ["/api/v0"]},
         "browser": {"AuthSecret": "basic:root:pw", "AllowedPaths": ["/api/v0"]},
         "reader": {"AuthSecret": "basic:alice:pw", "AllowedPaths": ["/api/v0/cat", "/api/v0/id"]}}


@pytest.fixture
def node(tmp_path: Path):  # type: ignore[no-untyped-def]
    n = Node.open(tmp_path / "repo")
    yield n
    n.close()


async def test_dns_rebinding_and_cross_site_requests_refused(serve, node: Node) -> None:
    host, port = await serve(RpcApp(ApiContext(node), listen_host="127.0.0.1"))
    base = f"http://{host}:{port}"
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.post("/api/v0/version")).status_code == 200
        for h in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.1:{port}"):
            assert (await http.post("/api/v0/version", headers={"Host": h})).status_code == 200, h
        # A page on rebind.evil.example whose name now resolves to 127.0.0.1: its requests carry
        # its own name as Host and as Origin ("same origin" for the browser).
        evil = f"rebind.evil.example:{port}"
        for headers in ({"Host": evil}, {"Host": evil, "Origin": f"http://{evil}"}):
            r = await http.post("/api/v0/id", headers=headers)
            assert r.status_code == 403 and "Host" in r.text
        refused = [
            {"Origin": "http://evil.example"},
            {"Origin": f"http://evil.example:{port}"},
            {"Origin": "null"},
            {"Referer": "http://evil.example/attack.html"},  # no Origin (old browsers, some forms)
            {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"},  # a browser POST with neither
        ]
        for headers in refused:
            r = await http.post("/api/v0/id", headers=headers)
            assert r.status_code == 403, headers
        for headers in ({"Origin": base}, {"Referer": f"{base}/webui/"},
                        {"Origin": f"http://localhost:{port}"}, {"User-Agent": "curl/8"}):
            assert (await http.post("/api/v0/version", headers=headers)).status_code == 200, headers
        assert (await http.get("/api/v0/version")).status_code == 405  # no GET: no <img> CSRF
        r = await http.get("/webui", headers={"Host": evil})  # the web UI is behind the same checks
        assert r.status_code == 403
        assert (await http.post("/api/v0/nope")).status_code == 404


async def test_authorizations(serve, node: Node) -> None:
    node.repo.set_config("API.Authorizations", AUTHS)
    host, port = await serve(RpcApp(ApiContext(node), listen_host="127.0.0.1"))
    basic = "Basic " + base64.b64encode(b"alice:pw").decode()
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-admi"},
                        {"Authorization": "bearer s3cret-admin"}, {"Authorization": "Basic " + "A" * 10_000}):
            r = await http.post("/api/v0/version", headers=headers)
            assert r.status_code == 403 and "API.Authorizations" in r.text, headers
        admin = {"Authorization": "Bearer s3cret-admin"}
        assert (await http.post("/api/v0/id", headers=admin)).status_code == 200
        assert (await http.post("/api/v0/pin/ls", headers=admin)).status_code == 200
        reader = {"Authorization": basic}
        assert (await http.post("/api/v0/version", headers=reader)).status_code == 200  # always
        assert (await http.post("/api/v0/id", headers=reader)).status_code == 200
        assert (await http.post("/api/v0/pin/ls", headers=reader)).status_code == 403  # not its scope
        # the web UI needs a scope allowing all of /api/v0; a browser gets a Basic challenge
        r = await http.get("/webui/")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert (await http.get("/webui/", headers=reader)).status_code == 401
        full_basic = "Basic " + base64.b64encode(b"root:pw").decode()
        assert (await http.get("/webui/", headers={"Authorization": full_basic})).status_code != 401
        # a valid secret does not lift the other checks
        r = await http.post("/api/v0/id", headers={**admin, "Origin": "http://evil.example"})
        assert r.status_code == 403


def test_malformed_authorizations_refuse_to_serve(node: Node) -> None:
    from jiaozi_node.errors import InvalidInput

    node.repo.set_config("API.Authorizations", {"a": {"AuthSecret": "magic:x"}})
    with pytest.raises(InvalidInput):
        RpcApp(ApiContext(node))


def test_cli_with_a_secret_protected_daemon(jzfs_daemon_factory, tmp_path: Path) -> None:
    """`jzfs` on the daemon's own repo reads the secret from its config; elsewhere it needs
    `--api-auth` or $JZFS_API_AUTH, and without one it says so (no traceback, no silent
    fallback to a local repo)."""
    d = jzfs_daemon_factory(config={"API.Authorizations": AUTHS})
    r = httpx.post(f"{d['api']}/api/v0/id")
    assert r.status_code == 403
    env = {k: v for k, v in d["env"].items() if k != "JZFS_API_AUTH"}

    def jzfs(*args: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args],
                              env={**env, **extra}, capture_output=True, timeout=60, cwd=tmp_path)

    src = tmp_path / "hello.txt"
    src.write_bytes(b"hello through a locked API\n")
    r = jzfs("add", "-Q", str(src))
    assert r.returncode == 0, r.stderr
    cid = r.stdout.decode().strip()
    assert jzfs("cat", cid).stdout == src.read_bytes()
    assert jzfs("swarm", "peers").returncode == 0

    only_api = tmp_path / "only-api"  # the daemon's address, not its config
    only_api.mkdir()
    shutil.copy(Path(d["repo"]) / "api", only_api / "api")
    r = jzfs("cat", cid, JZFS_PATH=str(only_api))
    assert r.returncode == 1 and b"refused" in r.stderr and b"--api-auth" in r.stderr
    assert b"Traceback" not in r.stderr
    r = jzfs("--api-auth", "bearer:s3cret-admin", "cat", cid, JZFS_PATH=str(only_api))
    assert r.returncode == 0 and r.stdout == src.read_bytes(), r.stderr
    r = jzfs("cat", cid, JZFS_PATH=str(only_api), JZFS_API_AUTH="basic:alice:pw")
    assert r.returncode == 0 and r.stdout == src.read_bytes(), r.stderr
    r = jzfs("--api-auth", "bearer:wrong", "cat", cid, JZFS_PATH=str(only_api))
    assert r.returncode == 1 and b"refused" in r.stderr
    assert not (only_api / "config").exists()
    assert os.path.exists(d["repo"] / "api")


async def test_malformed_bodies_are_clean_errors(serve, node: Node) -> None:
    """Garbage DAG-JSON/CBOR, 1000-deep JSON, garbage and lying CARs, broken multipart: each is a
    Kubo-shaped 4xx/5xx error (never a traceback-500 with nothing stored half-way), and the API
    keeps serving."""
    from jiaozi_node.car.writer import encode_header, encode_section
    from jiaozi_node.ipld.cid import CID as Cid

    host, port = await serve(RpcApp(ApiContext(node), listen_host="127.0.0.1"))
    before = set(node.blocks.cids())
    good = Cid.of(b"good")
    lying_car = encode_header([good]) + encode_section(good, b"not good")
    cases = [
        ("dag/put", {}, b"{not json"),
        ("dag/put", {}, b"[" * 1000 + b"]" * 1000),
        ("dag/put", {"input-codec": "dag-cbor"}, b"\xff\xfe\xfd"),
        ("dag/put", {"input-codec": "dag-cbor"}, b"\xa2\x61b\x01\x61a\x02"),  # keys out of order
        ("dag/put", {"input-codec": "dag-pb", "store-codec": "dag-pb"}, b"\x12\x05\x0a\x03abc"),
        ("dag/import", {}, b"\x00garbage"),
        ("dag/import", {}, lying_car),
        ("block/put", {"cid-codec": "nope"}, b"x"),
    ]
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as http:
        for command, params, body in cases:
            r = await http.post(f"/api/v0/{command}", params=params, files={"file": ("f", body)})
            if r.status_code == 200:  # dag/import reports per-root failures in its stream
                assert command == "dag/import" and ("Error" in r.text or "error" in r.text), (command, r.text)
            else:
                assert r.status_code in (400, 500) and r.json()["Type"] == "error", (command, r.text)
                assert "Traceback" not in r.text
        r = await http.post("/api/v0/dag/put", content=b"--x\r\nbroken",
                            headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code == 400
        assert (await http.post("/api/v0/version")).status_code == 200
    assert set(node.blocks.cids()) == before  # nothing stored from any of it
