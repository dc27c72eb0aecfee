"""store/verify.py: `repo verify` reads and re-hashes every block, whatever the engine."""

from __future__ import annotations

import pytest

from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import RAW
from jiaozi_node.store.open import ENGINES
from jiaozi_node.store.verify import verify_blocks


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_verify_finds_and_drops_corrupt_blocks(tmp_path, engine):
    store = ENGINES[engine](tmp_path / engine)
    try:
        good = [Block.create(bytes([i]) * 100, codec=RAW) for i in range(20)]
        store.put_many(good)
        bad = good[7]
        store.delete(bad.cid)
        store.put(bad.cid, b"tampered")
        out = list(verify_blocks(store))
        assert len(out) == 20
        problems = [(c, p) for c, p, _ in out if p is not None]
        assert [c.multihash for c, _ in problems] == [bad.cid.multihash]
        assert "hash" in problems[0][1]
        out = list(verify_blocks(store, drop=True))
        assert [gone for _, p, gone in out if p is not None] == [True]
        assert not store.has(bad.cid)
        assert all(p is None for _, p, _ in verify_blocks(store))
    finally:
        store.close()
