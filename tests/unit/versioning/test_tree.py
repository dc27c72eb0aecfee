from __future__ import annotations

import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.cid import CID
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.versioning.tree import (
    DIR,
    FILE,
    SYMLINK,
    kind_of,
    list_dir,
    read_dir_node,
    walk_files,
)


def test_kinds_and_listing():
    d = DagBuilder()
    f = d.raw(b"x")
    big = d.chunked(b"y" * 100, chunk=10, width=4)
    ln = d.symlink("f")
    empty = d.directory({})
    sub = d.directory({"b.txt": big, "empty": empty})
    root = d.directory({"a.txt": f, "sub": sub, "link": ln})
    get = d.store.get
    assert kind_of(get, f) == FILE and kind_of(get, big) == FILE
    assert kind_of(get, ln) == SYMLINK and kind_of(get, root) == DIR
    assert set(list_dir(get, root)) == {"a.txt", "sub", "link"}
    assert list(walk_files(get, root)) == [
        ("a.txt", f, FILE), ("link", ln, SYMLINK), ("sub/b.txt", big, FILE), ("sub/empty/", empty, DIR)]


def test_hamt_listing_matches_plain():
    d = DagBuilder()
    entries = {f"file{i}": d.raw(str(i).encode()) for i in range(300)}
    h = d.hamt(entries, fanout=16)
    node = read_dir_node(d.store.get, h)
    assert node.hamt and node.fanout == 16 and node.shards
    assert {n: link.cid for n, link in list_dir(d.store.get, h).items()} == entries


def test_not_a_directory():
    d = DagBuilder()
    f = d.pb_leaf(b"data")
    with pytest.raises(CodecError, match="not a directory"):
        read_dir_node(d.store.get, f)
    with pytest.raises(CodecError, match="not a UnixFS directory"):
        read_dir_node(d.store.get, CID.of(b"x"))
    dup = d.raw_node(dagpb.PBNode((dagpb.PBLink(f, "a", 1), dagpb.PBLink(f, "a", 1)), pb.DIRECTORY_DATA))
    with pytest.raises(CodecError, match="repeated"):
        read_dir_node(d.store.get, dup)
