from __future__ import annotations

import random

import pytest

from jiaozi_node.config import UNIXFS_V1_2025
from jiaozi_node.errors import InvalidInput
from jiaozi_node.unixfs.importer import import_bytes
from jiaozi_node.versioning.rowdiff import file_leaves, row_diff


class Store:
    def __init__(self):
        self.blocks = {}
        self.reads = 0
        self.read_bytes = 0

    def add(self, data: bytes, chunker: str = "rabin-256-1024-2048"):
        profile = UNIXFS_V1_2025.with_overrides(chunker=chunker)
        cid, blocks, _ = import_bytes(data, profile)
        for b in blocks:
            self.blocks[b.cid] = b.data
        return cid

    def get(self, cid):
        self.reads += 1
        data = self.blocks[cid]
        self.read_bytes += len(data)
        return data


def table(n, seed=1):
    rnd = random.Random(seed)
    rows = [["id", "name", "price"]]
    rows += [[str(i), f"item{i}", f"{rnd.random() * 100:.2f}"] for i in range(n)]
    return rows


def csv_bytes(rows):
    return "".join(",".join(r) + "\n" for r in rows).encode()


def ops(result):
    return [(o.op, o.key, o.old, o.new) for o in result.ops]


def test_positional_changes_and_cost_follows_change():
    s = Store()
    rows = table(20000)
    new = [list(r) for r in rows]
    new[5000][2] = "999.99"          # changed
    del new[12000]                     # removed
    new.insert(15000, ["x", "inserted", "1"])  # added
    a, b = s.add(csv_bytes(rows)), s.add(csv_bytes(new))
    s.reads = s.read_bytes = 0
    res = row_diff(s, a, b)
    got = ops(res)
    assert ("changed", None, rows[5000], new[5000]) in got
    assert ("removed", None, rows[12000], None) in got
    assert ("added", None, None, ["x", "inserted", "1"]) in got
    assert len(got) == 3
    size = len(csv_bytes(rows))
    assert s.read_bytes < size / 4, (s.read_bytes, size)  # equal leaves were skipped
    assert res.stats.leaves_equal > 0.8 * res.stats.leaves_a
    assert res.header == ["id", "name", "price"]


def test_changed_cells_and_offsets():
    s = Store()
    rows = table(3000)
    new = [list(r) for r in rows]
    new[100][1] = "renamed"
    a, b = s.add(csv_bytes(rows)), s.add(csv_bytes(new))
    [op] = list(row_diff(s, a, b).ops)
    assert op.op == "changed" and op.cells == [1]
    data_a = csv_bytes(rows)
    assert data_a[op.offset_a:].startswith(b"99,item99,")
    assert op.to_json(["id", "name", "price"])["cells"] == {"name": ["item99", "renamed"]}


def test_keyed_diff_sees_moves_as_no_change():
    s = Store()
    rows = table(5000)
    new = [list(r) for r in rows]
    moved = new.pop(200)
    new.insert(4000, moved)            # moved row: same key, same cells -> nothing
    new[300][2] = "0.01"               # changed by key
    new.append(["9999", "new", "2"])    # added
    del new[10]                        # removed (key 9)
    a, b = s.add(csv_bytes(rows)), s.add(csv_bytes(new))
    got = {(o.op, o.key) for o in row_diff(s, a, b, key="id").ops}
    assert got == {("changed", "300"), ("added", "9999"), ("removed", "9")}
    with pytest.raises(InvalidInput):
        row_diff(s, a, b, key="nope")


def test_quoted_newlines_and_identical_files():
    s = Store()
    rows = [["id", "text"]] + [[str(i), f'"line one\nline two {i}"'] for i in range(2000)]
    new = [list(r) for r in rows]
    new[700][1] = '"line one\nline CHANGED"'
    a, b = s.add(csv_bytes(rows)), s.add(csv_bytes(new))
    [op] = list(row_diff(s, a, b).ops)
    assert op.op == "changed" and op.old == ["699", "line one\nline two 699"]
    assert op.new == ["699", "line one\nline CHANGED"]
    assert list(row_diff(s, a, a).ops) == []


def test_tsv_and_fixed_size_chunks_still_correct():
    s = Store()
    rows = table(3000)
    new = [list(r) for r in rows]
    new.insert(1, ["-1", "first", "0"])  # shifts every fixed-size chunk
    tsv = lambda rs: "".join("\t".join(r) + "\n" for r in rs).encode()  # noqa: E731
    a, b = s.add(tsv(rows), "size-4096"), s.add(tsv(new), "size-4096")
    got = ops(row_diff(s, a, b, delimiter="\t"))
    assert got == [("added", None, None, ["-1", "first", "0"])]


def test_file_leaves_are_not_fetched():
    s = Store()
    cid = s.add(csv_bytes(table(20000)))
    s.reads = 0
    leaves = file_leaves(s, cid)
    assert len(leaves) > 50 and s.reads <= 2
    assert [p for _, p, _ in leaves] == sorted(p for _, p, _ in leaves)


@pytest.mark.parametrize("seed", range(6))
def test_random_edits_match_a_naive_diff(seed):
    from collections import Counter

    rnd = random.Random(seed)
    s = Store()
    rows = table(4000, seed)
    new = [list(r) for r in rows]
    for _ in range(rnd.randint(1, 30)):
        k = rnd.randint(1, len(new) - 1)
        action = rnd.choice("mdi")
        if action == "m":
            new[k][2] = f"{rnd.random():.3f}"
        elif action == "d":
            del new[k]
        else:
            new.insert(k, [f"n{rnd.randint(0, 10**9)}", "new", "1"])
    a, b = s.add(csv_bytes(rows)), s.add(csv_bytes(new))
    # keyed: exactly the naive dictionary diff
    old_by, new_by = {r[0]: r for r in rows[1:]}, {r[0]: r for r in new[1:]}
    want = {("changed", k) for k in old_by.keys() & new_by.keys() if old_by[k] != new_by[k]}
    want |= {("removed", k) for k in old_by.keys() - new_by.keys()}
    want |= {("added", k) for k in new_by.keys() - old_by.keys()}
    assert {(o.op, o.key) for o in row_diff(s, a, b, key="id").ops} == want
    # positional: what went away and what came in are the multiset differences
    gone, came = Counter(), Counter()
    for o in row_diff(s, a, b).ops:
        if o.old is not None:
            gone[tuple(o.old)] += 1
        if o.new is not None:
            came[tuple(o.new)] += 1
    old_c, new_c = Counter(map(tuple, rows[1:])), Counter(map(tuple, new[1:]))
    assert gone - came == old_c - new_c and came - gone == new_c - old_c
