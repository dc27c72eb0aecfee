"""HAMT-sharded directories: reference CIDs recorded from real Kubo 0.22 and Helia 7
(tests/vectors/add_vectors.json, made by interop/test_add_cids.py's generator)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025, ImportProfile
from jiaozi_node.ipld import dagpb
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.directory import DirEntry, build_directory, plain_directory
from jiaozi_node.unixfs.hamt import build_hamt, hamt_hash
from jiaozi_node.unixfs.importer import import_bytes

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "vectors" / "add_vectors.json").read_text())
PROFILES = {
    "kubo_v0": UNIXFS_V0_2015,
    "helia_v0": UNIXFS_V0_2015,
    "helia_kubo_v1": UNIXFS_V0_2015.with_overrides(cid_version=1),
    "helia_v1_2025": UNIXFS_V1_2025,
}


@cache
def entries(key: str, column: str) -> tuple[DirEntry, ...]:
    spec = VECTORS["dirs"][key]
    profile: ImportProfile = PROFILES[column]
    out = []
    for i in range(spec["count"]):
        cid, _, link = import_bytes(spec["data"].format(i=i).encode(), profile)
        out.append(DirEntry(spec["name"].format(i=i), cid, link.tsize))
    return tuple(out)


CASES = [(k, c) for k in VECTORS["dirs"] for c in PROFILES
         if not (k == "links_exactly_262144" and c == "kubo_v0")]


@pytest.mark.parametrize(("key", "column"), CASES)
def test_recorded_reference(key: str, column: str) -> None:
    cid, tsize, blocks = build_directory(entries(key, column), profile=PROFILES[column])
    assert str(cid) == VECTORS["dirs"][key][column]
    assert tsize == sum(len(b.data) for b in blocks) + sum(e.tsize for e in entries(key, column))


def test_kubo_022_threshold_boundary() -> None:
    # Exactly 262144 bytes under the links estimate: Kubo 0.22 shards (>=), Helia does not (>).
    es = entries("links_exactly_262144", "kubo_v0")
    vec = VECTORS["dirs"]["links_exactly_262144"]
    assert str(build_hamt(es, profile=UNIXFS_V0_2015)[0]) == vec["kubo_v0"]
    assert str(plain_directory(es, profile=UNIXFS_V0_2015)[0]) == vec["helia_v0"]
    assert str(build_directory(es, profile=UNIXFS_V0_2015)[0]) == vec["helia_v0"]


def test_hash_is_murmur3_x64_h1_big_endian() -> None:
    import mmh3

    raw = mmh3.hash_bytes(b"abc")  # h1 little-endian, then h2
    assert hamt_hash("abc") == raw[:8][::-1]
    assert hamt_hash("abc").hex() == "b4963f3f3fad7867"


def test_shard_node_format() -> None:
    es = entries("hamt_5000_long", "kubo_v0")
    root, _, blocks = build_hamt(es, profile=UNIXFS_V0_2015)
    by_cid = {b.cid: b.data for b in blocks}
    node = dagpb.decode(by_cid[root])
    fs = pb.decode(node.data or b"")
    assert fs.type == pb.DataType.HAMTShard and fs.fanout == 256 and fs.hash_type == 0x22
    assert fs.filesize is None
    slots = [int(link.name[:2], 16) for link in node.links]
    assert slots == sorted(slots) and len(set(slots)) == len(slots)
    assert int.from_bytes(fs.data or b"", "big") == sum(1 << s for s in slots)
    assert all(link.name[:2] == link.name[:2].upper() for link in node.links)
    # leaves carry the entry name after the slot prefix; sub-shards only the prefix
    names = {e.name for e in es}
    for link in node.links:
        assert len(link.name) == 2 or link.name[2:] in names


def test_single_and_empty() -> None:
    es = entries("hamt_5000_short", "kubo_v0")[:1]
    root, _, blocks = build_hamt(es, profile=UNIXFS_V0_2015)
    node = dagpb.decode(blocks[-1].data)
    assert len(node.links) == 1 and node.links[0].name.endswith(es[0].name)
    empty_root, _, [block] = build_hamt([], profile=UNIXFS_V0_2015)
    assert pb.decode(dagpb.decode(block.data).data or b"").data is None
