import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipld import dagpb
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.unixfs.walk import check_name, walk


def test_walk_pre_order_with_hamt_and_symlink():
    dag = DagBuilder()
    f = dag.raw(b"abc")
    h = dag.hamt({f"n{i}": dag.raw(bytes([i])) for i in range(50)}, fanout=4)
    root = dag.directory({"a": dag.directory({"f": f, "ln": dag.symlink("f")}), "h": h, "z": f})
    items = list(walk(dag.store, root))
    paths = [i.path for i in items]
    assert paths[0] == () and items[0].type == "directory"
    assert paths[1:4] == [("a",), ("a", "f"), ("a", "ln")]
    assert items[3].type == "symlink" and items[3].size == 1
    assert paths[4] == ("h",)
    assert sorted(p[1] for p in paths if len(p) == 2 and p[0] == "h") == sorted(f"n{i}" for i in range(50))
    assert paths[-1] == ("z",) and items[-1].size == 3


def test_walk_single_file():
    dag = DagBuilder()
    f = dag.raw(b"abc")
    assert [(i.path, i.type, i.size) for i in walk(dag.store, f)] == [((), "file", 3)]


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "x\0y", "..\\x"])
def test_unsafe_names_refused(name):
    dag = DagBuilder()
    f = dag.raw(b"evil")
    link = dagpb.PBLink(f, name, 4)
    d = dag.raw_node(dagpb.PBNode((link,), pb.DIRECTORY_DATA))
    with pytest.raises(InvalidInput, match="unsafe link name"):
        list(walk(dag.store, d))
    with pytest.raises(InvalidInput):
        check_name(name, d)


def test_safe_names_pass():
    dag = DagBuilder()
    assert check_name("...", dag.raw(b"")) == "..."
    assert check_name("naïve file.txt", dag.raw(b"")) == "naïve file.txt"
