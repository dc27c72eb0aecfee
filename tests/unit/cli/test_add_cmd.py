"""`jzfs add`: Kubo's flags and output lines, stdin, JSON, errors."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import pytest

from jiaozi_node.cli.main import main

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
TREE = json.loads((VECTORS / "kubo_vectors.json").read_text())["tree"]
V1 = json.loads((VECTORS / "cidv1_vectors.json").read_text())["profiles"]


def content(n: int) -> bytes:
    return hashlib.shake_128(b"jzfs-vectors-v1").digest(n)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    assert main(["init"]) == 0
    return tmp_path / "r"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch) -> Path:
    t = tmp_path / "tree"
    (t / "sub" / "deeper").mkdir(parents=True)
    (t / "emptydir").mkdir()
    (t / "a.txt").write_bytes(b"hello\n")
    (t / "b.bin").write_bytes(content(1000))
    (t / "sub" / "c.txt").write_bytes(b"ipfs\n")
    (t / "sub" / "empty").write_bytes(b"")
    (t / "sub" / "deeper" / "d.bin").write_bytes(content(300000))
    monkeypatch.chdir(tmp_path)
    return t


def run(capsys, *argv: str) -> tuple[int, list[str], str]:
    capsys.readouterr()
    rc = main(["add", *argv])
    out = capsys.readouterr()
    return rc, out.out.splitlines(), out.err


def test_recursive_output_like_kubo(repo, tree, capsys) -> None:
    rc, lines, _ = run(capsys, "-r", "--profile", "unixfs-v0-2015", "tree")
    assert rc == 0
    assert lines[0] == f"added {TREE['a.txt']} tree/a.txt"
    assert lines[-1] == f"added {TREE['root_cid_v0']} tree"
    assert [ln.split()[2] for ln in lines] == ["tree/a.txt", "tree/b.bin", "tree/sub/c.txt",
                                              "tree/sub/deeper/d.bin", "tree/sub/empty", "tree/emptydir",
                                              "tree/sub/deeper", "tree/sub", "tree"]


def test_quiet_quieter_json(repo, tree, capsys) -> None:
    _, lines, _ = run(capsys, "-r", "-Q", "--profile", "unixfs-v0-2015", "tree")
    assert lines == [TREE["root_cid_v0"]]
    _, lines, _ = run(capsys, "-r", "-q", "--profile", "unixfs-v0-2015", "tree")
    assert len(lines) == 9 and lines[-1] == TREE["root_cid_v0"]
    _, lines, _ = run(capsys, "--json", "--profile", "unixfs-v0-2015", "tree/a.txt")
    assert json.loads(lines[0]) == {"Name": "a.txt", "Hash": TREE["a.txt"], "Size": "14"}


def test_profiles_and_overrides(repo, tree, capsys) -> None:
    # default profile unixfs-v1-2025 (= Helia's defaults)
    _, lines, _ = run(capsys, "-Q", "-r", "tree")
    assert lines == [V1["helia_default"]["tree"]]
    # `--profile unixfs-v0-2015 --cid-version 1` == Kubo `ipfs add --cid-version=1` (raw leaves implied)
    _, lines, _ = run(capsys, "-Q", "-r", "--profile", "unixfs-v0-2015", "--cid-version", "1", "tree")
    assert lines == [V1["kubo_cid_version_1"]["tree"]]
    # explicit --raw-leaves=false keeps dag-pb leaves under CIDv1
    _, lines, _ = run(capsys, "-Q", "--profile", "unixfs-v0-2015", "--cid-version=1", "--raw-leaves=false",
                      "tree/a.txt")
    assert lines[0].startswith("bafybei")
    _, lines, _ = run(capsys, "-Q", "--profile", "unixfs-v0-2015", "--trickle", "tree/sub/deeper/d.bin")
    assert lines[0] != TREE["sub/deeper/d.bin"]
    _, lines, _ = run(capsys, "-Q", "--chunker", "size-1000", "tree/b.bin")
    assert lines[0].startswith("bafkrei")  # one chunk: the raw leaf itself


def test_cid_version_0_overrides_the_default_profile_like_kubo(repo, tree, capsys) -> None:
    # Kubo: `ipfs add --cid-version 0` = CIDv0 with dag-pb leaves (raw leaves only if asked for),
    # whatever the profile; the audit saw `bafkrei…` here under unixfs-v1-2025.
    _, lines, _ = run(capsys, "-Q", "--cid-version", "0", "tree/a.txt")
    assert lines == [TREE["a.txt"]] and lines[0].startswith("Qm")
    _, lines, _ = run(capsys, "-Q", "--cid-version=0", "tree/b.bin")
    assert lines == [TREE["b.bin"]]
    # with Kubo's chunker too, the whole tree is Kubo's `ipfs add -r --cid-version 0` root
    _, lines, _ = run(capsys, "-Q", "-r", "--cid-version", "0", "--chunker", "size-262144", "tree")
    assert lines == [TREE["root_cid_v0"]]
    # an explicit --raw-leaves still wins (Kubo: a one-block file is then the raw leaf itself)
    _, lines, _ = run(capsys, "-Q", "--cid-version", "0", "--raw-leaves", "tree/a.txt")
    assert lines[0].startswith("bafkrei")
    # a hash other than sha2-256 implies CIDv1 (with raw leaves) even under the v0 profile, like Kubo
    _, lines, _ = run(capsys, "-Q", "--profile", "unixfs-v0-2015", "--hash", "sha2-512", "tree/a.txt")
    assert lines[0].startswith("bafkrgq")  # raw, sha2-512


def test_stdin(repo, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"hello\n")))
    rc, lines, _ = run(capsys, "--profile", "unixfs-v0-2015")
    assert rc == 0 and lines == [f"added {TREE['a.txt']} {TREE['a.txt']}"]


def test_only_hash_and_pin_false(repo, tree, capsys) -> None:
    _, lines, _ = run(capsys, "-n", "-Q", "tree/b.bin")
    cid = lines[0]
    capsys.readouterr()
    assert main(["block", "stat", cid]) == 1  # nothing stored
    _, lines, _ = run(capsys, "-Q", "--pin=false", "tree/b.bin")
    capsys.readouterr()
    main(["pin", "ls"])
    assert cid not in capsys.readouterr().out


def test_wrap(repo, tree, capsys) -> None:
    _, lines, _ = run(capsys, "-w", "--profile", "unixfs-v0-2015", "tree/a.txt", "tree/b.bin")
    assert lines[:2] == [f"added {TREE['a.txt']} a.txt", f"added {TREE['b.bin']} b.bin"]
    assert lines[2].startswith("added Qm") and lines[2].endswith(" ")


@pytest.mark.parametrize(("argv", "message"), [
    (["missing.txt"], "no such file"),
    (["tree"], "-r"),
    (["--chunker", "bogus", "tree/a.txt"], "chunker"),
    (["--cid-version", "0", "--hash", "sha2-512", "tree/a.txt"], "CIDv0"),
])
def test_errors_one_line_exit_1(repo, tree, capsys, argv, message) -> None:
    rc, lines, err = run(capsys, *argv)
    assert rc == 1 and lines == []
    assert err.startswith("Error: ") and message in err and err.count("\n") == 1


def test_add_passes_the_nodes_add_tuning(repo, tree, capsys, monkeypatch) -> None:
    from dataclasses import replace

    from jiaozi_node.cli import add_cmd
    from jiaozi_node.config import AddTuning, Defaults
    from jiaozi_node.node import Node, files

    tuning = AddTuning(read_bytes=4096)
    monkeypatch.setattr(add_cmd, "open_node", lambda: Node.open(repo, defaults=replace(Defaults(), add=tuning)))
    seen = []
    real = files.iter_add_path
    monkeypatch.setattr(files, "iter_add_path", lambda *a, **kw: (seen.append(kw["tuning"]), real(*a, **kw))[1])
    rc, out, _ = run(capsys, "-Q", str(tree / "a.txt"))
    assert rc == 0 and out and seen == [tuning]


def test_add_process_skips_teardown_after_everything_is_durable(repo, tree, tmp_path) -> None:
    """`jzfs add` leaves with os._exit once done (cli/leave.py `leave_now`): the output is flushed
    and the blocks, the pin and the queued announcement are there for the next process."""
    import subprocess

    from jiaozi_node.node import Node

    code = ("import sys, os; from jiaozi_node.cli import main as m; "
            "real = os._exit; os._exit = lambda rc: (print('EXIT_NOW', rc, file=sys.stderr), real(rc)); "
            "sys.argv = ['jzfs', 'add', '-Q', sys.argv[1]]; sys.exit(m.main())")
    out = subprocess.run([sys.executable, "-c", code, str(tree / "sub" / "deeper" / "d.bin")],
                         capture_output=True, text=True, timeout=120, check=True)
    assert "EXIT_NOW 0" in out.stderr
    cid = out.stdout.strip()
    with Node.open(repo) as node:
        assert cid in {str(c) for c in node.pins.roots()}
        assert b"".join(node.files.cat(cid)) == content(300000)
    # a command without the flag (here `version`) ends the ordinary way
    out = subprocess.run([sys.executable, "-c", code.replace("'add', '-Q', sys.argv[1]", "'version'"), "x"],
                         capture_output=True, text=True, timeout=120, check=True)
    assert "EXIT_NOW" not in out.stderr
