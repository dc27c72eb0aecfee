import json

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
