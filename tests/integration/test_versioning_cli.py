"""The versioning commands end to end through `jzfs` (in-process), including the FIXED forms."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jiaozi_node.cli.main import main
from jiaozi_node.ipld.cid import CID
from jiaozi_node.node import Node


@pytest.fixture
def jz(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "repo"))
    assert main(["init"]) == 0
    capsys.readouterr()

    def run(*argv: str, ok: bool = True) -> str:
        rc = main(list(argv))
        out, err = capsys.readouterr()
        if ok:
            assert rc == 0, err
        else:
            assert rc != 0, out
            return err
        return out

    return run


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_fixed_forms_end_to_end(jz, tmp_path):
    data = write(tmp_path / "data", {"a.csv": "x,y\n1,2\n", "docs/readme.md": "hi\n", "docs/old.txt": "old"})
    jz("repo", "create", "ds")
    c1 = jz("commit", "ds", str(data), "-b", "main", "-m", "first", "-Q").strip()
    assert CID.decode(c1).codec == 0x71 and c1.startswith("bafyrei")
    jz("branch", "create", "ds", "feature", "--from", "main")
    (data / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (data / "docs" / "old.txt").unlink()
    (data / "new.bin").write_bytes(os.urandom(3000))
    c2 = jz("commit", "ds", str(data), "-b", "feature", "-m", "second", "-Q").strip()

    diff = json.loads(jz("diff", "ds@main", "ds@feature", "--json"))
    assert diff == [{"path": "a.csv", "change": "modified"}, {"path": "docs/old.txt", "change": "removed"},
                    {"path": "new.bin", "change": "added"}]
    assert "3 paths changed: 1 added, 1 removed, 1 modified" in jz("diff", "ds@main", "ds@feature", "--stat")

    log = json.loads(jz("log", "ds@feature", "--json"))
    assert [e["cid"] for e in log] == [c2, c1]
    assert log[0]["parents"] == [c1] and log[1]["parents"] == []
    assert log[0]["message"] == "second" and isinstance(log[0]["timestamp"], int)
    assert log[0]["author"]["peer"].startswith("12D3KooW")

    out = tmp_path / "out"
    jz("checkout", f"ds@{c1}", "-o", str(out))
    assert (out / "a.csv").read_text() == "x,y\n1,2\n" and (out / "docs" / "old.txt").read_text() == "old"
    err = jz("checkout", "ds@feature", "-o", str(out), ok=False)
    assert "not an empty directory" in err

    assert "verified 2 commits" in jz("verify", "ds@feature")
    assert "verified 1 commits" in jz("verify", c1)
    dag = json.loads(jz("dag", "get", c2))
    assert dag["type"] == "jzfs/commit" and dag["parents"] == [{"/": c1}] and "/" in dag["sig"]

    # fast-forward merge, then the repo listing
    assert "fast-forward" in jz("merge", "ds", "feature", "--into", "main", "-m", "ff")
    assert json.loads(jz("log", "ds@main", "--json"))[0]["cid"] == c2
    assert "already up to date" in jz("merge", "ds", "feature", "--into", "main", "-m", "again")
    assert json.loads(jz("repo", "list", "--json")) == ["ds"]


def test_three_way_merge_and_conflicts(jz, tmp_path):
    base = write(tmp_path / "w", {"shared.txt": "base\n", "left.txt": "l\n", "right.txt": "r\n"})
    jz("repo", "create", "ds")
    jz("commit", "ds", str(base), "-b", "main", "-m", "base", "-Q")
    jz("branch", "create", "ds", "dev", "--from", "main")
    (base / "left.txt").write_text("l2\n")
    jz("commit", "ds", str(base), "-b", "main", "-m", "main side", "-Q")
    (base / "left.txt").write_text("l\n")
    (base / "right.txt").write_text("r2\n")
    (base / "extra").mkdir()
    (base / "extra" / "f").write_text("f")
    dev = jz("commit", "ds", str(base), "-b", "dev", "-m", "dev side", "-Q").strip()
    out = jz("merge", "ds", "dev", "--into", "main", "-m", "merge dev")
    assert "merged dev into main" in out
    log = json.loads(jz("log", "ds@main", "--json"))
    assert len(log[0]["parents"]) == 2 and log[0]["parents"][1] == dev
    co = tmp_path / "co"
    jz("checkout", "ds@main", "-o", str(co))
    assert (co / "left.txt").read_text() == "l2\n" and (co / "right.txt").read_text() == "r2\n"
    assert (co / "extra" / "f").read_text() == "f"

    # a conflict: both sides change shared.txt differently → refused, DST untouched
    jz("branch", "create", "ds", "x", "--from", "main")
    head_before = json.loads(jz("log", "ds@main", "--json"))[0]["cid"]
    w = tmp_path / "co"
    (w / "shared.txt").write_text("main version\n")
    jz("commit", "ds", str(w), "-b", "main", "-m", "m", "-Q")
    head_before = json.loads(jz("log", "ds@main", "--json"))[0]["cid"]
    (w / "shared.txt").write_text("x version\n")
    jz("commit", "ds", str(w), "-b", "x", "-m", "x", "-Q")
    err = jz("merge", "ds", "x", "--into", "main", "-m", "conflict", ok=False)
    assert "conflicting path(s): shared.txt" in err
    assert json.loads(jz("log", "ds@main", "--json"))[0]["cid"] == head_before
    jz("merge", "ds", "x", "--into", "main", "-m", "take theirs", "--strategy", "theirs")
    co2 = tmp_path / "co2"
    jz("checkout", "ds@main", "-o", str(co2))
    assert (co2 / "shared.txt").read_text() == "x version\n"


def test_status_uses_the_stat_cache(jz, tmp_path):
    data = write(tmp_path / "d", {f"f{i}.txt": f"file {i}\n" for i in range(30)})
    jz("repo", "create", "ds")
    jz("commit", "ds", str(data), "-b", "main", "-m", "one", "-Q")
    assert "clean" in jz("status", "ds", str(data))
    with Node.open() as node:
        from jiaozi_node.versioning.snapshot import SnapshotSink, SnapshotStats, snapshot

        stats = SnapshotStats()
        snapshot(str(data), profile=node.versioning.profile,
                 sink=SnapshotSink(node.blocks, stats, write=False), cache=node.versioning.statcache, stats=stats)
        assert stats.files == 30
        # files written just before the commit are "racily clean" and re-read once; never more
        assert stats.hashed_files <= 30
        stats2 = SnapshotStats()
        (data / "f3.txt").write_text("changed!\n")
        os.utime(data / "f3.txt", ns=(0, 1_000_000_000))
        for i in range(30):
            if i != 3:
                os.utime(data / f"f{i}.txt", ns=(0, 1_000_000_000))
        # after a re-commit with old mtimes the cache is trusted: nothing is re-read
        node.versioning.commit("ds", data, branch="main", message="two", now=2)
        snapshot(str(data), profile=node.versioning.profile,
                 sink=SnapshotSink(node.blocks, stats2, write=False), cache=node.versioning.statcache, stats=stats2)
        assert stats2.files == 30 and stats2.hashed_files == 0
    (data / "f4.txt").write_text("edited\n")
    (data / "f0.txt").unlink()
    assert jz("status", "ds", str(data)).split("\n")[:2] == ["D  f0.txt", "M  f4.txt"]


def test_tags_show_and_trust(jz, tmp_path):
    data = write(tmp_path / "d", {"a": "1"})
    jz("repo", "create", "ds")
    c1 = jz("commit", "ds", str(data), "-b", "main", "-m", "one", "-Q").strip()
    jz("tag", "create", "ds", "light", "--from", "main")
    out = jz("tag", "create", "ds", "v1", "--from", "main", "-a", "-m", "release 1")
    assert "annotated tag v1" in out
    tags = json.loads(jz("tag", "list", "ds", "--json"))
    assert tags["light"] == c1 and tags["v1"] != c1
    show = json.loads(jz("show", "ds@v1", "--json"))
    assert show["cid"] == c1 and show["tag"]["name"] == "v1" and show["signature"] == "verified" and show["tag"]["signature"] == "verified"
    assert "verified 1 commits" in jz("verify", "ds@v1")
    assert json.loads(jz("log", "ds@v1", "--json"))[0]["cid"] == c1
    assert json.loads(jz("branch", "list", "ds", "--json")) == {"main": c1}
    peer = json.loads(jz("trust", "list", "--json"))
    assert len(peer) == 1
    other = Node.open(tmp_path / "other")
    jz("trust", "add", other.repo.peer_id)
    assert other.repo.peer_id in jz("trust", "list")
    jz("trust", "rm", other.repo.peer_id)
    assert "not in the trust list" in jz("trust", "rm", other.repo.peer_id, ok=False)
    assert "does not inline an Ed25519 key" in jz("trust", "add", "nonsense", ok=False)
    jz("tag", "delete", "ds", "light")
    jz("branch", "delete", "ds", "main")
    assert "no branch, tag or commit named 'main'" in jz("log", "ds@main", ok=False)


def test_provenance(jz, tmp_path):
    data = write(tmp_path / "d", {"a": "1"})
    jz("repo", "create", "ds")
    c1 = jz("commit", "ds", str(data), "-b", "main", "-m", "raw", "-Q").strip()
    jz("commit", "ds", str(data), "-b", "main", "-m", "clean", "-Q", "--input", c1, "--input", "raw@main",
       "--cmd", "python clean.py", "--param", "threshold=0.5", "--param", "mode=fast")
    entry = json.loads(jz("log", "ds@main", "--json"))[0]
    assert entry["provenance"] == {"inputs": [c1, "raw@main"], "command": "python clean.py",
                                   "params": {"mode": "fast", "threshold": "0.5"}}
    text = jz("log", "ds@main", "--provenance")
    assert "Command: python clean.py" in text and "Param:  threshold=0.5" in text


def test_errors_are_one_line(jz, tmp_path):
    assert "no repository named 'nope'" in jz("commit", "nope", str(tmp_path), "-b", "main", "-m", "x", ok=False)
    jz("repo", "create", "ds")
    assert "already exists" in jz("repo", "create", "ds", ok=False)
    assert "not a directory" in jz("commit", "ds", str(tmp_path / "missing"), "-b", "main", "-m", "x", ok=False)
    assert "no branch, tag or commit named 'zzz'" in jz("log", "ds@zzz", ok=False)
    assert "invalid repository name" in jz("repo", "create", "bad name", ok=False)


def test_repo_delete(jz, tmp_path):
    data = write(tmp_path / "d", {"a.txt": "a\n"})
    jz("repo", "create", "ds")
    jz("repo", "create", "other")
    jz("commit", "ds", str(data), "-b", "main", "-m", "one", "-Q")
    out = jz("repo", "delete", "ds")
    assert out == "deleted repository ds (its blocks are removed by the next `jzfs repo gc`)\n"
    assert json.loads(jz("repo", "list", "--json")) == ["other"] or "ds" not in jz("repo", "list")
    err = jz("log", "ds@main", ok=False)
    assert err.count("\n") == 1 and err.startswith("Error:")
    err = jz("repo", "delete", "ds", ok=False)
    assert err.count("\n") == 1 and "ds" in err
    assert "removed" in jz("repo", "gc")  # the deleted dataset's blocks are no longer kept
