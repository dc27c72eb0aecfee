from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import DAG_PB, RAW
from jiaozi_node.ipld.dagpb import PBLink, PBNode, encode
from jiaozi_node.node.core import Node
from jiaozi_node.store.gc import GcIncomplete, collect
from jiaozi_node.store.open import ENGINES
from jiaozi_node.store.walk import reachable


def put_dag(blocks, tag: bytes, n: int = 3):
    leaves = [Block.create(tag + bytes([i]) * 40, codec=RAW) for i in range(n)]
    root = Block.create(encode(PBNode(links=tuple(PBLink(lf.cid, None, None) for lf in leaves))),
                        codec=DAG_PB, version=0)
    blocks.put_many([*leaves, root])
    return root.cid, [lf.cid for lf in leaves]


@pytest.fixture
def node(tmp_path):
    n = Node.open(tmp_path / "repo")
    yield n
    n.close()


def test_gc_removes_only_unreachable(node):
    kept_root, kept_leaves = put_dag(node.blocks, b"keep")
    gone_root, gone_leaves = put_dag(node.blocks, b"gone")
    direct = Block.create(b"direct", codec=RAW)
    loose = Block.create(b"loose", codec=RAW)
    node.blocks.put_many([direct, loose])
    node.pins.add(kept_root)
    node.pins.add(direct.cid, recursive=False)
    removed = list(collect(node.pins))
    assert sorted(c.multihash for c in removed) == sorted(
        c.multihash for c in [gone_root, *gone_leaves, loose.cid])
    assert all(c.version == 1 and c.codec == RAW for c in removed)  # reported by key, like Kubo
    assert reachable(node.blocks, [kept_root]) == {c.multihash for c in [kept_root, *kept_leaves]}
    assert node.blocks.has(direct.cid)
    assert list(collect(node.pins)) == []


def test_gc_keeps_provider_roots(node):
    root, leaves = put_dag(node.blocks, b"ref")
    node.pins.add_root_provider(lambda: [root])
    assert list(collect(node.pins)) == []
    assert all(node.blocks.has(c) for c in leaves)


def test_gc_refuses_to_run_on_incomplete_pinned_dag(node):
    root, leaves = put_dag(node.blocks, b"pin")
    loose = Block.create(b"loose", codec=RAW)
    node.blocks.put(loose.cid, loose.data)
    node.pins.add(root)
    node.blocks.delete(leaves[0])
    with pytest.raises(GcIncomplete, match=str(leaves[0])):
        list(collect(node.pins))
    assert node.blocks.has(loose.cid)  # nothing swept


def corrupt(blocks, cid, data: bytes) -> None:
    blocks.delete(cid)
    blocks.put(cid, data)  # put does not re-hash: the same CID now holds other bytes


def test_gc_reports_every_unreadable_block_and_removes_nothing(node):
    """A corrupt node's links are unknown, so GC sweeps nothing; it names every problem (all of
    them, not the first) and says what to do, instead of stopping at the first with a bare error."""
    a_root, _ = put_dag(node.blocks, b"a")
    b_root, b_leaves = put_dag(node.blocks, b"b")
    loose = Block.create(b"loose", codec=RAW)
    node.blocks.put(loose.cid, loose.data)
    node.pins.add(a_root)
    node.pins.add(b_root)
    corrupt(node.blocks, a_root, b"\x12\x00garbage")
    node.blocks.delete(b_leaves[1])
    seen: list[str] = []
    with pytest.raises(GcIncomplete) as e:
        list(collect(node.pins, on_problem=lambda cid, root, why: seen.append(str(cid))))
    assert sorted(seen) == sorted([str(a_root), str(b_leaves[1])])
    assert len(e.value.problems) == 2 and "repo verify" in str(e.value)
    assert node.blocks.has(loose.cid)


def test_gc_runs_past_a_corrupt_raw_leaf(node):
    """A raw leaf links nowhere: the mark never reads it, a corrupt one does not stop GC."""
    root, leaves = put_dag(node.blocks, b"c")
    loose = Block.create(b"loose", codec=RAW)
    node.blocks.put(loose.cid, loose.data)
    node.pins.add(root)
    corrupt(node.blocks, leaves[0], b"not the leaf")
    assert [c.multihash for c in collect(node.pins)] == [loose.cid.multihash]
    assert node.blocks.has(leaves[0])


def test_gc_holds_the_lock_exclusively(node):
    import fcntl
    import os

    loose = Block.create(b"x", codec=RAW)
    node.blocks.put(loose.cid, loose.data)
    it = collect(node.pins)
    next(it)  # GC is now mid-sweep, holding the lock
    fd = os.open(node.pins.lock.path, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    list(it)
    with node.pins.lock.shared():
        pass


WRITER = textwrap.dedent("""
    import sys
    from jiaozi_node.node.core import Node
    from jiaozi_node.ipld.block import Block
    from jiaozi_node.ipld.cid import DAG_PB, RAW
    from jiaozi_node.ipld.dagpb import PBLink, PBNode, encode
    node = Node.open(sys.argv[1])
    for i in range(int(sys.argv[2])):
        leaves = [Block.create(b"w%d-%d" % (i, j), codec=RAW) for j in range(4)]
        root = Block.create(encode(PBNode(links=tuple(PBLink(l.cid, None, None) for l in leaves))), codec=DAG_PB)
        with node.pins.lock.shared():          # like `add`: from first write until pinned
            node.blocks.put_many(leaves)
            node.blocks.put_many([root])
            node.pins.add(root.cid)
    node.close()
""")


def test_gc_concurrent_with_adds_in_another_process(node, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(node.repo.path), "150"])
    runs = 0
    while proc.poll() is None or runs < 2:
        garbage = Block.create(b"garbage%d" % runs, codec=RAW)
        node.blocks.put(garbage.cid, garbage.data)
        list(collect(node.pins))  # raises NotFound if a pinned DAG lost a block
        assert not node.blocks.has(garbage.cid)
        runs += 1
    assert proc.returncode == 0
    roots = node.pins.roots("recursive")
    assert len(roots) == 150
    assert len(reachable(node.blocks, roots)) == 150 * 5


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_gc_sweeps_in_chunks_while_listing(tmp_path, engine):
    from jiaozi_node.repo import Repo

    Repo.init(tmp_path / "r").set_config("Datastore.Engine", engine)
    with Node.open(tmp_path / "r") as node:
        garbage = [Block.create(b"g%d" % i, codec=RAW) for i in range(50)]
        node.blocks.put_many(garbage)
        root, leaves = put_dag(node.blocks, b"keep")
        node.pins.add(root)
        removed = list(collect(node.pins, chunk=7))
        assert sorted(removed) == sorted(b.cid for b in garbage)
        assert sorted(c.multihash for c in node.blocks.cids()) == sorted(c.multihash for c in [root, *leaves])


def test_gc_keeps_versioning_commits_and_trees(tmp_path):
    """Node.pins registers the versioning refs as GC roots: a committed dataset survives GC."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_bytes(b"x,y\n1,2\n" * 1000)
    (data / "sub").mkdir()
    (data / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4000)
    with Node.open(tmp_path / "r") as node:
        node.versioning.create_repo("ds", now=1)
        head = node.versioning.commit("ds", data, branch="main", message="m", now=2).cid
        loose = Block.create(b"loose", codec=RAW)
        node.blocks.put(loose.cid, loose.data)
        removed = list(collect(node.pins))
        assert [c.multihash for c in removed] == [loose.cid.multihash]
        before = reachable(node.blocks, [head])
        assert len(before) > 3  # commit, root dir, sub dir, files
    with Node.open(tmp_path / "r") as node:  # a fresh process-like open, as `jzfs repo gc` does
        assert list(collect(node.pins)) == []
        node.versioning.checkout(str(head), tmp_path / "out")
        assert (tmp_path / "out" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 4000
