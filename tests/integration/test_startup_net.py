"""What the no-daemon network commands import: each module is start-up time of every such command.

`get/cat --peer`, `clone`, `pull`, `fetch` with no daemon dial through the lean LiteHost, and
`remote add` only checks an address (with py-multiaddr): none of them may load py-libp2p (~0.6 s), an HTTP stack, a
database driver other than SQLite, or the daemon's modules. `get/cat --peer` do not decode
DAG-CBOR either (no `dag_cbor`/`multiformats`, ~25 ms). Each command runs in a fresh interpreter
against a real node on 127.0.0.1; the modules it loaded are read after it returned. (Timings:
bench/bench_commands.py; this checks the import graph, which does not depend on the machine.)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import trio

from jiaozi_node.ipld.cid import CID
from jiaozi_node.node import Node

SERVICES = ("jiaozi_node.bitswap.service", "jiaozi_node.versioning.sync")
DRIVER = """
import json, sys
from jiaozi_node.cli.main import main
rc = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(rc)
"""
# Never in a no-daemon network command: py-libp2p and what it brings (QUIC, DNS, multiformats'
# older packages), HTTP clients and servers, other database drivers, the daemon's modules.
HEAVY = {"libp2p", "aioquic", "dns", "multicodec", "multibase", "multihash", "cid", "nacl", "coincurve",
         "httpx", "httpcore", "anyio", "h11", "hypercorn", "requests", "urllib3", "jinja2", "numpy",
         "psycopg", "lmdb", "jiaozi_node.net.libp2p_host", "jiaozi_node.net.transport", "jiaozi_node.api",
         "jiaozi_node.gateway", "jiaozi_node.webui", "jiaozi_node.routing.dht"}
MULTIADDR_DEPS = {"cid", "multibase", "multicodec", "multihash"}  # py-multiaddr's own (~15 ms)
NO_CBOR = {"dag_cbor", "multiformats", "multiformats_config", "typing_validation", "multiaddr"}


# `main()` as the console script runs it; an atexit hook shows whether the interpreter tore down
EXIT_DRIVER = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("TEARDOWN"))
sys.argv = ["jzfs", *sys.argv[1:]]
from jiaozi_node.cli.main import main
main()
"""


def _bad(mods: set[str], heavy: set[str]) -> list[str]:
    return sorted(m for m in mods if m in heavy or m.split(".")[0] in heavy
                  or any(m.startswith(h + ".") for h in heavy))


async def _loaded(repo: Path, tmp: Path, *argv: str) -> set[str]:
    out = tmp / "modules.json"
    env = {**os.environ, "JZFS_PATH": str(repo)}
    proc = await trio.run_process([sys.executable, "-c", DRIVER, str(out), *argv], env=env,
                                  capture_stdout=True, capture_stderr=True, check=False)
    assert proc.returncode == 0, (argv, proc.stderr.decode()[-3000:])
    return set(json.loads(out.read_text()))


async def test_no_daemon_network_commands_stay_lean(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "f.txt").write_bytes(b"lean\n" * 1000)
    with Node.open(tmp_path / "a") as a:
        a.versioning.create_repo("ds", now=1)
        a.versioning.commit("ds", data, branch="main", message="one", now=10)
        cid = str(a.add_bytes(b"peer\n" * 1000))
        async with a.online(listen=["/ip4/127.0.0.1/tcp/0"], services=SERVICES, peering=False,
                            bootstrap=False) as on:
            addr = on.host.addrs()[0]
            b, c = tmp_path / "b", tmp_path / "c"
            runs = [(b, ["get", cid, "-o", str(tmp_path / "out"), "--peer", addr], HEAVY | NO_CBOR),
                    (b, ["cat", cid, "--peer", addr], HEAVY | NO_CBOR),
                    (b, ["clone", addr, "ds"], HEAVY | {"multiaddr"}),
                    (b, ["fetch", "origin", "ds"], HEAVY | {"multiaddr"}),
                    (b, ["pull", "origin", "ds"], HEAVY | {"multiaddr"}),
                    (c, ["repo", "create", "ds"], set()),
                    (c, ["remote", "add", "a", addr], HEAVY - MULTIADDR_DEPS | {"trio"})]
            with trio.fail_after(120):
                for repo, argv, heavy in runs:
                    mods = await _loaded(repo, tmp_path, *argv)
                    assert _bad(mods, heavy) == [], (argv, _bad(mods, heavy))
                    if argv[0] in ("get", "cat", "clone", "fetch", "pull"):
                        assert "jiaozi_node.net.lite.host" in mods, argv  # the check saw the dial
            # get/cat --peer close what they write inside the command, then leave with os._exit
            # (no interpreter teardown: ~20-40 ms of CPU with trio loaded); the result is whole
            env = {**os.environ, "JZFS_PATH": str(c)}
            for argv in (["get", cid, "-o", str(tmp_path / "out2"), "--peer", addr], ["cat", cid, "--peer", addr]):
                with trio.fail_after(60):
                    proc = await trio.run_process([sys.executable, "-c", EXIT_DRIVER, *argv], env=env,
                                                  capture_stdout=True, capture_stderr=True, check=False)
                assert proc.returncode == 0 and b"TEARDOWN" not in proc.stderr, (argv, proc.stderr)
                assert proc.stdout == (b"peer\n" * 1000 if argv[0] == "cat" else f"Saving file(s) to {tmp_path / 'out2'}\n".encode())
    assert (tmp_path / "out").read_bytes() == (tmp_path / "out2").read_bytes() == b"peer\n" * 1000
    with Node.open(c) as node:
        assert dict(node.settings.remotes) == {"a": {"Addr": addr}}
        assert node.pins.pin_type(CID.decode(cid)) == "recursive"  # `get --peer` pinned it before leaving


def test_the_check_can_fail() -> None:
    assert _bad({"libp2p.host.basic_host", "trio", "jiaozi_node.api.server"}, HEAVY) == [
        "jiaozi_node.api.server", "libp2p.host.basic_host"]
    assert _bad({"jiaozi_node.apis"}, HEAVY) == []
