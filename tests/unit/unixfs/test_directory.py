"""Plain directories and the plain/HAMT decision (IPIP-499 size estimates)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025
from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.cid import CID
from jiaozi_node.unixfs.directory import (
    DirEntry,
    build_directory,
    estimated_size,
    link_serialized_size,
    needs_sharding,
    plain_directory,
)
from jiaozi_node.unixfs.importer import import_bytes

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def content(n: int) -> bytes:
    return hashlib.shake_128(b"jzfs-vectors-v1").digest(n)


def entry(name: str, data: bytes, profile=UNIXFS_V0_2015) -> DirEntry:
    cid, _, link = import_bytes(data, profile)
    return DirEntry(name, cid, link.tsize)


def test_kubo_vector_tree() -> None:
    tree = json.loads((VECTORS / "kubo_vectors.json").read_text())["tree"]
    p = UNIXFS_V0_2015
    deeper = build_directory([entry("d.bin", content(300000))], profile=p)
    sub = build_directory([entry("empty", b""), entry("c.txt", b"ipfs\n"),
                           DirEntry("deeper", deeper[0], deeper[1])], profile=p)
    empty = build_directory([], profile=p)
    root = build_directory([DirEntry("sub", sub[0], sub[1]), entry("b.bin", content(1000)),
                            DirEntry("emptydir", empty[0], empty[1]), entry("a.txt", b"hello\n")], profile=p)
    assert (str(deeper[0]), str(sub[0]), str(empty[0]), str(root[0])) == (
        tree["sub/deeper"], tree["sub"], tree["emptydir"], tree["root_cid_v0"])


@pytest.mark.parametrize(("prof", "profile"), [("kubo_cid_version_1", UNIXFS_V0_2015.with_overrides(cid_version=1)),
                                               ("helia_default", UNIXFS_V1_2025)])
def test_cidv1_vector_trees(prof: str, profile) -> None:
    want = json.loads((VECTORS / "cidv1_vectors.json").read_text())["profiles"][prof]["tree"]
    deeper = build_directory([entry("d.bin", content(300000), profile)], profile=profile)
    sub = build_directory([entry("c.txt", b"ipfs\n", profile), entry("empty", b"", profile),
                           DirEntry("deeper", deeper[0], deeper[1])], profile=profile)
    empty = build_directory([], profile=profile)
    root = build_directory([entry("a.txt", b"hello\n", profile), entry("b.bin", content(1000), profile),
                            DirEntry("emptydir", empty[0], empty[1]), DirEntry("sub", sub[0], sub[1])],
                           profile=profile)
    got = str(root[0])
    assert got == want


def test_links_sorted_by_name_bytes_and_tsize() -> None:
    es = [entry(n, n.encode()) for n in ("b", "a", "é", "Z", "aa")]
    cid, tsize, [block] = plain_directory(es, profile=UNIXFS_V0_2015)
    node = dagpb.decode(block.data)
    assert [link.name for link in node.links] == ["Z", "a", "aa", "b", "é"]
    assert tsize == len(block.data) + sum(e.tsize for e in es)
    assert cid == block.cid


@pytest.mark.parametrize("name", ["", "a/b", ".", ".."])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput):
        build_directory([DirEntry(name, CID.of(b""), 0)], profile=UNIXFS_V0_2015)


def test_duplicate_names() -> None:
    e = DirEntry("x", CID.of(b""), 0)
    with pytest.raises(InvalidInput):
        build_directory([e, e], profile=UNIXFS_V0_2015)


def test_link_serialized_size_is_exact() -> None:
    for name in ("a", "x" * 200, "ファイル"):
        for tsize in (0, 127, 128, 1 << 40):
            cid = CID.of(name.encode())
            got = link_serialized_size(len(name.encode()), len(cid.buffer), tsize)
            single = dagpb.encode(dagpb.PBNode((dagpb.PBLink(cid, name, tsize),), None))
            assert got == len(single)


def test_block_estimate_equals_block_size() -> None:
    es = [entry(f"f{i}", str(i).encode(), UNIXFS_V1_2025) for i in range(300)]
    _, _, [block] = plain_directory(es, profile=UNIXFS_V1_2025)
    assert estimated_size(es, UNIXFS_V1_2025) == len(block.data)
    assert estimated_size(es, UNIXFS_V0_2015) == sum(len(e.name) + len(e.cid.buffer) for e in es)


def test_threshold_is_strictly_greater() -> None:
    # 4096 names of 30 bytes + 34-byte CIDv0 = exactly 262144 under the links estimate: stays plain
    # (IPIP-499, current boxo and Helia). Kubo 0.22 (boxo 0.11) used >= and shards it: see
    # test_hamt.py::test_kubo_022_threshold_boundary.
    cid = CID.of(b"x", codec=0x70, version=0)
    es = [DirEntry(f"{i:04d}-" + "y" * 23 + ".b", cid, 1) for i in range(4096)]
    assert estimated_size(es, UNIXFS_V0_2015) == 262144
    assert not needs_sharding(es, UNIXFS_V0_2015)
    assert needs_sharding(es + [DirEntry("z", cid, 1)], UNIXFS_V0_2015)
    assert not needs_sharding(es + [DirEntry("z", cid, 1)], UNIXFS_V0_2015.with_overrides(hamt_threshold_bytes=0))
