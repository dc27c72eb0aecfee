"""Unit checks of the service's name handling; the flows are in tests/integration/test_versioning_*."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.node import Node
from jiaozi_node.versioning.service import split_spec


def test_split_spec():
    assert split_spec("ds@main") == ("ds", "main")
    assert split_spec("bafyx") == (None, "bafyx")
    for bad in ("@main", "ds@"):
        with pytest.raises(InvalidInput):
            split_spec(bad)


def test_resolution_order_and_errors(tmp_path):
    with Node.open(tmp_path / "r") as node:
        vs = node.versioning
        vs.create_repo("ds", now=1)
        d = tmp_path / "d"
        d.mkdir()
        (d / "f").write_text("1")
        c1 = vs.commit("ds", d, branch="main", message="one", now=1).cid
        (d / "f").write_text("2")
        c2 = vs.commit("ds", d, branch="dev", message="two", now=2).cid
        # a tag named like a branch: the branch wins, as in git
        vs.refs.update_ref("ds", "tags/dev", c1, expected=None)
        assert vs.resolve("ds@dev") == c2
        assert vs.resolve("ds@tags/dev") == c1
        assert vs.resolve(f"ds@{c1}") == c1 and vs.resolve(str(c1)) == c1
        assert vs.resolve("main", dataset="ds") == c1
        with pytest.raises(InvalidInput, match="neither"):
            vs.resolve("main")
        with pytest.raises(NotFound, match="no repository"):
            vs.resolve("nope@main")
        assert vs.author().peer == node.repo.peer_id
        node.repo.set_config("Versioning.Author", {"Name": "Ada", "Email": "ada@x"})
        assert (vs.author().name, vs.author().email) == ("Ada", "ada@x")
        node.repo.set_config("Versioning.Chunker", "buzhash")
        assert vs.profile.chunker == "buzhash"
        assert set(vs.gc_roots()) == {c1, c2}


def test_trust_while_keeps_only_what_completed(tmp_path):
    from jiaozi_node.identity import Identity

    with Node.open(tmp_path / "r") as node:
        vs = node.versioning
        peer, other = Identity.generate().peer_id, Identity.generate().peer_id
        with pytest.raises(RuntimeError), vs.trust_while(peer):
            assert peer in vs.trusted_keys()  # trusted while the operation runs
            raise RuntimeError("clone failed")
        assert peer not in vs.trusted_keys()
        vs.trust_add(other)
        with pytest.raises(KeyboardInterrupt), vs.trust_while(other):
            raise KeyboardInterrupt
        assert other in vs.trusted_keys()  # trusted before: stays
        with vs.trust_while(peer):
            pass
        assert peer in vs.trusted_keys()
        vs.trust_discard(peer)
        vs.trust_discard(peer)  # absent: no error
        assert peer not in vs.trusted_keys()


def test_git_ancestry_suffixes(tmp_path):
    # the audit: `jzfs diff ds@main~1 ds@main` said "no branch, tag or commit named 'main~1'"
    with Node.open(tmp_path / "r") as node:
        vs = node.versioning
        vs.create_repo("ds", now=1)
        d = tmp_path / "d"
        d.mkdir()
        cids = []
        for i in range(3):
            (d / "f").write_text(str(i))
            cids.append(vs.commit("ds", d, branch="main", message=str(i), now=i + 1).cid)
        assert vs.resolve("ds@main~1") == cids[1] and vs.resolve("ds@main^") == cids[1]
        assert vs.resolve("ds@main~2") == vs.resolve("ds@main^^") == vs.resolve("ds@main~~") == cids[0]
        assert vs.resolve("ds@main^0") == vs.resolve("ds@main~0") == cids[2]
        assert vs.resolve(f"{cids[2]}~1") == cids[1] and vs.resolve("main~1", dataset="ds") == cids[1]
        vs.refs.update_ref("ds", "tags/v2", cids[2], expected=None)
        assert vs.resolve("ds@v2~2") == cids[0]
        assert vs.resolve_checked("ds@main~1", verify=True)[0] == cids[1]
        with pytest.raises(NotFound, match="past the first commit"):
            vs.resolve("ds@main~3")
        with pytest.raises(NotFound, match="no parent number 2"):
            vs.resolve("ds@main^2")
        assert [c.path for c in vs.diff("ds@main~1", "ds@main")] == ["f"]


def test_checkout_writes_with_the_nodes_tree_limits(tmp_path):
    from dataclasses import replace

    from jiaozi_node.config import Defaults, TreeLimits
    from jiaozi_node.errors import LimitExceeded

    with Node.open(tmp_path / "r", defaults=replace(Defaults(), tree=TreeLimits(max_tree_depth=1))) as node:
        vs = node.versioning
        vs.create_repo("ds", now=1)
        (tmp_path / "d" / "a" / "b").mkdir(parents=True)
        (tmp_path / "d" / "a" / "b" / "f").write_text("deep")
        vs.commit("ds", tmp_path / "d", branch="main", message="one", now=1)
        with pytest.raises(LimitExceeded):
            vs.checkout("ds@main", tmp_path / "out")
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_commit_reads_files_with_the_nodes_add_tuning(tmp_path, monkeypatch):
    from dataclasses import replace

    from jiaozi_node.config import AddTuning, Defaults
    from jiaozi_node.node import files

    tuning = AddTuning(read_bytes=4096)
    seen = []
    real = files.import_stream
    monkeypatch.setattr(files, "import_stream", lambda *a, **kw: (seen.append(kw["tuning"]), real(*a, **kw))[1])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("1")
    with Node.open(tmp_path / "r", defaults=replace(Defaults(), add=tuning)) as node:
        node.versioning.create_repo("ds", now=1)
        node.versioning.commit("ds", tmp_path / "d", branch="main", message="one", now=1)
    assert seen == [tuning]


def test_refs_and_trust_load_no_snapshot_diff_or_merge_code(tmp_path):
    """clone/pull/fetch use the refs, the trust list and commits only: the snapshot, statcache,
    diff and merge modules load where they are used (start-up of the sync commands)."""
    import subprocess
    import sys

    code = ("import sys; from jiaozi_node.node import Node; n = Node.open(sys.argv[1]); "
            "n.versioning.create_repo('ds', now=1); n.versioning.trusted_keys(); n.close(); "
            "print(sorted(m for m in sys.modules if m.startswith('jiaozi_node.versioning')))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r")], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    for mod in ("snapshot", "statcache", "diff", "merge", "rowdiff"):
        assert f"jiaozi_node.versioning.{mod}'" not in out, out
