from __future__ import annotations

import os
import time

import pytest

from jiaozi_node.ipld.cid import CID, DAG_PB, RAW
from jiaozi_node.versioning.statcache import (
    RACY_WINDOW_NS,
    DirFiles,
    RecordedDir,
    StatCache,
    pack_dir_files,
    recorded,
    stored_cid,
)
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


def test_lookup_files_answers_as_lookup_for_one_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    files = {name: tmp_path / name for name in ("same", "changed", "racy", "unknown")}
    for p in files.values():
        p.write_text("a")
        os.utime(p, ns=(0, 1_000_000_000))
    deeper = tmp_path / "sub" / "same"
    deeper.write_text("a")
    now = 5_000_000_000
    c = StatCache(tmp_path / "c.db")
    c.record([recorded(str(files[n]), os.stat(files[n]), L) for n in ("same", "changed")]
             + [recorded(str(deeper), os.stat(deeper), L)], "p", now_ns=now)
    c.record([recorded(str(files["racy"]), os.stat(files["racy"]), L)], "p", now_ns=1_000_000_000)
    files["changed"].write_text("bb")
    asked = [(str(p), os.stat(p)) for p in files.values()]
    assert c.lookup_files(str(tmp_path), asked, "p") == [L, None, None, None]
    for (path, st), got in zip(asked, c.lookup_files(str(tmp_path) + "/", asked, "p"), strict=True):
        try:
            assert c.lookup(path, st, "p") == got
        except KeyError:
            assert got is None
    assert c.lookup_files(str(tmp_path), asked, "other-profile") == [None] * 4
    assert c._rows_under(str(tmp_path), "p").keys() == {str(files[n]) for n in ("same", "changed", "racy")}
    c.close()


@pytest.mark.parametrize("cid", [
    CID.of(b"x"),  # CIDv1 raw sha2-256: the short cut
    CID(1, DAG_PB, CID.of(b"y").multihash),
    CID(0, DAG_PB, CID.of(b"z").multihash),  # CIDv0: the general parser
    CID(1, RAW, b"\x00\x03abc"),  # identity multihash
    CID(1, 0x0129, CID.of(b"w").multihash),  # a codec whose varint takes two bytes
])
def test_stored_cid_reads_back_what_was_stored(cid):
    assert stored_cid(cid.buffer) == cid and stored_cid(cid.buffer).buffer == cid.buffer


def test_directory_files_persist_with_their_node(tmp_path):
    c = StatCache(tmp_path / "c.db")
    assert c.lookup_dir_files("/d", "p") is None
    files = pack_dir_files(["a", "é"], [1, 2], [10, 20], [100, 200], [CID.of(b"a").buffer, b"\x01"], [5, 6])
    c.record([], "p", now_ns=1, dirs=[RecordedDir("/d", b"fp", L, files), ("/e", b"fp2", L)])
    c.close()
    c = StatCache(tmp_path / "c.db")
    got = c.lookup_dir_files("/d", "p")
    assert got == DirFiles(L.cid, ["a", "é"], [1, 2], [10, 20], [100, 200], [CID.of(b"a").buffer, b"\x01"], [5, 6])
    assert c.lookup_dir_files("/d", "other") is None and c.lookup_dir_files("/e", "p") is None
    c.preload("p")
    assert c.lookup_dir("/e", "p") == (b"fp2", L)
    for damaged in (b"", b"\x00garbage", pack_dir_files(["a"], [1], [2], [3], [], [4])):
        c._db.execute("UPDATE dir_files SET files = ? WHERE path = '/d'", (damaged,))
        assert c.lookup_dir_files("/d", "p") is None  # only costs a rebuild
    c.close()
