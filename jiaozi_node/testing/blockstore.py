"""Blockstore conformance checks: every engine must pass all of `CHECKS`.

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_conformance(check, tmp_path):
        check(lambda: MyEngine(tmp_path / "s"))

`open_store()` must return a store over the same directory each time it is called (reopen tests).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..errors import NotFound
from ..ipld import multihash
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB, RAW
from ..ipld.dagpb import PBNode, encode

Opener = Callable[[], Any]


def blocks(n: int, size: int = 1000, *, seed: int = 1) -> list[Block]:
    rng = random.Random(seed)
    return [Block.create(rng.randbytes(size), codec=RAW) for _ in range(n)]


def _raises_not_found(fn: Callable[[], object]) -> None:
    try:
        fn()
    except NotFound:
        return
    raise AssertionError("expected NotFound")


def check_put_get_has_size(open_store: Opener) -> None:
    s = open_store()
    b = blocks(1)[0]
    assert not s.has(b.cid)
    s.put(b.cid, b.data)
    assert s.has(b.cid)
    assert s.get(b.cid) == b.data
    assert s.size(b.cid) == len(b.data)
    s.put(b.cid, b.data)  # idempotent
    assert list(s.cids()) == [b.cid]
    s.close()


def check_missing_raises(open_store: Opener) -> None:
    s = open_store()
    cid = blocks(1)[0].cid
    _raises_not_found(lambda: s.get(cid))
    _raises_not_found(lambda: s.size(cid))
    _raises_not_found(lambda: s.delete(cid))
    s.close()


def check_keyed_by_multihash(open_store: Opener) -> None:
    s = open_store()
    data = encode(PBNode(links=(), data=b"hello"))
    v0 = CID(0, DAG_PB, multihash.digest(multihash.SHA2_256, data))
    s.put(v0, data)
    assert s.has(v0.to_v1())
    assert s.has(CID(1, RAW, v0.multihash))
    assert s.get(v0.to_v1()) == data
    s.put(v0.to_v1(), data)
    assert list(s.cids()) == [CID(1, RAW, v0.multihash)]  # raw CIDv1, like Kubo
    s.close()


def check_put_many_and_cids(open_store: Opener) -> None:
    s = open_store()
    bs = blocks(300, 700)
    s.put_many(iter(bs + bs[:10]))  # a generator, with duplicates
    assert sorted(s.cids()) == sorted(b.cid for b in bs)
    for b in bs[::17]:
        assert s.get(b.cid) == b.data
    s.close()


def check_identity_cids(open_store: Opener) -> None:
    s = open_store()
    cid = CID(1, RAW, multihash.digest(multihash.IDENTITY, b"inline"))
    assert s.has(cid)
    assert s.get(cid) == b"inline"
    s.put(cid, b"inline")
    assert list(s.cids()) == []
    s.close()


def check_has_many(open_store: Opener) -> None:
    s = open_store()
    bs = blocks(4)
    s.put_many(bs[:2])
    ident = CID(1, RAW, multihash.digest(multihash.IDENTITY, b"i"))
    assert s.has_many([bs[0].cid, bs[2].cid, ident, bs[1].cid, bs[3].cid]) == [True, False, True, True, False]
    assert s.has_many([]) == []
    s.close()


def check_delete(open_store: Opener) -> None:
    s = open_store()
    bs = blocks(5)
    s.put_many(bs)
    s.delete(bs[0].cid)
    assert not s.has(bs[0].cid)
    _raises_not_found(lambda: s.get(bs[0].cid))
    gone = s.delete_many([bs[1].cid, bs[0].cid, bs[2].cid])
    assert sorted(gone) == sorted([bs[1].cid, bs[2].cid])
    assert sorted(s.cids()) == sorted([bs[3].cid, bs[4].cid])
    s.close()


def check_persists_across_reopen(open_store: Opener) -> None:
    s = open_store()
    bs = blocks(20, 3000)
    s.put_many(bs)
    s.close()
    s = open_store()
    assert sorted(s.cids()) == sorted(b.cid for b in bs)
    assert all(s.get(b.cid) == b.data for b in bs)
    s.close()


def check_large_blocks(open_store: Opener) -> None:
    s = open_store()
    bs = blocks(6, 1 << 20, seed=7)
    s.put_many(bs)
    assert all(s.get(b.cid) == b.data for b in bs)
    s.close()


CHECKS = [
    check_put_get_has_size,
    check_missing_raises,
    check_keyed_by_multihash,
    check_put_many_and_cids,
    check_identity_cids,
    check_has_many,
    check_delete,
    check_persists_across_reopen,
    check_large_blocks,
]


def flip_byte_in_file(path: Any, needle: bytes) -> None:
    """Corrupt a stored block in place: find `needle` (part of its bytes) and flip one byte."""
    with open(path, "r+b") as f:
        content = f.read()
        pos = content.find(needle)
        if pos < 0:
            raise AssertionError(f"bytes not found in {path}")
        f.seek(pos + len(needle) // 2)
        f.write(bytes([content[pos + len(needle) // 2] ^ 0xFF]))
