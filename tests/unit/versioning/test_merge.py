from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.versioning.merge import merge_trees
from jiaozi_node.versioning.tree import Link, list_dir


def setup():
    d = DagBuilder()
    built = []

    def build(entries):
        cid = d.directory({n: link.cid for n, link in entries.items()})
        built.append(cid)
        return Link(cid, d.tsizes[cid])

    return d, build, built


def flat(d, cid, prefix=""):
    out = {}
    for name, link in list_dir(d.store.get, cid).items():
        try:
            out.update(flat(d, link.cid, prefix + name + "/"))
        except Exception:
            out[prefix + name] = link.cid
    return out


def test_clean_three_way_merge():
    d, build, built = setup()
    f = {k: d.raw(k.encode()) for k in ("a", "b", "c", "x", "y", "z")}
    base = d.directory({"a": f["a"], "dir": d.directory({"x": f["x"]}), "keep": f["c"]})
    ours = d.directory({"a": f["b"], "dir": d.directory({"x": f["x"], "y": f["y"]}), "keep": f["c"]})
    theirs = d.directory({"a": f["a"], "dir": d.directory({"x": f["x"], "z": f["z"]}), "new": f["z"]})
    r = merge_trees(d.store.get, base, ours, theirs, build_dir=build)
    assert r.conflicts == []
    assert flat(d, r.root.cid) == {"a": f["b"], "dir/x": f["x"], "dir/y": f["y"], "dir/z": f["z"], "new": f["z"]}


def test_one_sided_changes_reuse_subtrees():
    d, build, built = setup()
    a, b = d.raw(b"a"), d.raw(b"b")
    base = d.directory({"a": a})
    ours = d.directory({"a": a, "b": b})
    assert merge_trees(d.store.get, base, ours, base, build_dir=build).root.cid == ours
    assert merge_trees(d.store.get, base, base, ours, build_dir=build).root.cid == ours
    assert built == []


def test_conflicts_reported_and_strategies():
    d, build, built = setup()
    a, b, c = d.raw(b"a"), d.raw(b"b"), d.raw(b"c")
    base = d.directory({"f": a, "del": a, "other": a})
    ours = d.directory({"f": b, "del": b, "other": a, "added": b})
    theirs = d.directory({"f": c, "added": c, "other": b})
    r = merge_trees(d.store.get, base, ours, theirs, build_dir=build)
    assert sorted(r.conflicts) == ["added", "del", "f"]
    r = merge_trees(d.store.get, base, ours, theirs, build_dir=build, strategy="ours")
    assert flat(d, r.root.cid) == {"f": b, "del": b, "added": b, "other": b}
    r = merge_trees(d.store.get, base, ours, theirs, build_dir=build, strategy="theirs")
    assert flat(d, r.root.cid) == {"f": c, "added": c, "other": b}
    with pytest.raises(InvalidInput):
        merge_trees(d.store.get, base, ours, theirs, build_dir=build, strategy="union")


def test_file_vs_directory_conflict_and_unrelated():
    d, build, built = setup()
    a = d.raw(b"a")
    ours = d.directory({"p": a})
    theirs = d.directory({"p": d.directory({"q": a})})
    assert merge_trees(d.store.get, None, ours, theirs, build_dir=build).conflicts == ["p"]
    both = merge_trees(d.store.get, None, d.directory({"x": a}), d.directory({"y": a}), build_dir=build)
    assert flat(d, both.root.cid) == {"x": a, "y": a}


def test_merge_of_hamt_directories_with_the_real_builder():
    from jiaozi_node.config import UNIXFS_V1_2025
    from jiaozi_node.store.base import MemoryBlockstore
    from jiaozi_node.unixfs.directory import DirEntry, build_directory
    from jiaozi_node.versioning.tree import read_dir_node

    store = MemoryBlockstore()
    d = DagBuilder()
    leaves = {f"row-{i:05d}": d.raw(str(i).encode()) for i in range(6000)}
    for c in leaves.values():
        store.put(c, d.store.get(c))

    def build(entries: dict) -> Link:
        cid, tsize, blocks = build_directory([DirEntry(n, link.cid, link.tsize) for n, link in entries.items()],
                                             profile=UNIXFS_V1_2025)
        store.put_many(blocks)
        return Link(cid, tsize)

    base_entries = {n: Link(c, 1) for n, c in leaves.items()}
    base = build(base_entries).cid
    ours = build({**base_entries, "ours-only": Link(leaves["row-00001"], 1)}).cid
    theirs_entries = dict(base_entries)
    del theirs_entries["row-00002"]
    theirs = build(theirs_entries).cid
    r = merge_trees(store.get, base, ours, theirs, build_dir=build)
    assert r.conflicts == []
    merged = list_dir(store.get, r.root.cid)
    assert "ours-only" in merged and "row-00002" not in merged and len(merged) == 6000
    assert read_dir_node(store.get, r.root.cid).hamt
