"""Test helper: decode an imported file DAG into nested lists of leaf payloads."""

from __future__ import annotations

from typing import Any

from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import CID, RAW
from jiaozi_node.unixfs import pb


def shape(root: CID, blocks: list[Block]) -> Any:
    store = {b.cid: b.data for b in blocks}
    for b in blocks:
        b.verify()

    def walk(cid: CID) -> Any:
        data = store[cid]
        if cid.codec == RAW:
            return data
        node = dagpb.decode(data)
        assert node.data is not None
        fs = pb.decode(node.data)
        if not node.links:
            return fs.data or b""
        kids = [walk(link.cid) for link in node.links]
        assert all(link.name == "" for link in node.links)
        # blocksizes are the children's file sizes, filesize their sum; Tsize is cumulative.
        assert list(fs.blocksizes) == [_size(k) for k in kids]
        assert fs.filesize == sum(fs.blocksizes)
        for link in node.links:
            assert link.tsize == _tsize(link.cid, store)
        return kids

    return walk(root)


def _size(shape_: Any) -> int:
    if isinstance(shape_, bytes):
        return len(shape_)
    return sum(_size(k) for k in shape_)


def _tsize(cid: CID, store: dict[CID, bytes]) -> int:
    data = store[cid]
    if cid.codec == RAW:
        return len(data)
    return len(data) + sum(_tsize(link.cid, store) for link in dagpb.decode(data).links)
