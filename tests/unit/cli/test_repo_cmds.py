"""`jzfs init --db postgres://…` against the real PostgreSQL fixture: reachable → schema created at
init; unreachable → one-line error and no repository written."""

from __future__ import annotations

import json

import psycopg

from jiaozi_node.cli.main import main


def test_init_with_postgres_creates_the_schema(postgres_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    assert main(["init", "--db", postgres_url]) == 0
    capsys.readouterr()
    with psycopg.connect(postgres_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
    assert {"jzfs_repos", "jzfs_refs", "jzfs_writers"} <= tables  # before any versioning command
    assert json.loads((tmp_path / "r" / "config").read_text())["Refs"]["Database"] == postgres_url
    assert main(["repo", "create", "ds"]) == 0
    assert main(["repo", "list", "--json"]) == 0
    assert "ds" in capsys.readouterr().out
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM jzfs_repos").fetchone()[0] == 1


def test_init_with_unreachable_postgres_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    rc = main(["init", "--db", "postgres://u:p@127.0.0.1:1/db?connect_timeout=5"])
    out, err = capsys.readouterr()
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("Error: cannot open the PostgreSQL refs database")
    assert not (tmp_path / "r" / "config").exists()


def test_postgres_gone_later_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    assert main(["init"]) == 0
    assert main(["config", "Refs.Database", "postgres://u:p@127.0.0.1:1/db?connect_timeout=5"]) == 0
    capsys.readouterr()
    assert main(["repo", "list"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "cannot open the PostgreSQL refs database" in err


def test_version_flags_like_kubo(capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from jiaozi_node import __version__
    from jiaozi_node.cli.main import main

    assert main(["version"]) == 0
    assert capsys.readouterr().out == f"jzfs version {__version__}\n"
    assert main(["version", "-n"]) == 0
    assert capsys.readouterr().out == f"{__version__}\n"
    assert main(["version", "--repo"]) == 0
    assert capsys.readouterr().out == "1\n"
    assert main(["version", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"Version", "Commit", "Repo", "System", "Golang"}
    assert main(["version", "--all"]) == 0
    assert capsys.readouterr().out.startswith(f"jzfs version: {__version__}\nRepo version: 1\n")


def test_config_shows_effective_defaults(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    # a key the file does not set shows the value the node uses (the audit saw "has no value")
    import json

    from jiaozi_node.config import DEFAULT_REPROVIDER_STRATEGY, DEFAULT_ROUTING_TYPE

    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    assert main(["init"]) == 0

    def show(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main(["config", *argv])
        out = capsys.readouterr()
        return rc, out.out, out.err

    assert show("Routing.Type") == (0, f"{DEFAULT_ROUTING_TYPE}\n", "")
    assert show("Reprovider.Strategy") == (0, f"{DEFAULT_REPROVIDER_STRATEGY}\n", "")
    rc, out, _ = show("Routing")
    assert rc == 0 and json.loads(out) == {"Type": DEFAULT_ROUTING_TYPE, "DelegatedRouters": []}
    assert main(["config", "Routing.Type", "dht"]) == 0  # the file's value wins over the default
    rc, out, _ = show("Routing")
    assert rc == 0 and json.loads(out)["Type"] == "dht"
    assert show("Routing.Type")[1] == "dht\n"
    rc, out, err = show("Nope.Key")
    assert rc == 1 and out == "" and "has no value" in err
    rc, out, err = show("Identity.PrivKey")
    assert rc == 1 and out == "" and "private key" in err
    rc, out, _ = show("Identity")
    assert rc == 0 and "PrivKey" not in out and "PeerID" in out
