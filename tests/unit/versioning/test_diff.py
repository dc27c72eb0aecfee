from __future__ import annotations

from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.versioning.diff import ADDED, MODIFIED, REMOVED, diff_trees, stat


class Counting:
    def __init__(self, store):
        self.store = store
        self.reads = 0

    def get(self, cid):
        self.reads += 1
        return self.store.get(cid)


def changes(cs):
    return [(c.path, c.change) for c in cs]


def test_basic_diff():
    d = DagBuilder()
    a1, a2, b, c = d.raw(b"a1"), d.raw(b"a2"), d.raw(b"b"), d.raw(b"c")
    deep = d.directory({"x": d.raw(b"x"), "y": d.raw(b"y")})
    t1 = d.directory({"a": a1, "b": b, "dir": deep, "gone": d.directory({"z": c})})
    t2 = d.directory({"a": a2, "b": b, "dir": d.directory({"x": d.raw(b"x")}), "new": c,
                      "newdir": d.directory({"q": c, "e": d.directory({})})})
    cs = diff_trees(d.store.get, t1, t2)
    assert changes(cs) == [("a", MODIFIED), ("dir/y", REMOVED), ("gone/z", REMOVED), ("new", ADDED),
                           ("newdir/e/", ADDED), ("newdir/q", ADDED)]
    assert cs[0].old == a1 and cs[0].new == a2
    assert stat(cs) == {ADDED: 3, REMOVED: 2, MODIFIED: 1}
    assert diff_trees(d.store.get, t1, t1) == []
    assert [c.to_json() for c in cs][:1] == [{"path": "a", "change": "modified"}]


def test_file_becomes_directory():
    d = DagBuilder()
    f = d.raw(b"f")
    t1 = d.directory({"p": f})
    t2 = d.directory({"p": d.directory({"inner": f})})
    assert changes(diff_trees(d.store.get, t1, t2)) == [("p", REMOVED), ("p/inner", ADDED)]


def test_cost_grows_with_change_not_size():
    d = DagBuilder()
    dirs = {f"d{i}": d.directory({f"f{j}": d.raw(f"{i}/{j}".encode()) for j in range(50)}) for i in range(40)}
    t1 = d.directory(dirs)
    changed = dict(dirs)
    changed["d7"] = d.directory({**{f"f{j}": d.raw(f"7/{j}".encode()) for j in range(50)}, "f3": d.raw(b"new")})
    t2 = d.directory(changed)
    counter = Counting(d.store)
    assert changes(diff_trees(counter.get, t1, t2)) == [("d7/f3", MODIFIED)]
    # root pair + d7 pair + the two kind checks of d7 (raw leaves need no read)
    assert counter.reads <= 6


def test_hamt_diff_skips_identical_shards():
    d = DagBuilder()
    entries = {f"file{i:05d}": d.raw(str(i).encode()) for i in range(3000)}
    h1 = d.hamt(entries)
    e2 = dict(entries)
    e2["file00042"] = d.raw(b"changed")
    del e2["file00100"]
    e2["zzz-new"] = d.raw(b"new")
    h2 = d.hamt(e2)
    counter = Counting(d.store)
    cs = diff_trees(counter.get, h1, h2)
    assert changes(cs) == [("file00042", MODIFIED), ("file00100", REMOVED), ("zzz-new", ADDED)]
    total_shards = sum(1 for _ in d.store.cids()) - len(entries) - 2
    assert counter.reads <= 12 < total_shards


def test_plain_vs_hamt_directory():
    d = DagBuilder()
    entries = {f"f{i}": d.raw(str(i).encode()) for i in range(20)}
    plain = d.directory(entries)
    e2 = dict(entries)
    e2["f1"] = d.raw(b"other")
    assert changes(diff_trees(d.store.get, plain, d.hamt(e2, fanout=4))) == [("f1", MODIFIED)]


def test_hamt_built_by_the_real_importer():
    from jiaozi_node.config import UNIXFS_V1_2025
    from jiaozi_node.store.base import MemoryBlockstore
    from jiaozi_node.unixfs.directory import DirEntry, build_directory
    from jiaozi_node.unixfs.importer import import_bytes
    from jiaozi_node.versioning.tree import read_dir_node

    store = MemoryBlockstore()

    def tree(files: dict[str, bytes]):
        entries = []
        for name, data in files.items():
            cid, blocks, link = import_bytes(data, UNIXFS_V1_2025)
            store.put_many(blocks)
            entries.append(DirEntry(name, cid, link.tsize))
        cid, _tsize, blocks = build_directory(entries, profile=UNIXFS_V1_2025)
        store.put_many(blocks)
        return cid

    files = {f"measurement-{i:06d}.csv": f"{i}\n".encode() for i in range(6000)}
    t1 = tree(files)
    assert read_dir_node(store.get, t1).hamt  # big enough to be sharded
    files["measurement-000123.csv"] = b"changed\n"
    files["new-file.csv"] = b"new\n"
    t2 = tree(files)
    counter = Counting(store)
    assert changes(diff_trees(counter.get, t1, t2)) == [("measurement-000123.csv", MODIFIED),
                                                        ("new-file.csv", ADDED)]
    assert counter.reads <= 10
