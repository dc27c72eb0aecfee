from __future__ import annotations

import pytest

from jiaozi_node.errors import LimitExceeded, NotFound
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID, DAG_PB
from jiaozi_node.versioning import history, signing
from jiaozi_node.versioning.objects import Author, Commit

ID = Identity.generate()
ROOT = CID.of(b"r", codec=DAG_PB)


class Graph:
    def __init__(self):
        self.commits: dict[CID, Commit] = {}

    def add(self, msg: str, *parents: CID, ts: int) -> CID:
        c = signing.sign(Commit(ROOT, tuple(parents), Author("t", ID.peer_id), msg, ts), ID)
        cid = c.block().cid
        self.commits[cid] = c
        return cid

    def load(self, cid: CID) -> Commit:
        try:
            return self.commits[cid]
        except KeyError:
            raise NotFound(f"commit {cid} not found") from None


def test_log_order_and_merge_base():
    g = Graph()
    a = g.add("a", ts=1)
    b = g.add("b", a, ts=2)
    c1 = g.add("c1", b, ts=3)
    d1 = g.add("d1", b, ts=4)
    m = g.add("merge", c1, d1, ts=5)
    assert [g.load(c).message for c, _ in history.walk(g.load, [m])] == ["merge", "d1", "c1", "b", "a"]
    assert history.merge_base(g.load, c1, d1) == b
    assert history.merge_base(g.load, m, c1) == c1
    assert history.is_ancestor(g.load, a, m) and not history.is_ancestor(g.load, m, a)
    assert history.ancestors(g.load, c1) == {a, b, c1}
    assert [c for c, _ in history.walk(g.load, [m], stop={b})] == [m, d1, c1]


def test_criss_cross_picks_a_best_base():
    g = Graph()
    a = g.add("a", ts=1)
    x = g.add("x", a, ts=2)
    y = g.add("y", a, ts=3)
    m1 = g.add("m1", x, y, ts=4)
    m2 = g.add("m2", y, x, ts=5)
    assert history.merge_base(g.load, m1, m2) in (x, y)


def test_unrelated_histories():
    g = Graph()
    a = g.add("a", ts=1)
    b = g.add("b", ts=2)
    with pytest.raises(NotFound, match="no common ancestor"):
        history.merge_base(g.load, a, b)


def test_depth_limit():
    g = Graph()
    head = g.add("0", ts=0)
    for i in range(1, 20):
        head = g.add(str(i), head, ts=i)
    with pytest.raises(LimitExceeded, match="deeper than 10"):
        list(history.walk(g.load, [head], max_depth=10))
    with pytest.raises(LimitExceeded):
        history.ancestors(g.load, head, max_depth=10)
    assert len(list(history.walk(g.load, [head], max_depth=20))) == 20


def test_missing_parent_raises():
    g = Graph()
    ghost = CID.of(b"ghost", codec=0x71)
    h = g.add("h", ghost, ts=1)
    with pytest.raises(NotFound):
        list(history.walk(g.load, [h]))
