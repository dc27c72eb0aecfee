import pytest

from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.unixfs.resolve import parse_path, resolve, resolve_trace


def build():
    dag = DagBuilder()
    f = dag.raw(b"deep file")
    many = {f"e{i}": dag.raw(str(i).encode()) for i in range(400)}
    many["target"] = dag.directory({"f.txt": f})
    h = dag.hamt(many)
    root = dag.directory({"sharded": h, "plain": dag.directory({"x": f}), "ln": dag.symlink("plain")})
    dag.many = many
    return dag, root, h, f


def test_parse_path_forms():
    dag, root, _h, _f = build()
    s = str(root)
    assert parse_path(s) == (root, [])
    assert parse_path(f"/ipfs/{s}/a//b/") == (root, ["a", "b"])
    assert parse_path(f"ipfs://{s}/a") == (root, ["a"])
    assert parse_path(f"{s}/a/b") == (root, ["a", "b"])
    with pytest.raises(InvalidInput, match="namespace"):
        parse_path(f"/ipns/{s}")
    with pytest.raises(InvalidInput, match="not a valid CID"):
        parse_path("nonsense/a")
    with pytest.raises(InvalidInput):
        parse_path("")


def test_resolve_through_plain_and_hamt():
    dag, root, h, f = build()
    assert resolve(dag.store, root, "") == root
    assert resolve(dag.store, root, "plain/x") == f
    assert resolve(dag.store, root, "sharded/target/f.txt") == f
    assert resolve(dag.store, root, ["sharded", "e7"]) == dag.many["e7"]
    target, trail = resolve_trace(dag.store, root, ["sharded", "target", "f.txt"])
    assert target == f
    assert trail[0] == root and trail[1] == h and len(trail) >= 3


def test_resolve_errors():
    dag, root, _h, _f = build()
    with pytest.raises(NotFound, match=f"no link named 'nope' under {root}"):
        resolve(dag.store, root, "nope")
    with pytest.raises(NotFound, match="no link named 'nope'"):
        resolve(dag.store, root, "sharded/nope")
    with pytest.raises(InvalidInput, match="file"):
        resolve(dag.store, root, "plain/x/more")
    with pytest.raises(InvalidInput, match="symlink"):
        resolve(dag.store, root, "ln/x")  # symlinks are never followed
