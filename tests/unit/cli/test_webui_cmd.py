from __future__ import annotations

from jiaozi_node.cli.main import main
from jiaozi_node.repo import Repo


def test_prints_the_url_from_config_when_no_daemon_runs(tmp_path, monkeypatch, capsys):
    Repo.init(tmp_path / "r").set_config("Addresses.API", "/ip4/127.0.0.1/tcp/5099")
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    assert main(["webui", "--open"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "http://127.0.0.1:5099/webui/"
    assert "jzfs daemon" in err and opened == ["http://127.0.0.1:5099/webui/"]
