"""`jzfs` data commands go through a running daemon's RPC API (as `ipfs` does), and print what
the offline commands print. The JZFS_PATH handed to the CLI holds ONLY the daemon's `api` file, so
a command can only succeed by talking to the daemon."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = hashlib.shake_128(b"rpc-cli").digest(1_500_000)


@pytest.fixture
def cli(jzfs_daemon: dict, tmp_path: Path):  # type: ignore[no-untyped-def]
    only_api = tmp_path / "only-api"
    only_api.mkdir()
    shutil.copy(Path(jzfs_daemon["repo"]) / "api", only_api / "api")
    env = {**os.environ, "JZFS_PATH": str(only_api)}

    def run(*args: str, stdin: bytes | None = None, rc: int = 0) -> bytes:
        r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=env, input=stdin,
                           capture_output=True, timeout=120, cwd=tmp_path)
        assert r.returncode == rc, (args, r.stderr.decode())
        assert b"Traceback" not in r.stderr
        return r.stdout

    yield run
    assert not (only_api / "config").exists()  # no command opened a repo of its own


def offline_add(tmp_path: Path, *args: str, stdin: bytes | None = None) -> bytes:
    env = {**os.environ, "JZFS_PATH": str(tmp_path / "offline")}
    r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", "add", "-n", *args], env=env,
                       input=stdin, capture_output=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_add_cat_pin_through_daemon(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "big.bin").write_bytes(DATA)
    (tree / "sub" / "note.txt").write_bytes(b"note\n")
    (tree / ".hidden").write_bytes(b"skipped like Kubo")
    out = cli("add", "-r", str(tree))
    assert out == offline_add(tmp_path, "-r", str(tree))  # same lines, same CIDs, same order
    root = out.split()[-2].decode()
    assert cli("cat", f"{root}/big.bin") == DATA
    stdin_cid = cli("add", "-Q", stdin=b"from stdin")
    assert stdin_cid == offline_add(tmp_path, "-Q", stdin=b"from stdin")
    assert sorted(cli("pin", "ls", "-t", "recursive", "-q").split()) == sorted([root.encode(), stdin_cid.strip()])
    assert cli("pin", "rm", root) == f"unpinned {root}\n".encode()
    assert cli("pin", "add", root) == f"pinned {root} recursively\n".encode()
    out = cli("add", "--cid-version", "0", "-q", str(tree / "big.bin"))
    assert out == offline_add(tmp_path, "--cid-version", "0", "-q", str(tree / "big.bin"))
    cli("add", str(tmp_path / "does-not-exist"), rc=1)


def test_block_and_dag_through_daemon(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cid = cli("block", "put", stdin=b"some block").strip().decode()
    assert cli("block", "get", cid) == b"some block"
    assert json.loads(cli("block", "stat", "--json", cid)) == {"Key": cid, "Size": 10}
    dcid = cli("dag", "put", stdin=json.dumps({"x": [1, 2, {"/": cid}]}).encode()).strip().decode()
    assert json.loads(cli("dag", "get", f"{dcid}/x/1")) == 2
    car = tmp_path / "d.car"
    cli("dag", "export", dcid, "-o", str(car))
    assert car.stat().st_size > 0
    assert b"NumBlocks: 2" in cli("dag", "stat", dcid)
    assert cli("block", "rm", cid) == f"removed {cid}\n".encode()
    out = cli("dag", "import", "--stats", str(car))
    assert f"Pinned root\t{dcid}\tsuccess".encode() in out and b"Imported 2 blocks" in out
    assert cli("block", "get", cid) == b"some block"  # back from the CAR
    cli("block", "get", "bafkreinotacid", rc=1)
    # --json through the daemon: the same shapes as offline (Kubo's)
    assert json.loads(cli("block", "put", "--json", "--pin", stdin=b"json block")) == {
        "Key": "bafkreibrcvqmidtsq2vxczzdfwrtge7cmzxugagccf7rg6pq26usi6qbra", "Size": 10}
    assert json.loads(cli("pin", "add", "--json", cid)) == {"Pins": [cid]}
    assert json.loads(cli("pin", "rm", "--json", cid)) == {"Pins": [cid]}
    assert json.loads(cli("dag", "put", "--json", stdin=b'{"y": 1}'))["Cid"]["/"].startswith("bafyrei")
    lines = [json.loads(x) for x in cli("dag", "import", "--json", "--stats", str(car)).splitlines()]
    assert lines[0] == {"Root": {"Cid": {"/": dcid}, "PinErrorMsg": ""}}
    assert lines[1]["Stats"]["BlockCount"] == 2


def test_cli_fetches_through_the_daemon_from_its_connected_peers(jzfs_daemon_factory, tmp_path: Path) -> None:
    """Issue 3: with a daemon running, plain `jzfs cat/get/ls` fetch through it from the peers it
    is connected to (here another jzfs daemon, connected with `jzfs swarm connect`)."""
    import hashlib
    import json
    import subprocess
    import sys

    from jiaozi_node.node import Node

    data = hashlib.shake_128(b"through-the-daemon").digest(2 * 1024 * 1024 + 11)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    a = jzfs_daemon_factory("a")
    b = jzfs_daemon_factory("b")
    with Node.open(a["repo"]) as node_a:  # the daemon's store is shared across processes
        root = node_a.add_path(src)

    def jzfs(d: dict, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=d["env"],
                              capture_output=True, timeout=120)

    ident = json.loads(jzfs(a, "id", "--json").stdout)
    assert jzfs(b, "swarm", "connect", ident["Addresses"][0]).returncode == 0
    with Node.open(b["repo"]) as node_b:
        assert not node_b.blocks.has(root)  # b really has to fetch it
    out = jzfs(b, "cat", str(root))
    assert out.returncode == 0, out.stderr
    assert hashlib.sha256(out.stdout).digest() == hashlib.sha256(data).digest()
    dest = tmp_path / "got.bin"
    got = jzfs(b, "get", str(root), "-o", str(dest))
    assert got.returncode == 0, got.stderr
    assert dest.read_bytes() == data


def test_get_and_cat_with_peer_go_through_the_running_daemon(jzfs_daemon_factory, tmp_path: Path) -> None:
    """Issue 11: `jzfs get/cat --peer A` with a daemon running ask the daemon to connect to A and
    fetch (as every other command does), instead of starting a second node in the CLI process:
    afterwards the daemon itself is connected to A and holds the blocks."""
    from jiaozi_node.node import Node

    data = hashlib.shake_128(b"peer-through-daemon").digest(1024 * 1024 + 5)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    a = jzfs_daemon_factory("a")
    b = jzfs_daemon_factory("b")
    with Node.open(a["repo"]) as node_a:
        root = node_a.add_path(src)

    def jzfs(d: dict, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=d["env"],
                              capture_output=True, timeout=120)

    ident = json.loads(jzfs(a, "id", "--json").stdout)
    out = jzfs(b, "cat", str(root), "--peer", ident["Addresses"][0])
    assert out.returncode == 0, out.stderr
    assert out.stdout == data
    peers = json.loads(jzfs(b, "swarm", "peers", "--json").stdout)["Peers"]
    assert ident["ID"] in {p["Peer"] for p in peers}  # the daemon dialled A, not a CLI-side node
    dest = tmp_path / "got.bin"
    got = jzfs(b, "get", str(root), "-o", str(dest), "--peer", ident["Addresses"][0])
    assert got.returncode == 0, got.stderr
    assert dest.read_bytes() == data


def test_sync_commands_go_through_the_running_daemon(jzfs_daemon_factory, tmp_path: Path) -> None:
    """Issue 11: with a daemon running, `jzfs clone/fetch/pull/push` ask it (RPC `jzfs/…`) instead
    of starting a second node in the CLI process: afterwards the daemon itself is connected to
    the remote, and the outputs are the same as without a daemon."""
    a = jzfs_daemon_factory("a")
    b = jzfs_daemon_factory("b")

    def jzfs(d: dict, *args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], env=d["env"],
                           capture_output=True, timeout=120)
        assert r.returncode == 0, (args, r.stderr.decode())
        return r.stdout.decode()

    data = tmp_path / "data"
    data.mkdir()
    (data / "x.bin").write_bytes(hashlib.shake_128(b"sync-through-daemon").digest(300_000))
    jzfs(a, "repo", "create", "ds")
    jzfs(a, "commit", "ds", str(data), "-b", "main", "-m", "one")
    ident = json.loads(jzfs(a, "id", "--json"))
    addr = ident["Addresses"][0]
    assert jzfs(b, "clone", addr, "ds").startswith("cloned ds from " + ident["ID"])
    peers = json.loads(jzfs(b, "swarm", "peers", "--json"))["Peers"]
    assert ident["ID"] in {p["Peer"] for p in peers}  # the daemon dialled A
    (data / "y.txt").write_bytes(b"two\n")
    jzfs(a, "commit", "ds", str(data), "-b", "main", "-m", "two")
    got = json.loads(jzfs(b, "pull", "origin", "ds", "--json"))
    assert got["Branches"]["main"]["Result"] == "fast-forward"
    dest = tmp_path / "out"
    jzfs(b, "checkout", "ds@main", "-o", str(dest))
    assert (dest / "y.txt").read_bytes() == b"two\n"
    out = jzfs(b, "fetch", "origin", "ds")
    assert out.startswith(f"fetched 1 refs of ds from {ident['ID']}: 0 commits checked")
