import json

import pytest

from jiaozi_node.errors import InvalidInput, RepoError
from jiaozi_node.repo import Repo


def test_init_open_and_config(tmp_path):
    r = Repo.init(tmp_path / "r")
    assert r.peer_id.startswith("12D3KooW")
    assert r.identity.peer_id == r.peer_id
    assert r.get_config("Bootstrap") == []
    assert r.get_config("Discovery.MDNS.Enabled") is False
    assert all(a.startswith("/ip4/127.0.0.1/") for a in r.get_config("Addresses.Swarm"))
    r.set_config("Gateway.Fetch", ["http://127.0.0.1:9"])
    again = Repo.open(tmp_path / "r", create=False)
    assert again.get_config("Gateway.Fetch") == ["http://127.0.0.1:9"]
    assert json.loads((tmp_path / "r" / "config").read_text())["Identity"]["PeerID"] == r.peer_id


def test_init_twice_fails_and_missing_repo(tmp_path):
    Repo.init(tmp_path / "r")
    with pytest.raises(RepoError):
        Repo.init(tmp_path / "r")
    with pytest.raises(RepoError):
        Repo.open(tmp_path / "nope", create=False)


def test_open_creates_with_note(tmp_path, capsys):
    Repo.open(tmp_path / "new")
    assert "initialized a new jzfs repository" in capsys.readouterr().err


def test_bad_keys_and_db(tmp_path):
    r = Repo.init(tmp_path / "r")
    with pytest.raises(InvalidInput):
        r.get_config("No.Such")
    with pytest.raises(InvalidInput):
        r.set_config("a..b", 1)
    with pytest.raises(InvalidInput):
        Repo.init(tmp_path / "x", db="mysql://nope")
