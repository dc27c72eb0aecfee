from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput, NotFound, RefConflict, RepoError
from jiaozi_node.ipld.cid import CID
from jiaozi_node.store.refs import SqliteRefStore, check_ref_name, describe, open_refstore

A, B, C = (CID.of(x) for x in (b"a", b"b", b"c"))


def exercise(store) -> None:
    """The behaviour both engines must have (also run against PostgreSQL in test_refs_pg.py)."""
    store.create_repo("ds", now=1)
    with pytest.raises(InvalidInput, match="already exists"):
        store.create_repo("ds", now=2)
    assert store.list_repos() == ["ds"] and store.has_repo("ds") and not store.has_repo("x")
    with pytest.raises(NotFound, match="branch main not found"):
        store.get_ref("ds", "heads/main")
    with pytest.raises(NotFound, match="no repository"):
        store.get_ref("nope", "heads/main")
    with pytest.raises(NotFound, match="no repository"):
        store.update_ref("nope", "heads/main", A, expected=None)
    store.update_ref("ds", "heads/main", A, expected=None)
    with pytest.raises(RefConflict, match="already exists"):
        store.update_ref("ds", "heads/main", B, expected=None)
    store.update_ref("ds", "heads/main", B, expected=A)
    with pytest.raises(RefConflict, match=f"branch main moved, now at {B}"):
        store.update_ref("ds", "heads/main", C, expected=A)
    assert store.get_ref("ds", "heads/main") == B
    store.update_ref("ds", "tags/v1", A, expected=None)
    assert store.list_refs("ds") == {"heads/main": B, "tags/v1": A}
    assert store.list_refs("ds", "tags/") == {"tags/v1": A}
    assert set(store.all_targets()) == {A, B}
    with pytest.raises(RefConflict):
        store.delete_ref("ds", "tags/v1", expected=B)
    store.delete_ref("ds", "tags/v1", expected=A)
    with pytest.raises(NotFound):
        store.delete_ref("ds", "tags/v1")
    store.allow_writer("ds", "12D3KooWpeer")
    store.allow_writer("ds", "12D3KooWpeer")
    assert store.writers("ds") == ["12D3KooWpeer"]
    store.remove_writer("ds", "12D3KooWpeer")
    with pytest.raises(NotFound):
        store.remove_writer("ds", "12D3KooWpeer")
    with pytest.raises(InvalidInput):
        store.update_ref("ds", "heads/../x", A, expected=None)
    store.delete_repo("ds")
    assert store.list_repos() == []
    with pytest.raises(NotFound):
        store.delete_repo("ds")
    store.create_repo("ds", now=3)  # refs of the deleted repo are gone
    assert store.list_refs("ds") == {}
    exercise_batch(store)


def exercise_batch(store) -> None:
    """update_refs: one transaction; the repo created with its refs, or nothing at all."""
    store.update_refs("new", [("remotes/o/main", A, None), ("heads/main", B, None)], create_at=5)
    assert store.list_refs("new") == {"remotes/o/main": A, "heads/main": B}
    with pytest.raises(InvalidInput, match="already exists"):  # the repo: nothing else moves
        store.update_refs("new", [("heads/x", A, None)], create_at=6)
    with pytest.raises(RefConflict, match="branch main moved"):  # the 2nd fails: the 1st is undone
        store.update_refs("new", [("remotes/o/main", C, A), ("heads/main", C, A)])
    assert store.list_refs("new") == {"remotes/o/main": A, "heads/main": B}
    with pytest.raises(RefConflict):  # a clone whose refs conflict leaves no repo behind
        store.update_refs("half", [("heads/main", A, None), ("heads/main", B, None)], create_at=7)
    assert not store.has_repo("half")
    with pytest.raises(NotFound, match="no repository"):
        store.update_refs("nope", [("heads/main", A, None)])
    with pytest.raises(InvalidInput):  # names are checked before anything is written
        store.update_refs("bad", [("heads/../x", A, None)], create_at=8)
    assert not store.has_repo("bad")
    store.update_refs("new", [("remotes/o/main", C, A), ("tags/v1", C, None)])
    assert store.list_refs("new") == {"remotes/o/main": C, "heads/main": B, "tags/v1": C}
    store.delete_repo("new")


def test_sqlite_behaviour(tmp_path):
    store = SqliteRefStore(tmp_path / "refs.db")
    exercise(store)
    store.close()


def test_names():
    for bad in ("", "a b", "x@y", "a/../b", "a//b", "a/", "-x", "x.lock"):
        with pytest.raises(InvalidInput):
            check_ref_name(bad)
    assert check_ref_name("heads/feature/x-1.2") == "heads/feature/x-1.2"
    assert describe("heads/main") == "branch main" and describe("tags/v1") == "tag v1"
    assert describe("remotes/o/main") == "ref remotes/o/main"


def test_open_refstore(tmp_path):
    s = open_refstore("sqlite", tmp_path)
    assert (tmp_path / "refs.db").exists()
    s.close()
    with pytest.raises(RepoError):
        open_refstore("mysql://x", tmp_path)


def test_persists_across_opens(tmp_path):
    s = SqliteRefStore(tmp_path / "refs.db")
    s.create_repo("ds", now=1)
    s.update_ref("ds", "heads/main", A, expected=None)
    s.close()
    s = SqliteRefStore(tmp_path / "refs.db")
    assert s.get_ref("ds", "heads/main") == A
    s.close()

