import os

import pytest

from jiaozi_node.config import Defaults, IoTuning, TreeLimits
from jiaozi_node.errors import InvalidInput, LimitExceeded, NotFound
from jiaozi_node.ipld import dagpb
from jiaozi_node.node.files_read import FilesReader
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder


class FakeNode:
    def __init__(self, store, defaults=None):
        self.blocks = store
        self.defaults = defaults or Defaults()


def build():
    dag = DagBuilder()
    f = dag.chunked(bytes(range(256)) * 40, chunk=500, width=3)
    h = dag.hamt({f"n{i}": dag.raw(b"%d" % i) for i in range(100)}, fanout=16)
    root = dag.directory({"f.bin": f, "h": h, "ln": dag.symlink("f.bin"), "e": dag.directory({})})
    return dag, root, f


def test_injectable_getter_and_node_default():
    dag, root, f = build()
    calls = []

    class Getter:
        def get(self, cid):
            calls.append(cid)
            return dag.store.get(cid)

    assert FilesReader.for_node(FakeNode(dag.store)).resolve(f"{root}/f.bin") == f
    reader = FilesReader.for_node(FakeNode(None), getter=Getter())
    assert b"".join(reader.cat(f"/ipfs/{root}/f.bin", offset=10, length=5)) == bytes(range(10, 15))
    assert calls and calls[0] == root


def test_ls_directory_file_and_symlink():
    dag, root, f = build()
    r = FilesReader(dag.store)
    assert [e.name for e in r.ls(str(root))] == ["e", "f.bin", "h", "ln"]
    assert len(r.ls(f"{root}/h")) == 100
    (only,) = r.ls(f"{root}/f.bin")
    assert (only.name, only.cid, only.size, only.type) == ("f.bin", f, 10240, "file")
    assert r.ls(f"{root}/ln")[0].type == "symlink"
    assert r.stat(f"{root}/h").sharded
    with pytest.raises(NotFound):
        r.ls(f"{root}/missing")


def test_get_tree_file_and_symlink(tmp_path):
    dag, root, f = build()
    r = FilesReader(dag.store)
    seen = []
    r.get(root, tmp_path / "tree", on_bytes=seen.append)
    assert (tmp_path / "tree" / "f.bin").read_bytes() == bytes(range(256)) * 40
    assert os.readlink(tmp_path / "tree" / "ln") == "f.bin"
    assert sorted(p.name for p in (tmp_path / "tree" / "h").iterdir()) == sorted(f"n{i}" for i in range(100))
    assert (tmp_path / "tree" / "e").is_dir() and sum(seen) == 10240 + sum(len(b"%d" % i) for i in range(100))
    r.get(f"{root}/f.bin", tmp_path / "single")
    assert (tmp_path / "single").read_bytes() == bytes(range(256)) * 40
    with pytest.raises(InvalidInput, match="already exists"):
        r.get(root, tmp_path / "single")


def test_get_failure_leaves_nothing(tmp_path):
    dag, root, f = build()
    dag.store.delete(dagpb.decode(dag.store.get(f)).links[-1].cid)
    with pytest.raises(NotFound):
        FilesReader(dag.store).get(root, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_duplicate_names_cannot_redirect_writes(tmp_path):
    # A directory with two links named "a": a symlink to elsewhere and a directory. Writing the
    # second must fail instead of following the symlink.
    dag = DagBuilder()
    outside = tmp_path / "outside"
    outside.mkdir()
    evil_dir = dag.directory({"x": dag.raw(b"pwned")})
    links = (dagpb.PBLink(dag.symlink(str(outside)), "a", 1), dagpb.PBLink(evil_dir, "a", 1))
    root = dag.raw_node(dagpb.PBNode(links, pb.DIRECTORY_DATA))
    with pytest.raises(InvalidInput, match="duplicate name 'a'"):
        FilesReader(dag.store).get(root, tmp_path / "dest")
    assert list(outside.iterdir()) == [] and not (tmp_path / "dest").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside"]


def test_the_nodes_tree_limits_and_write_buffer_reach_get(tmp_path, monkeypatch):
    from dataclasses import replace

    from jiaozi_node.node import tree_writer

    dag, root, _ = build()
    defaults = replace(Defaults(), tree=TreeLimits(max_tree_depth=0), io=IoTuning(write_buffer_bytes=1000))
    reader = FilesReader.for_node(FakeNode(dag.store, defaults))
    assert reader.tree_limits is defaults.tree and reader.write_buffer_bytes == 1000
    with pytest.raises(LimitExceeded):  # the root's entries are one level deeper than allowed
        reader.get(root, tmp_path / "deep")
    assert not (tmp_path / "deep").exists()
    writes = []
    real = tree_writer._write_all
    monkeypatch.setattr(tree_writer, "_write_all", lambda fd, parts: (writes.append(sum(len(x) for x in parts)), real(fd, parts)))
    reader = FilesReader.for_node(FakeNode(dag.store, replace(defaults, tree=TreeLimits())))
    reader.get(f"{root}/f.bin", tmp_path / "f.bin")  # 10 240 bytes in 500-byte chunks
    assert (tmp_path / "f.bin").read_bytes() == bytes(range(256)) * 40
    assert max(writes) <= 1000 and sum(writes) == 10240
