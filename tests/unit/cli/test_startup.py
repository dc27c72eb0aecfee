"""Start-up cost of `jzfs`: what each command imports (the import graph, not a timing).

`jzfs --help`, `jzfs version` and `jzfs cid format` must start in < 150 ms (bench_commands.py
measures it); that holds only while they stay off the heavy packages below. Commands that do not
need the network never import py-libp2p; only the daemon and the network commands do.
Each command runs in a fresh interpreter; the modules it loaded are read after it returned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = """
import json, sys
from jiaozi_node.cli.main import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as f:
    json.dump(sorted(sys.modules), f)
"""
# Never at start-up of the quick commands: the event loop, the network stack, HTTP clients, the
# database drivers, numpy, the crypto library, the typed config (its dataclasses) and multiformats.
HEAVY = {"trio", "libp2p", "httpx", "httpcore", "anyio", "numpy", "sqlite3", "psycopg", "lmdb",
         "cryptography", "multiformats", "hypercorn", "jinja2", "tqdm"}
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def loaded(tmp_path: Path, *argv: str) -> set[str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "JZFS_PATH": str(tmp_path / "repo")}
    subprocess.run([sys.executable, "-c", DRIVER, str(out), *argv], env=env, check=True,
                   capture_output=True, timeout=120)
    return set(json.loads(out.read_text()))


@pytest.mark.parametrize("argv", [["--help"], ["version"], ["cid", "format", CID],
                                  ["cid", "format", "-v", "1", "-b", "base32", CID]])
def test_quick_commands_stay_off_heavy_packages(tmp_path: Path, argv: list[str]) -> None:
    mods = loaded(tmp_path, *argv)
    assert not {m.split(".")[0] for m in mods} & HEAVY, sorted({m.split(".")[0] for m in mods} & HEAVY)
    if argv[0] != "cid":
        assert "jiaozi_node.config" not in mods and "dataclasses" not in mods
    # only the typed command's module is imported (`--help` lists the others from a table)
    commands = {m for m in mods if m.startswith("jiaozi_node.cli.") and m.endswith(("_cmd", "_cmds"))}
    assert commands == {"--help": set(), "version": {"jiaozi_node.cli.repo_cmds"},
                        "cid": {"jiaozi_node.cli.cid_cmds"}}[argv[0]]
    assert "jiaozi_node.ipld.block" not in mods  # `ipld/__init__` loads its names lazily


def test_every_command_imports_only_its_own_module(tmp_path: Path) -> None:
    """`diff` brings the versioning modules only; `commit` also the module that extends it."""
    mods = loaded(tmp_path, "diff", "--help")
    commands = {m for m in mods if m.startswith("jiaozi_node.cli.") and m.endswith(("_cmd", "_cmds"))}
    assert commands == {"jiaozi_node.cli.version_cmds", "jiaozi_node.cli.version_sync_cmds"}
    assert "jiaozi_node.cli.dataset_name_cmds" in loaded(tmp_path, "commit", "--help")


def test_local_commands_never_import_the_network_stack(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"hello\n")
    assert loaded(tmp_path, "init")
    for argv in (["add", "-Q", str(f)], ["cat", "bafkreiab3xzfxp5jiubfcdxgpqbj2cbgyq6xfe6z5ilkpwcnbopjkefl5a"],
                 ["pin", "ls"], ["repo", "stat"], ["id"], ["ls", CID]):
        tops = {m.split(".")[0] for m in loaded(tmp_path, *argv)}
        assert not tops & {"libp2p", "httpx", "multiaddr"}, (argv, sorted(tops & {"libp2p", "httpx", "multiaddr"}))
        assert "trio" not in tops, argv  # (a new pin only queues its announcement in SQLite)
        if argv[0] == "add":  # nor what only other paths need: no daemon here, no bar, no dag-cbor, no key
            assert not tops & {"http", "tqdm", "dag_cbor", "cryptography"}, sorted(tops)


def test_sync_commands_through_a_daemon_load_no_sync_modules(tmp_path: Path) -> None:
    """With a daemon running, `clone`/`pull` only forward their arguments (RPC `jzfs/…`): the
    event loop, the IPLD codecs and the sync modules stay unloaded (~0.15 s of the command)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    calls: list[str] = []

    class Api(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            calls.append(self.path)
            body = b'{"Version": "0"}' if self.path.startswith("/api/v0/version") else json.dumps(
                {"Peer": "p", "Repo": "ds", "Refs": {}, "NewCommits": 0, "FetchedBlocks": 0,
                 "FetchedBytes": 0, "Branches": {}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert loaded(tmp_path, "init")
        (tmp_path / "repo" / "api").write_text(f"/ip4/127.0.0.1/tcp/{server.server_address[1]}")
        for argv in (["clone", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWA", "ds"], ["pull", "/ip4/127.0.0.1/tcp/1", "ds"]):
            mods = loaded(tmp_path, *argv)
            tops = {m.split(".")[0] for m in mods}
            assert not tops & {"trio", "dag_cbor", "multiformats", "libp2p"}, (argv, sorted(tops))
            assert not {m for m in mods if m.startswith("jiaozi_node.versioning.sync")}, argv
        assert [c.split("?")[0] for c in calls if "version" not in c] == ["/api/v0/jzfs/clone", "/api/v0/jzfs/pull"]
    finally:
        server.shutdown()


# A daemon-routed command is a thin process that calls the daemon's RPC API; every module it loads
# is start-up time of each such command (a daemon-served `get` runs two: `swarm connect`, `get`).
ROUTED_HEAVY = HEAVY | {"h11", "http.client", "email", "sqlite3", "jiaozi_node.api.access",
                        "jiaozi_node.gateway.http_common", "jiaozi_node.net"}
# `pin add` and `swarm connect` only forward their arguments: no typed config (its dataclasses,
# ~30 ms), no repo module, no CID parsing. (`get`/`cat` read the repo's store: they open a Node.)
FORWARD_HEAVY = ROUTED_HEAVY | {"jiaozi_node.config", "dataclasses", "jiaozi_node.repo",
                                "jiaozi_node.ipld.cid", "jiaozi_node.store"}


def test_daemon_routed_commands_stay_thin(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from jiaozi_node.node import Node

    with Node.open(tmp_path / "repo") as node:  # the daemon would have fetched it: here it is local
        cid = str(node.add_bytes(b"routed\n" * 1000))
        store = str(Path(node.blocks.root).resolve())
    calls: list[str] = []

    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            calls.append(self.path.split("?")[0])
            if "chunked" in self.headers.get("Transfer-Encoding", ""):
                while int(self.rfile.readline(), 16):
                    self.rfile.readline()
            else:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answers = {"/api/v0/version": {"Version": "0"},
                       "/api/v0/swarm/connect": {"Strings": ["connect P success"]},
                       "/api/v0/pin/add": {"Pins": [cid]}}
            path = self.path.split("?")[0]
            body = (json.dumps({"Cid": cid, "Store": store}) + "\n" + json.dumps({"Done": True}) + "\n"
                    if path == "/api/v0/get" else json.dumps(answers[path])).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "repo" / "api").write_text(f"/ip4/127.0.0.1/tcp/{server.server_address[1]}")
        (tmp_path / "repo" / "daemon.json").write_text(json.dumps({"PID": os.getpid()}))  # a live PID
        for argv, heavy in ((["swarm", "connect", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWA"], FORWARD_HEAVY),
                            (["pin", "add", cid], FORWARD_HEAVY),
                            (["cat", cid], ROUTED_HEAVY),
                            (["get", cid, "-o", str(tmp_path / "out")], ROUTED_HEAVY)):
            mods = loaded(tmp_path, *argv)
            bad = sorted(m for m in mods if m in heavy or m.split(".")[0] in heavy
                         or any(m.startswith(h + ".") for h in heavy))
            assert bad == [], (argv, bad)
        assert (tmp_path / "out").read_bytes() == b"routed\n" * 1000
        assert [c for c in calls if c != "/api/v0/version"] == [
            "/api/v0/swarm/connect", "/api/v0/pin/add", "/api/v0/get", "/api/v0/get"]
    finally:
        server.shutdown()
