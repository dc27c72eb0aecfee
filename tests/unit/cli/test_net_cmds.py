"""`jzfs id` (offline), `jzfs bootstrap …` (config only: nothing is dialed), swarm without daemon."""

from __future__ import annotations

import base64
import json

import pytest

from jiaozi_node.cli.main import main
from jiaozi_node.config import PUBLIC_BOOTSTRAP_PEERS
from jiaozi_node.identity import Identity
from jiaozi_node.repo import Repo


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    return Repo.init(tmp_path / "r")


def test_id_offline_kubo_shape(repo, capsys):
    assert main(["id", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"ID", "PublicKey", "Addresses", "AgentVersion", "Protocols"}
    assert out["ID"] == repo.peer_id and out["Addresses"] == []
    assert base64.b64decode(out["PublicKey"]) == repo.identity.public_key_protobuf
    assert main(["id"]) == 0  # Kubo's default: the same JSON, tab-indented
    text = capsys.readouterr().out
    assert json.loads(text) == out and text.startswith('{\n\t"ID": ')


def test_id_format_template_like_kubo(repo, capsys):
    assert main(["id", "-f", "<id>\\n"]) == 0
    assert capsys.readouterr().out == repo.peer_id + "\n"
    assert main(["id", "--format", "<aver>|<pver>|<addrs>|<protocols>|<pubkey>"]) == 0
    aver, pver, addrs, protocols, pubkey = capsys.readouterr().out.split("|")
    assert aver.startswith("jzfs/") and pver == "ipfs/0.1.0" and addrs == protocols == ""
    assert base64.b64decode(pubkey) == repo.identity.public_key_protobuf


def test_id_of_a_bad_peer_id_says_so(repo, capsys):
    # the audit saw "not connected to notapeer"; Kubo says the peer ID is invalid
    capsys.readouterr()
    assert main(["id", "notapeer"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: invalid peer ID 'notapeer'") and err.count("\n") == 1


def test_bootstrap_is_empty_by_default_and_add_rm(repo, capsys):
    assert main(["bootstrap", "list"]) == 0
    assert capsys.readouterr().out == ""
    peer = f"/ip4/127.0.0.1/tcp/4001/p2p/{Identity.generate().peer_id}"
    assert main(["bootstrap", "add", peer]) == 0
    assert capsys.readouterr().out == f"added {peer}\n"
    assert main(["bootstrap", "add", peer]) == 0  # already there: nothing added
    assert capsys.readouterr().out == ""
    assert Repo.open().get_config("Bootstrap") == [peer]
    assert main(["bootstrap", "rm", peer]) == 0
    assert capsys.readouterr().out == f"removed {peer}\n"
    assert Repo.open().get_config("Bootstrap") == []


def test_bootstrap_default_is_an_explicit_opt_in(repo, capsys):
    assert main(["bootstrap", "add", "--default"]) == 0
    assert Repo.open().get_config("Bootstrap") == list(PUBLIC_BOOTSTRAP_PEERS)
    capsys.readouterr()
    assert main(["bootstrap", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == list(PUBLIC_BOOTSTRAP_PEERS)
    assert main(["bootstrap", "rm", "--all"]) == 0
    assert Repo.open().get_config("Bootstrap") == []


def test_bootstrap_errors(repo, capsys):
    assert main(["bootstrap", "add"]) == 1
    assert main(["bootstrap", "add", "/ip4/127.0.0.1/tcp/4001"]) == 1  # no /p2p/
    assert main(["bootstrap", "rm", f"/ip4/1.2.3.4/tcp/1/p2p/{Identity.generate().peer_id}"]) == 1
    assert main(["bootstrap", "rm"]) == 1
    err = capsys.readouterr().err
    assert err.count("Error:") == 4 and "Traceback" not in err


def test_swarm_needs_the_daemon(repo, capsys):
    assert main(["swarm", "peers"]) == 1
    assert "needs a running daemon" in capsys.readouterr().err
