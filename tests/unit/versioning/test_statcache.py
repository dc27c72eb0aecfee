from __future__ import annotations

import os
import time

import pytest

from jiaozi_node.ipld.cid import CID
from jiaozi_node.versioning.statcache import RACY_WINDOW_NS, StatCache, recorded
from jiaozi_node.versioning.tree import Link

L = Link(CID.of(b"x"), 1)


def test_lookup_hit_and_misses(tmp_path):
    f = tmp_path / "f"
    f.write_text("a")
    os.utime(f, ns=(0, 1_000_000_000))
    st = os.stat(f)
    c = StatCache(tmp_path / "c.db")
    c.record([recorded(str(f), st, L)], "p", now_ns=time.time_ns())
    assert c.lookup(str(f), st, "p") == L
    with pytest.raises(KeyError):
        c.lookup(str(f), st, "other-profile")
    f.write_text("bb")
    with pytest.raises(KeyError):
        c.lookup(str(f), os.stat(f), "p")
    c.load_dir(str(tmp_path), "p")  # the bulk path gives the same answers
    assert c.lookup(str(f), st, "p") == L
    c.close()


def test_racily_clean_entries_are_not_trusted(tmp_path):
    f = tmp_path / "f"
    f.write_text("a")
    st = os.stat(f)
    c = StatCache(tmp_path / "c.db")
    c.record([recorded(str(f), st, L)], "p", now_ns=st.st_mtime_ns + RACY_WINDOW_NS // 2)
    with pytest.raises(KeyError):
        c.lookup(str(f), st, "p")
    c.record([recorded(str(f), st, L)], "p", now_ns=st.st_mtime_ns + 2 * RACY_WINDOW_NS)
    assert c.lookup(str(f), st, "p") == L
    c.close()


def test_directory_fingerprints_persist(tmp_path):
    c = StatCache(tmp_path / "c.db")
    c.record([], "p", now_ns=1, dirs=[("/d", b"fp", L)])
    c.close()
    c = StatCache(tmp_path / "c.db")
    with pytest.raises(KeyError):
        c.lookup_dir("/d", "p")  # not preloaded yet
    c.preload("p")
    assert c.lookup_dir("/d", "p") == (b"fp", L)
    c.close()
