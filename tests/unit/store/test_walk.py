from __future__ import annotations

import pytest

from jiaozi_node.errors import CodecError, NotFound
from jiaozi_node.ipld import dagcbor, multihash
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, DAG_CBOR, DAG_PB, RAW
from jiaozi_node.ipld.dagpb import PBLink, PBNode, encode
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.store.walk import reachable, walk


class CountingStore(MemoryBlockstore):
    def __init__(self) -> None:
        super().__init__()
        self.gets: list[CID] = []

    def get(self, cid: CID) -> bytes:
        self.gets.append(cid)
        return super().get(cid)


def test_walk_visits_each_block_once_and_never_reads_raw_leaves():
    s = CountingStore()
    leaf = Block.create(b"leaf", codec=RAW)
    inner = Block.create(encode(PBNode(links=(PBLink(leaf.cid, "a", 4), PBLink(leaf.cid, "b", 4)))), codec=DAG_PB)
    root = Block.create(dagcbor.encode({"x": inner.cid, "y": [inner.cid, leaf.cid]}), codec=DAG_CBOR)
    s.put_many([leaf, inner, root])
    assert list(walk(s, [root.cid])) == [root.cid, inner.cid, leaf.cid]
    assert s.gets == [root.cid, inner.cid]
    assert reachable(s, [root.cid, inner.cid]) == {b.cid.multihash for b in (leaf, inner, root)}


def test_walk_missing_names_block_and_root():
    s = MemoryBlockstore()
    leaf = Block.create(b"leaf", codec=RAW)
    root = Block.create(encode(PBNode(links=(PBLink(leaf.cid, "a", 4),))), codec=DAG_PB)
    s.put(root.cid, root.data)
    with pytest.raises(NotFound, match=f"{leaf.cid} \\(under {root.cid}\\)"):
        reachable(s, [root.cid])
    with pytest.raises(NotFound, match=str(leaf.cid)):
        reachable(s, [leaf.cid])


def test_identity_cids_need_no_storage():
    s = MemoryBlockstore()
    cid = CID(1, RAW, multihash.digest(multihash.IDENTITY, b"hi"))

    class IdStore(MemoryBlockstore):
        def has(self, c: CID) -> bool:
            return True

        def get(self, c: CID) -> bytes:
            return b"hi"

    assert reachable(IdStore(), [cid]) == {cid.multihash}
    with pytest.raises(NotFound):
        reachable(s, [Block.create(b"x", codec=RAW).cid])


def test_unknown_codec_is_an_error_not_a_leaf():
    s = MemoryBlockstore()
    cid = CID(1, 0x78, multihash.digest(multihash.SHA2_256, b"git"))  # git-raw: links unknown
    s.put(cid, b"git")
    with pytest.raises(CodecError):
        reachable(s, [cid])
