"""`jzfs routing …` without a daemon: argument errors first, `put --allow-offline` (Kubo's flag)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiaozi_node.cli.main import main
from jiaozi_node.identity import Identity


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def record(tmp_path: Path, monkeypatch, capsys) -> tuple[str, Path]:
    """An IPNS record published (offline) by repo A: (name, record file)."""
    from jiaozi_node.ipns.name import IpnsName
    from jiaozi_node.ipns.store import IpnsStore
    from jiaozi_node.repo import Repo

    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "a"))
    assert main(["init"]) == 0
    rc, out, _ = run(capsys, "name", "publish", "--allow-offline", "-Q", "/ipfs/bafkqaaa")
    assert rc == 0
    name = out.strip()
    store = IpnsStore.for_repo(Repo.open())
    try:
        raw = store.published(IpnsName.parse(name)).record
    finally:
        store.close()
    (tmp_path / "rec").write_bytes(raw)
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "b"))
    assert main(["init"]) == 0
    return name, tmp_path / "rec"


def test_put_allow_offline_keeps_the_record_for_resolve(record, capsys) -> None:
    name, rec = record
    rc, _, err = run(capsys, "routing", "put", f"/ipns/{name}", str(rec))
    assert rc == 1 and "needs a running daemon" in err and "--allow-offline" in err
    rc, _, _ = run(capsys, "name", "resolve", name)
    assert rc == 1  # repo B does not know the name yet
    rc, out, err = run(capsys, "routing", "put", "--allow-offline", f"/ipns/{name}", str(rec))
    assert (rc, out, err) == (0, "", "")
    rc, out, _ = run(capsys, "name", "resolve", name)
    assert rc == 0 and out.strip() == "/ipfs/bafkqaaa"
    # a record that is not valid for the key is refused, and nothing is kept
    other = Identity.generate().peer_id
    rc, _, err = run(capsys, "routing", "put", "--allow-offline", f"/ipns/{other}", str(rec))
    assert rc == 1 and err.startswith("Error: ") and err.count("\n") == 1


def test_pk_keys_named_as_such(record, tmp_path: Path, capsys) -> None:
    _, rec = record
    rc, _, err = run(capsys, "routing", "put", "--allow-offline", "/pk/x", str(rec))
    assert rc == 1 and "IPNS" not in err and "invalid /pk/ key" in err
    ident = Identity.generate()
    (tmp_path / "pk").write_bytes(ident.public_key_protobuf)
    rc, _, err = run(capsys, "routing", "put", "--allow-offline", f"/pk/{ident.peer_id}", str(tmp_path / "pk"))
    assert rc == 1 and "valid" in err and "running daemon" in err  # checked, not silently dropped
    rc, _, err = run(capsys, "routing", "put", "--allow-offline", f"/pk/{ident.peer_id}", str(rec))
    assert rc == 1 and "/pk/ record" in err


def test_bad_cid_reported_once_without_a_daemon(record, capsys) -> None:
    rc, _, err = run(capsys, "routing", "findprovs", "notacid")
    assert rc == 1 and err.count("invalid CID") == 1 and "daemon" not in err
    assert err.startswith("Error: invalid CID 'notacid': No known multibase")
