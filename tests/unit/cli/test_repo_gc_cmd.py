from __future__ import annotations

import json

import pytest

from jiaozi_node.cli.main import main
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.node.core import Node


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    keep, drop = Block.create(b"keep", codec=RAW), Block.create(b"drop" * 1000, codec=RAW)
    with Node.open(tmp_path / "r") as node:
        node.blocks.put_many([keep, drop])
        node.pins.add(keep.cid)
    return tmp_path / "r", keep.cid, drop.cid


def test_gc_prints_removed_like_kubo(repo, capsys):
    path, keep, drop = repo
    capsys.readouterr()
    assert main(["repo", "gc"]) == 0
    assert capsys.readouterr().out == f"removed {drop}\n"
    assert main(["repo", "gc"]) == 0
    assert capsys.readouterr().out == ""
    with Node.open(path) as node:
        assert node.blocks.has(keep) and not node.blocks.has(drop)


def test_gc_quiet(repo, capsys):
    capsys.readouterr()
    assert main(["repo", "gc", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_stat(repo, capsys):
    path, _, _ = repo
    capsys.readouterr()
    assert main(["repo", "stat", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["NumObjects"] == 2 and st["RepoSize"] > 4000 and st["RepoPath"] == str(path)
    assert main(["repo", "stat"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("NumObjects: 2\nRepoSize:")
    assert main(["repo", "stat", "-s", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"RepoSize", "StorageMax"}
    main(["repo", "gc", "-q"])
    assert main(["repo", "stat", "-H"]) == 0
    out = capsys.readouterr().out
    assert "NumObjects: 1\n" in out and "KiB" in out


def test_migrate_to_another_engine_and_back(repo, capsys):
    path, keep, drop = repo
    capsys.readouterr()
    assert main(["repo", "migrate", "--engine", "lmdb"]) == 0
    assert capsys.readouterr().out == "migrated 2 blocks from pack to lmdb\n"
    assert main(["repo", "stat", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["Engine"] == "lmdb"
    assert main(["repo", "migrate", "--engine", "pack", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"From": "lmdb", "To": "pack", "Blocks": 2}
    with Node.open(path) as node:
        assert node.blocks.name == "pack" and node.blocks.has(keep) and node.blocks.has(drop)
        assert node.pins.pin_type(keep) == "recursive"


def test_migrate_errors_are_one_line(repo, capsys):
    capsys.readouterr()
    assert main(["repo", "migrate", "--engine", "pack"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "already uses the pack engine" in err and err.count("\n") == 1
    assert main(["repo", "migrate", "--engine", "rocksdb"]) == 1
    assert "unknown engine" in capsys.readouterr().err


def test_migrate_refuses_while_a_daemon_runs(repo, capsys, monkeypatch):
    import jiaozi_node.cli.common as common

    class Client:
        closed = False

        def close(self):
            Client.closed = True

    monkeypatch.setattr(common, "daemon_client", lambda args=None: Client())
    capsys.readouterr()
    assert main(["repo", "migrate", "--engine", "lmdb"]) == 1
    assert "stop it before" in capsys.readouterr().err and Client.closed
    with Node.open(repo[0]) as node:
        assert node.blocks.name == "pack"


def _corrupt_commit(path):
    from jiaozi_node.ipld.cid import CID

    data = path.parent / "data"
    data.mkdir(exist_ok=True)
    (data / "a.txt").write_text("a\n")
    with Node.open(path) as node:
        node.versioning.create_repo("ds", now=1)
        cid = node.versioning.commit("ds", data, branch="main", message="one", now=2).cid
        good = node.blocks.get(cid)
        node.blocks.delete(cid)
        node.blocks.put(cid, good.replace(b"one", b"two"))
    return CID(1, RAW, cid.multihash)


def test_pin_verify_and_repo_verify_see_a_corrupt_commit(repo, capsys):
    """`pin verify` used to say "all pins are complete and verify" over a corrupt commit."""
    path, _, _ = repo
    key = _corrupt_commit(path)
    capsys.readouterr()
    assert main(["pin", "verify"]) == 1
    out = capsys.readouterr().out
    assert "all pins" not in out and "hash" in out
    assert main(["repo", "verify"]) == 1
    cap = capsys.readouterr()
    assert cap.out == f"block {key} was corrupt (its bytes do not match its hash)\n"
    assert cap.err == "Error: verify complete, 1 blocks corrupt\n"
    assert main(["repo", "verify", "--json"]) == 1
    cap = capsys.readouterr()
    lines = [json.loads(x) for x in cap.out.splitlines()]
    assert [x["Msg"].split(" (")[0] for x in lines] == [f"block {key} was corrupt"]
    assert "1 blocks corrupt" in cap.err
    assert main(["repo", "gc"]) == 1  # reported, nothing removed
    err = capsys.readouterr().err
    assert str(key).replace("bafkrei", "bafyrei") in err and "removed nothing" in err
    assert main(["repo", "verify", "--drop"]) == 0
    assert capsys.readouterr().out.endswith("verify complete, 1 blocks corrupt, 1 removed\n")
    assert main(["repo", "verify"]) == 0
    assert capsys.readouterr().out == "verify complete, all blocks validated.\n"


def test_migrate_passes_the_nodes_store_limits(repo, capsys, monkeypatch):
    from dataclasses import replace

    import jiaozi_node.cli.repo_gc_cmd as cmd
    from jiaozi_node.config import Defaults, StoreLimits
    from jiaozi_node.store import migrate as migrate_mod

    path, _, _ = repo
    defaults = replace(Defaults(), store=StoreLimits(max_batch_bytes=12345))
    monkeypatch.setattr(cmd, "open_node", lambda: Node.open(path, defaults=defaults))
    seen = []
    real = migrate_mod.migrate
    monkeypatch.setattr(migrate_mod, "migrate", lambda *a, **kw: (seen.append(kw["limits"]), real(*a, **kw))[1])
    capsys.readouterr()
    assert main(["repo", "migrate", "--engine", "lmdb"]) == 0
    assert seen == [defaults.store]
