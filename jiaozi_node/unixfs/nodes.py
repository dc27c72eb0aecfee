"""Building blocks shared by the file layouts (pure): leaves and interior file nodes.

A `FileLink` is what a parent needs to know about a child: its CID, the file bytes under it
(`filesize`, which goes into the parent's `blocksizes`) and its cumulative DAG size (`tsize`,
which goes into the dag-pb link's Tsize: block length plus the Tsize of all its links, as Kubo
computes `node.Size()`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..ipld import dagpb, multihash
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB, RAW
from ..ipld.varint import encode as uvarint
from . import pb
from .chunker import Buffer


@dataclass(frozen=True, slots=True)
class FileLink:
    cid: CID
    filesize: int
    tsize: int


def _mh(data: Buffer, hash_code: int) -> bytes:
    if hash_code == multihash.SHA2_256:
        return b"\x12\x20" + hashlib.sha256(data).digest()
    return multihash.digest(hash_code, data)


def raw_leaf(chunk: bytes, *, hash_code: int = multihash.SHA2_256) -> tuple[Block, FileLink]:
    """A raw-codec leaf. Always CIDv1 (CIDv0 cannot address raw), as Kubo does."""
    cid = CID(1, RAW, _mh(chunk, hash_code))
    n = len(chunk)
    return Block(cid, chunk), FileLink(cid, n, n)


def pb_leaf(chunk: bytes, *, cid_version: int, leaf_type: pb.DataType = pb.DataType.File,
            hash_code: int = multihash.SHA2_256) -> tuple[Block, FileLink]:
    """A dag-pb leaf: PBNode{Data: UnixFS{Type, Data=chunk, filesize=len}} and no links.

    Balanced layout uses Type File; Kubo's trickle layout uses Type Raw for its leaves.
    """
    n = len(chunk)
    if n:
        head, tail = pb_leaf_frame(n, leaf_type)
        data = b"".join((head, chunk, tail))
    else:
        inner = b"\x08" + bytes((leaf_type,)) + b"\x18\x00"
        data = b"\x0a" + uvarint(len(inner)) + inner
    cid = CID(cid_version, DAG_PB, _mh(data, hash_code))
    return Block(cid, data), FileLink(cid, n, len(data))


def pb_leaf_frame(n: int, leaf_type: int) -> tuple[bytes, bytes]:
    """The bytes around a non-empty chunk of n bytes in its dag-pb leaf (see `pb_leaf`)."""
    inner_len = 2 + 1 + len(uvarint(n)) + n + 1 + len(uvarint(n))
    return (b"\x0a" + uvarint(inner_len) + b"\x08" + bytes((leaf_type,)) + b"\x12" + uvarint(n),
            b"\x18" + uvarint(n))


# Room a caller leaves before and after a chunk for `pb_leaf_frame` (head <= 1+5+2+1+5 bytes,
# tail <= 1+5 for any chunk under 4 GiB), so a dag-pb leaf can be assembled in place.
PB_LEAF_HEAD_ROOM = 16
PB_LEAF_TAIL_ROOM = 8


def framed_leaf(frame: Buffer, n: int, *, raw: bool, cid_version: int,
                hash_code: int = multihash.SHA2_256) -> tuple[Block, FileLink]:
    """The leaf whose complete bytes are `frame`, for a non-empty chunk of n bytes: the chunk
    itself (`raw`, as `raw_leaf`), or a dag-pb leaf the caller assembled in place around it with
    `pb_leaf_frame` (the bytes `pb_leaf` would build). Nothing is copied: the block's data IS
    `frame` (e.g. a slice of a reused read buffer), so the caller must keep it unchanged until the
    block is stored. Same CIDs as `raw_leaf`/`pb_leaf` (tests/unit/unixfs/test_nodes.py)."""
    cid = CID(1, RAW, _mh(frame, hash_code)) if raw else CID(cid_version, DAG_PB, _mh(frame, hash_code))
    return Block(cid, frame), FileLink(cid, n, len(frame))  # type: ignore[arg-type]  # a view


def leaf_link(chunk: Buffer, *, raw: bool, cid_version: int, leaf_type: int = pb.DataType.File,
              hash_code: int = multihash.SHA2_256) -> FileLink:
    """Only the link of the leaf `raw_leaf`/`pb_leaf` would build (the same CID), for only-hash:
    the chunk (any buffer, e.g. a slice of a reused read buffer) is hashed in place, the leaf's
    bytes are never assembled."""
    n = len(chunk)
    if raw:
        if hash_code == multihash.SHA2_256:
            mh = b"\x12\x20" + hashlib.sha256(chunk).digest()
        else:
            mh = multihash.digest(hash_code, bytes(chunk))
        return FileLink(CID(1, RAW, mh), n, n)
    if not n or hash_code != multihash.SHA2_256:
        block, link = pb_leaf(bytes(chunk), cid_version=cid_version, leaf_type=pb.DataType(leaf_type),
                              hash_code=hash_code)
        return link
    head, tail = pb_leaf_frame(n, leaf_type)
    h = hashlib.sha256(head)
    h.update(chunk)
    h.update(tail)
    return FileLink(CID(cid_version, DAG_PB, b"\x12\x20" + h.digest()), n, len(head) + n + len(tail))


def file_node(children: list[FileLink], *, cid_version: int,
              hash_code: int = multihash.SHA2_256) -> tuple[Block, FileLink]:
    """An interior file node: links named "" with the children's Tsize, blocksizes = filesizes."""
    sizes = [c.filesize for c in children]
    data = dagpb.encode_unnamed([(c.cid.buffer, c.tsize) for c in children], pb.file_node(sizes))
    cid = CID(cid_version, DAG_PB, _mh(data, hash_code))
    return Block(cid, data), FileLink(cid, sum(sizes), len(data) + sum(c.tsize for c in children))
