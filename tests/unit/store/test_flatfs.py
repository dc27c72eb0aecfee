from __future__ import annotations

import os

import pytest

from jiaozi_node.errors import CorruptBlock
from jiaozi_node.store.flatfs import TMP_PREFIX, FlatfsBlockstore
from jiaozi_node.testing.blockstore import CHECKS, blocks


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(check, tmp_path):
    check(lambda: FlatfsBlockstore(tmp_path / "s"))


def test_layout_is_sharded_by_next_to_last_two_chars(tmp_path):
    s = FlatfsBlockstore(tmp_path / "s")
    b = blocks(1)[0]
    s.put(b.cid, b.data)
    [path] = [p for p in (tmp_path / "s").rglob("*.data")]
    assert path.parent.name == path.stem[-3:-1]
    assert path.read_bytes() == b.data


def test_corrupt_block_on_disk_raises(tmp_path):
    s = FlatfsBlockstore(tmp_path / "s")
    b = blocks(1)[0]
    s.put(b.cid, b.data)
    [path] = list((tmp_path / "s").rglob("*.data"))
    path.write_bytes(b.data[:-1] + bytes([b.data[-1] ^ 1]))
    with pytest.raises(CorruptBlock):
        s.get(b.cid)


def test_stray_temp_files_are_never_listed_and_are_cleaned(tmp_path):
    s = FlatfsBlockstore(tmp_path / "s")
    b = blocks(1)[0]
    s.put(b.cid, b.data)
    [path] = list((tmp_path / "s").rglob("*.data"))
    stray = path.parent / f"{TMP_PREFIX}123-{path.name}"
    stray.write_bytes(b"partial")
    assert list(s.cids()) == [b.cid]
    assert s.remove_stale_temp_files(max_age_s=3600) == 0
    os.utime(stray, (0, 0))
    assert s.remove_stale_temp_files(max_age_s=3600) == 1
    assert not stray.exists()
