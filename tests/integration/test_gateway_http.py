"""The gateway of a real `jzfs daemon` over real sockets: curl for headers and ranges, a raw socket
for hostile input, a client that hangs up mid-stream, and our gateway client fetching from it."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from jiaozi_node.gateway.client import GatewayFetcher
from jiaozi_node.ipld import CID, Block
from jiaozi_node.node import Node
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs import exporter
from jiaozi_node.unixfs.exporter_testing import DagBuilder

DATA = hashlib.shake_128(b"gateway-http").digest(3 * 1024 * 1024 + 7)


def populate(repo: Path) -> dict[str, CID]:
    dag = DagBuilder()
    big = dag.chunked(DATA, chunk=256 * 1024, width=4)
    hello = dag.raw(b"hello from jzfs\n")
    root = dag.directory({"big.bin": big, "hello.txt": hello, "web": dag.directory(
        {"index.html": dag.raw(b"<!DOCTYPE html><title>x</title>")})})
    with Node.open(repo) as node:
        node.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])
    return {"root": root, "big": big, "hello": hello}


@pytest.fixture
def served(jzfs_daemon: dict) -> tuple[dict, dict[str, CID]]:
    return jzfs_daemon, populate(jzfs_daemon["repo"])


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-s", "--noproxy", "*", *args], capture_output=True, timeout=30)


def test_curl_headers_and_ranges(served: tuple[dict, dict[str, CID]]) -> None:
    d, c = served
    gw = d["gateway"]
    r = curl("-D", "-", "-o", "/dev/null", f"{gw}/ipfs/{c['root']}/hello.txt")
    head = r.stdout.decode().lower()
    assert head.startswith("http/1.1 200")
    assert "cache-control: public, max-age=29030400, immutable" in head
    assert f'etag: "{c["hello"]}"'.lower() in head
    assert f"x-ipfs-path: /ipfs/{c['root']}/hello.txt".lower() in head
    assert "content-type: text/plain; charset=utf-8" in head
    r = curl("-r", "1000-1999", f"{gw}/ipfs/{c['root']}/big.bin")
    assert r.stdout == DATA[1000:2000]
    r = curl("-D", "-", "-o", "/dev/null", "-r", "1000-1999", f"{gw}/ipfs/{c['big']}")
    assert f"content-range: bytes 1000-1999/{len(DATA)}" in r.stdout.decode().lower()
    r = curl(f"{gw}/ipfs/{c['big']}")
    assert hashlib.sha256(r.stdout).digest() == hashlib.sha256(DATA).digest()
    r = curl("-I", f"{gw}/ipfs/{c['big']}?format=car")
    assert "application/vnd.ipld.car; version=1; order=dfs; dups=n" in r.stdout.decode()
    r = curl("-w", "%{http_code}", "-o", "/dev/null", f"{gw}/ipfs/{c['root']}/nothing-here")
    assert r.stdout == b"404"
    r = curl("-w", "%{http_code}", "-o", "/dev/null", "-H", "Accept: application/vnd.ipld.dag-json",
             f"{gw}/ipfs/{c['root']}")
    assert r.stdout == b"406"
    r = curl("-L", f"{gw}/ipfs/{c['root']}/web")
    assert r.stdout.startswith(b"<!DOCTYPE html>")


def test_hostile_requests_do_not_stop_the_server(served: tuple[dict, dict[str, CID]]) -> None:
    d, c = served
    host, port = d["gateway"][len("http://"):].split(":")
    # an enormous header block: refused, connection closed
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /ipfs/x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        try:
            reply = s.recv(100)
        except ConnectionResetError:
            reply = b""
        assert not reply.startswith(b"HTTP/1.1 200")
    # a client that hangs up in the middle of a big body
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(f"GET /ipfs/{c['big']} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
    # malformed request lines and paths
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"BLAH\r\n\r\n")
        s.recv(100)
    for bad, code in ((f"/ipfs/{c['root']}/../../etc/passwd", 400), ("/ipfs/bafyNOPE", 400)):
        r = httpx.get(d["gateway"] + bad)
        assert r.status_code == code
    # still serving
    r = httpx.get(f"{d['gateway']}/ipfs/{c['hello']}")
    assert r.status_code == 200 and r.content == b"hello from jzfs\n"
    assert d["proc"].poll() is None


def test_gateway_client_fetches_from_our_gateway(served: tuple[dict, dict[str, CID]]) -> None:
    d, c = served
    store = MemoryBlockstore()
    with GatewayFetcher([d["gateway"]]) as f:
        stats = f.fetch_dag(c["root"], store)
    assert stats.requests == 1
    cid = next(e.cid for e in exporter.list_dir(store, c["root"]) if e.name == "big.bin")
    assert b"".join(exporter.read_file(store, cid)) == DATA


def test_cli_routes_through_daemon(served: tuple[dict, dict[str, CID]], tmp_path: Path) -> None:
    """A directory holding only the daemon's `api` file: commands can only succeed through the
    daemon's RPC API (the repo itself is not there)."""
    import os
    import sys

    d, c = served
    only_api = tmp_path / "only-api"
    only_api.mkdir()
    shutil.copy(Path(d["repo"]) / "api", only_api / "api")
    env = {**os.environ, "JZFS_PATH": str(only_api)}

    def jzfs(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                              capture_output=True, timeout=60, cwd=tmp_path)

    r = jzfs("cat", f"/ipfs/{c['root']}/big.bin")
    assert r.returncode == 0, r.stderr
    assert r.stdout == DATA
    r = jzfs("ls", str(c["root"]))
    assert r.returncode == 0 and b"big.bin" in r.stdout and b"web/" in r.stdout
    r = jzfs("get", str(c["root"]), "-o", "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "big.bin").read_bytes() == DATA
    assert (tmp_path / "out" / "web" / "index.html").exists()
    r = jzfs("cat", f"{c['root']}/missing")
    assert r.returncode == 1 and b"Error:" in r.stderr and b"Traceback" not in r.stderr
    assert not (only_api / "config").exists()  # the CLI never opened a repo of its own


def test_cli_get_cat_with_gateway_flag(served: tuple[dict, dict[str, CID]], tmp_path: Path) -> None:
    """`jzfs cat/get --gateway` in a fresh repo: a lying gateway (answers every request with a
    CAR whose block bytes are wrong) is dropped, the real one is used, nothing bad is stored."""
    import http.server
    import os
    import sys
    import threading

    from jiaozi_node.car.writer import encode_header, encode_section

    d, c = served

    class Liar(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = encode_header([c["root"]]) + encode_section(c["root"], b"not the real block")
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.ipld.car; version=1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    liar = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    threading.Thread(target=liar.serve_forever, daemon=True).start()
    try:
        env = {**os.environ, "JZFS_PATH": str(tmp_path / "fresh")}
        liar_url = f"http://127.0.0.1:{liar.server_address[1]}"

        def jzfs(*args: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env,
                                  capture_output=True, timeout=60, cwd=tmp_path)

        r = jzfs("cat", f"{c['root']}/big.bin", "--gateway", liar_url, "--gateway", d["gateway"])
        assert r.returncode == 0, r.stderr
        assert r.stdout == DATA
        r = jzfs("get", str(c["root"]), "-o", "tree", "--gateway", liar_url, "--gateway", d["gateway"])
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "tree" / "hello.txt").read_bytes() == b"hello from jzfs\n"
        r = jzfs("cat", str(CID.of(b"nobody has this")), "--gateway", liar_url)
        assert r.returncode == 1 and b"Error:" in r.stderr
        with Node.open(tmp_path / "fresh") as node:
            for cid in node.blocks.cids():
                node.blocks.get(cid)  # verifies on read: nothing unverified was stored
    finally:
        liar.shutdown()


def test_daemon_fetches_through_configured_gateway(jzfs_daemon_factory, tmp_path: Path) -> None:
    """Daemon B holds nothing; its config `Gateway.Fetch` names daemon A's gateway. B's own gateway
    and RPC API then serve A's content: the retrieval path fetched it from A's gateway, verified
    every block and stored it (B can serve it after A is gone)."""
    import os
    import signal

    a = jzfs_daemon_factory("a")
    c = populate(a["repo"])
    b = jzfs_daemon_factory("b", {"Gateway.Fetch": [a["gateway"]]})
    r = httpx.get(f"{b['gateway']}/ipfs/{c['root']}/big.bin", timeout=60)
    assert r.status_code == 200 and r.content == DATA
    r = httpx.post(f"{b['api']}/api/v0/cat", params={"arg": f"{c['root']}/hello.txt"}, timeout=60)
    assert r.content == b"hello from jzfs\n"
    os.kill(a["proc"].pid, signal.SIGTERM)
    a["proc"].wait(timeout=15)
    r = httpx.get(f"{b['gateway']}/ipfs/{c['big']}", headers={"Range": "bytes=0-99"}, timeout=60)
    assert r.status_code == 206 and r.content == DATA[:100]


def test_gateway_fetches_from_peers_over_bitswap(jzfs_daemon_factory) -> None:
    """Gateway.FetchFromPeers (default true): daemon B's gateway serves content only daemon A
    holds, fetched over bitswap after `swarm/connect` through B's RPC API."""
    a = jzfs_daemon_factory("a")
    c = populate(a["repo"])
    b = jzfs_daemon_factory("b")
    addrs = httpx.post(f"{a['api']}/api/v0/id", timeout=30).json()["Addresses"]
    r = httpx.post(f"{b['api']}/api/v0/swarm/connect", params={"arg": addrs[0]}, timeout=30)
    assert r.status_code == 200, r.text
    r = httpx.get(f"{b['gateway']}/ipfs/{c['root']}/big.bin", timeout=120)
    assert r.status_code == 200 and r.content == DATA
    peers = httpx.post(f"{b['api']}/api/v0/swarm/peers", timeout=30).json()["Peers"]
    assert len(peers) == 1


def test_bitswap_and_lying_gateway_raced_in_one_path(jzfs_daemon_factory) -> None:
    """Daemon B has two sources in its ONE retrieval path: a Gateway.Fetch gateway that answers
    every block with wrong bytes, and daemon A over bitswap. B's gateway serves A's file intact and
    every block B stored verifies: the lying source never wins the race."""
    import http.server
    import threading

    class Liar(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b"definitely not the block you asked for"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    liar = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    threading.Thread(target=liar.serve_forever, daemon=True).start()
    try:
        a = jzfs_daemon_factory("a")
        c = populate(a["repo"])
        b = jzfs_daemon_factory("b", {"Gateway.Fetch": [f"http://127.0.0.1:{liar.server_address[1]}"]})
        addrs = httpx.post(f"{a['api']}/api/v0/id", timeout=30).json()["Addresses"]
        assert httpx.post(f"{b['api']}/api/v0/swarm/connect", params={"arg": addrs[0]},
                          timeout=30).status_code == 200
        r = httpx.get(f"{b['gateway']}/ipfs/{c['root']}/big.bin", timeout=120)
        assert r.status_code == 200 and r.content == DATA
        r = httpx.post(f"{b['api']}/api/v0/pin/add", params={"arg": str(c["root"])}, timeout=120)
        assert r.status_code == 200  # the whole DAG is now local in B, every block verified
    finally:
        liar.shutdown()


def test_api_port_bounds_headers_too(jzfs_daemon: dict) -> None:
    host, port = jzfs_daemon["api"][len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /api/v0/version HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        try:
            reply = s.recv(100)
        except ConnectionResetError:
            reply = b""
        assert not reply.startswith(b"HTTP/1.1 200")
    assert httpx.post(f"{jzfs_daemon['api']}/api/v0/version", timeout=10).status_code == 200
