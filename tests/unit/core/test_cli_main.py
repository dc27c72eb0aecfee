import json

import pytest

from jiaozi_node.cli.main import main


def test_init_config_version(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    assert main(["init"]) == 0
    assert main(["config", "Addresses.Swarm", "--json", '["/ip4/127.0.0.1/tcp/4010"]']) == 0
    capsys.readouterr()
    assert main(["config", "Addresses.Swarm"]) == 0
    assert json.loads(capsys.readouterr().out) == ["/ip4/127.0.0.1/tcp/4010"]
    assert main(["config", "--show"]) == 0
    assert "PrivKey" not in capsys.readouterr().out
    assert main(["version", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["Version"]


def test_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    main(["init"])
    capsys.readouterr()
    assert main(["config", "No.Such.Key"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and err.count("\n") == 1
    assert main(["init"]) == 1


HEAVY = ("trio", "libp2p", "httpx", "hypercorn", "numpy", "psycopg", "dag_cbor", "multiformats",
         "lmdb", "tqdm", "cryptography")


@pytest.mark.parametrize("argv", [["version"], ["--help"],
                                  ["cid", "base32", "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR"]])
def test_simple_commands_import_nothing_heavy(argv, tmp_path):
    """Start-up: building the parser must not import every command's dependencies (they load in
    the handlers). Checked in a fresh interpreter by the set of modules, not by a clock."""
    import subprocess
    import sys

    code = ("import sys\nfrom jiaozi_node.cli.main import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"JZFS_PATH": str(tmp_path / "r"), "PATH": "/usr/bin:/bin"})
    assert res.stderr.strip().splitlines()[-1] == "[]", res.stderr
