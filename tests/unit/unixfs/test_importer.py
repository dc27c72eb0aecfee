"""FileImporter: byte-identical CIDs with Kubo and Helia for every shared vector and profile."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jiaozi_node.config import UNIXFS_V0_2015, UNIXFS_V1_2025, ImportProfile
from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipld.cid import CID
from jiaozi_node.unixfs.importer import FileImporter, import_bytes

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
KUBO = json.loads((VECTORS / "kubo_vectors.json").read_text())
CIDV1 = json.loads((VECTORS / "cidv1_vectors.json").read_text())["profiles"]
MAX_SIZE = 174 * 262144 + 1  # files up to 174 chunks + 1 byte (the bigger vectors live in bench/)

KUBO_CIDV1 = UNIXFS_V0_2015.with_overrides(cid_version=1)  # `ipfs add --cid-version=1`


def content(n: int) -> bytes:
    return hashlib.shake_128(b"jzfs-vectors-v1").digest(n)


def cases() -> list[tuple[str, ImportProfile, int, str]]:
    out = []
    for name, f in KUBO["files"].items():
        if f["size"] <= MAX_SIZE:
            out.append((f"v0-2015/{name}", UNIXFS_V0_2015, f["size"], f["cid_v0"]))
    for prof_name, prof in (("kubo_cid_version_1", KUBO_CIDV1), ("helia_default", UNIXFS_V1_2025)):
        for name, f in CIDV1[prof_name]["files"].items():
            if f["size"] <= MAX_SIZE:
                out.append((f"{prof_name}/{name}", prof, f["size"], f["cid"]))
    return out


@pytest.mark.parametrize(("label", "profile", "size", "expected"), cases(), ids=[c[0] for c in cases()])
def test_vectors(label: str, profile: ImportProfile, size: int, expected: str) -> None:
    root, blocks, link = import_bytes(content(size), profile)
    assert str(root) == expected
    assert link.filesize == size
    assert root in {b.cid for b in blocks}
    assert link.tsize == sum(len(b.data) for b in {b.cid: b for b in blocks}.values())


def test_helia_v1_profile_is_default_and_kubo_v1_implies_raw_leaves() -> None:
    assert KUBO_CIDV1.raw_leaves and KUBO_CIDV1.cid_version == 1
    assert UNIXFS_V0_2015.with_overrides(cid_version=1, raw_leaves=False).raw_leaves is False


@pytest.mark.parametrize("feed", [1, 1000, 262143, 262144, 1 << 22])
def test_feeding_pattern_does_not_matter(feed: int) -> None:
    data = content(3 * 262144 + 17)
    imp = FileImporter(UNIXFS_V0_2015)
    blocks = []
    for i in range(0, len(data), feed):
        blocks += imp.feed(memoryview(data)[i : i + feed])
    root, rest = imp.close()
    assert root == import_bytes(data, UNIXFS_V0_2015)[0]
    assert len(blocks) + len(rest) == 5


def test_executor_gives_same_blocks_in_same_order() -> None:
    data = content(40 * 262144 + 3)
    ref_root, ref_blocks, _ = import_bytes(data, UNIXFS_V0_2015)
    with ThreadPoolExecutor(2) as pool:
        imp = FileImporter(UNIXFS_V0_2015, executor=pool, max_pending=3)
        blocks = []
        for i in range(0, len(data), 1 << 20):
            blocks += imp.feed(data[i : i + (1 << 20)])
        root, rest = imp.close()
    assert root == ref_root
    assert [b.cid for b in blocks + rest] == [b.cid for b in ref_blocks]
    assert imp.filesize == len(data)


def test_blocks_leave_early() -> None:
    # With 174 links per node, the first interior node is final after 174 leaves: memory stays
    # bounded because everything before the last partial node has already been returned.
    imp = FileImporter(UNIXFS_V0_2015.with_overrides(chunker="size-1024"))
    out = imp.feed(content(174 * 1024))
    assert len(out) == 175


def test_sha2_512_and_cid_version_checks() -> None:
    p = UNIXFS_V1_2025.with_overrides(hash_function="sha2-512")
    root, _, _ = import_bytes(b"abc", p)
    assert root.hash_code == 0x13 and root.version == 1
    with pytest.raises(InvalidInput):  # the importer itself refuses CIDv0 + sha2-512
        FileImporter(dataclasses.replace(UNIXFS_V0_2015, hash_function="sha2-512"))
    # Kubo's flag rule: a non-sha2-256 hash without a CID version implies CIDv1 (and raw leaves)
    implied = UNIXFS_V0_2015.with_overrides(hash_function="sha2-512")
    assert (implied.cid_version, implied.raw_leaves) == (1, True)
    with pytest.raises(InvalidInput):
        FileImporter(UNIXFS_V0_2015.with_overrides(layout="flat"))


def test_raw_leaves_with_cidv0_root() -> None:
    # Kubo `--raw-leaves --cid-version=0`: raw leaves are CIDv1, the root stays CIDv0.
    p = UNIXFS_V0_2015.with_overrides(raw_leaves=True)
    root, blocks, _ = import_bytes(content(262145), p)
    assert root.version == 0
    assert {b.cid.version for b in blocks if b.cid != root} == {1}
    single, _, _ = import_bytes(b"x", p)
    assert single == CID.of(b"x")


def test_use_after_close_rejected() -> None:
    imp = FileImporter(UNIXFS_V1_2025)
    imp.close()
    with pytest.raises(InvalidInput):
        imp.feed(b"x")
    with pytest.raises(InvalidInput):
        imp.close()
    with pytest.raises(InvalidInput):
        _ = FileImporter(UNIXFS_V1_2025).tsize


BIG = [(name, f["size"]) for name, f in KUBO["files"].items() if f["size"] > MAX_SIZE]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "size"), BIG, ids=[b[0] for b in BIG])
def test_big_vectors_streaming(name: str, size: int) -> None:
    """100 MiB / 256 MiB vectors for all three profiles, streamed (blocks dropped as they come)."""
    data = content(size)
    expected = {UNIXFS_V0_2015: KUBO["files"][name]["cid_v0"],
                KUBO_CIDV1: CIDV1["kubo_cid_version_1"]["files"][name]["cid"],
                UNIXFS_V1_2025: CIDV1["helia_default"]["files"][name]["cid"]}
    with ThreadPoolExecutor(2) as pool:
        for profile, want in expected.items():
            imp = FileImporter(profile, executor=pool)
            for i in range(0, size, 1 << 22):
                imp.feed(memoryview(data)[i : i + (1 << 22)])
            root, _ = imp.close()
            assert str(root) == want and imp.filesize == size
