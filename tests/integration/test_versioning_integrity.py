"""Bad input and concurrency: tampered/missing/untrusted objects, absurd depth, GC, racing commits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jiaozi_node.errors import (
    CorruptBlock,
    HashMismatch,
    LimitExceeded,
    NotFound,
    RefConflict,
    SignatureError,
)
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, DAG_CBOR, RAW
from jiaozi_node.node import Node
from jiaozi_node.repo import Repo
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import Author, Commit


def make_data(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"f{i}.txt").write_text(f"content {i}\n")
    return root


@pytest.fixture
def node(tmp_path):
    n = Node.open(tmp_path / "repo")
    n.versioning.create_repo("ds", now=1)
    yield n
    n.close()


def test_tampered_commit_is_detected(node, tmp_path):
    vs = node.versioning
    c1 = vs.commit("ds", make_data(tmp_path / "d"), branch="main", message="one", now=10).cid
    good = node.blocks.get(c1)
    node.blocks.delete(c1)
    node.blocks.put(c1, good.replace(b"one", b"two"))  # same CID, changed bytes
    with pytest.raises((CorruptBlock, HashMismatch)):
        vs.verify("ds@main")
    node.blocks.delete(c1)
    node.blocks.put(c1, good)
    assert vs.verify("ds@main").commits == 1


def test_tampered_data_block_is_detected(node, tmp_path):
    vs = node.versioning
    c1 = vs.commit("ds", make_data(tmp_path / "d"), branch="main", message="one", now=10).cid
    # A file's own block (small files are single raw leaves in the default profile). Not "the
    # first raw CID listed": `cids()` lists every block as raw CIDv1 in engine order, and that
    # may be the commit itself.
    leaf = CID.of(b"content 0\n", codec=RAW)
    assert node.blocks.has(leaf)
    data = node.blocks.get(leaf)
    node.blocks.delete(leaf)
    node.blocks.put(leaf, data + b"!")
    with pytest.raises((CorruptBlock, HashMismatch), match="dataset of commit"):
        vs.verify(str(c1))
    assert vs.verify(str(c1), data=False).commits == 1  # --shallow checks commits only


def test_missing_objects(node, tmp_path):
    vs = node.versioning
    d = make_data(tmp_path / "d")
    c1 = vs.commit("ds", d, branch="main", message="one", now=10).cid
    (d / "f0.txt").write_text("new\n")
    vs.commit("ds", d, branch="main", message="two", now=11)
    node.blocks.delete(c1)
    with pytest.raises(NotFound, match=f"commit {c1} is missing"):
        vs.verify("ds@main")
    with pytest.raises(NotFound):
        vs.log("ds@main")
    # a ref pointing at an object we do not have
    vs.refs.update_ref("ds", "heads/ghost", c1, expected=None)
    with pytest.raises(NotFound, match="not in the local store"):
        vs.checkout("ds@ghost", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_untrusted_and_forged_signers(node, tmp_path):
    vs = node.versioning
    other = Repo.init(tmp_path / "other")
    root = vs.commit("ds", make_data(tmp_path / "d"), branch="main", message="mine", now=10).commit.root
    foreign = signing.sign(Commit(root, (), Author("eve", other.peer_id), "theirs", 20), other.identity)
    fb = foreign.block()
    node.blocks.put(fb.cid, fb.data)
    vs.refs.update_ref("ds", "heads/foreign", fb.cid, expected=None)
    with pytest.raises(SignatureError, match=f"untrusted key.*{other.peer_id}"):
        vs.verify("ds@foreign")
    report = vs.verify("ds@foreign", require_trusted=False)
    assert report.untrusted == [other.peer_id]
    vs.trust_add(other.peer_id)
    assert vs.verify("ds@foreign").signers == {other.peer_id: 1}
    # forged: claims to be by `other`, signed by us → bad signature
    forged = Commit(root, (), Author("eve", other.peer_id), "forged", 21)
    forged = forged.with_signature(node.repo.identity.sign(forged.signing_payload()))
    fb2 = forged.block()
    node.blocks.put(fb2.cid, fb2.data)
    with pytest.raises(SignatureError, match="bad signature"):
        vs.verify(str(fb2.cid))
    # unsigned: a commit-shaped block without a valid sig field
    node_map = forged.unsigned_node()
    node_map["sig"] = b"\x00" * 64
    raw = dagcbor.encode(node_map)
    ub = Block.create(raw, codec=DAG_CBOR)
    node.blocks.put(ub.cid, ub.data)
    with pytest.raises(SignatureError):
        vs.verify(str(ub.cid))


def test_absurd_depth_refused(tmp_path):
    from dataclasses import replace

    from jiaozi_node.config import Defaults, VersioningLimits

    n = Node.open(tmp_path / "repo", defaults=replace(Defaults(), versioning=VersioningLimits(max_history_depth=5)))
    vs = n.versioning
    vs.create_repo("ds", now=1)
    d = make_data(tmp_path / "d", 1)
    for i in range(7):
        (d / "f0.txt").write_text(str(i))
        vs.commit("ds", d, branch="main", message=str(i), now=i)
    with pytest.raises(LimitExceeded, match="deeper than 5"):
        vs.verify("ds@main")
    with pytest.raises(LimitExceeded):
        vs.log("ds@main")
    n.close()


def test_gc_keeps_versioned_data(node, tmp_path):
    from jiaozi_node.store.gc import collect

    vs = node.versioning
    d = make_data(tmp_path / "d")
    c1 = vs.commit("ds", d, branch="main", message="one", now=10).cid
    (d / "f1.txt").write_text("changed\n")
    vs.commit("ds", d, branch="main", message="two", now=11)
    orphan = Block.create(b"garbage", codec=0x55)
    node.blocks.put(orphan.cid, orphan.data)
    removed = list(collect(node.pins))
    assert [c.multihash for c in removed] == [orphan.cid.multihash]
    assert vs.verify("ds@main").commits == 2
    assert vs.verify(str(c1)).data_blocks > 0


def test_lost_race_is_a_clear_conflict(node, tmp_path):
    vs = node.versioning
    d = make_data(tmp_path / "d")
    c1 = vs.commit("ds", d, branch="main", message="one", now=10).cid
    # another writer moves the branch between our read and our CAS
    real_get = vs.refs.get_ref

    def get_then_move(repo, ref):
        head = real_get(repo, ref)
        if ref == "heads/main" and head == c1:
            other = signing.sign(Commit(vs.load_commit(c1).root, (c1,), vs.author(), "other", 11), node.repo.identity)
            vs.store_object(other)
            vs.refs.update_ref("ds", "heads/main", other.block().cid, expected=c1)
        return head

    vs.refs.get_ref = get_then_move
    (d / "f2.txt").write_text("mine\n")
    with pytest.raises(RefConflict, match="branch main moved, now at"):
        vs.commit("ds", d, branch="main", message="mine", now=12)
    vs.refs.get_ref = real_get
    assert vs.load_commit(vs.branch_head("ds", "main")).message == "other"


RACE = r"""
import json, sys, time
from jiaozi_node.errors import RefConflict
from jiaozi_node.node import Node
node = Node.open(sys.argv[1])
ok = conflicts = 0
for i in range(int(sys.argv[3])):
    open(sys.argv[2] + "/mine.txt", "w").write(f"{sys.argv[4]} {i}")
    while True:
        try:
            node.versioning.commit("ds", sys.argv[2], branch="main", message=f"{sys.argv[4]}-{i}", now=int(time.time()))
            ok += 1
            break
        except RefConflict:
            conflicts += 1
node.close()
print(json.dumps([ok, conflicts]))
"""


def _race(repo_paths: list[Path], tmp_path: Path, per: int) -> int:
    procs = []
    for k, rp in enumerate(repo_paths):
        wd = tmp_path / f"w{k}"
        make_data(wd, 2)
        procs.append(subprocess.Popen([sys.executable, "-c", RACE, str(rp), str(wd), str(per), f"w{k}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    total = 0
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        total += json.loads(out)[0]
    return total


def test_racing_commit_processes_lose_nothing_sqlite(node, tmp_path):
    node.close()
    total = _race([tmp_path / "repo"] * 3, tmp_path, 6)
    n = Node.open(tmp_path / "repo")
    log = n.versioning.log("ds@main")
    assert total == 18 and len(log) == 18
    assert sorted(c.message for _, c in log) == sorted(f"w{k}-{i}" for k in range(3) for i in range(6))
    n.close()


@pytest.mark.postgres
def test_two_nodes_sharing_postgres_lose_nothing(postgres_url, tmp_path):
    """Three nodes (separate repos, block stores and keys) share one PostgreSQL refs database."""
    repos = [Repo.init(tmp_path / f"node{k}", db=postgres_url).path for k in range(3)]
    n0 = Node.open(repos[0])
    n0.versioning.create_repo("ds", now=1)
    n0.close()
    total = _race(repos, tmp_path, 5)
    assert total == 15
    # every successful commit is in the chain: count by walking parents across the nodes' stores
    stores = [Node.open(r) for r in repos]
    head = stores[0].versioning.branch_head("ds", "main")
    seen = 0
    while True:
        for s in stores:
            if s.blocks.has(head):
                c = s.versioning.load_commit(head)
                break
        seen += 1
        if not c.parents:
            break
        head = c.parents[0]
    assert seen == 15
    for s in stores:
        s.close()
