"""Reading side of UnixFS nodes: decode a block into a typed `UnixFSNode` (pure).

A UnixFS node is a dag-pb block whose Data field holds the UnixFS `Data` protobuf, or a raw block
(a file leaf), or an identity CID (bytes inlined in the CID itself). This module turns any of them
into one value the exporter can walk, and rejects malformed UnixFS with CodecError.

The UnixFS `Data` protobuf itself is decoded by `unixfs.pb` (shared with the importer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..errors import CodecError
from ..ipld import dagpb
from ..ipld.cid import CID, DAG_PB, RAW
from ..ipld.multihash import IDENTITY
from .pb import MURMUR3_X64_64, DataType, UnixFSData
from .pb import decode as decode_data

TYPE_NAMES = {DataType.Raw: "raw", DataType.Directory: "directory", DataType.File: "file",
              DataType.Metadata: "metadata", DataType.Symlink: "symlink",
              DataType.HAMTShard: "hamt-shard"}


class BlockGetter(Protocol):
    """Anything that returns a block's bytes by CID (a Blockstore, a bitswap session bridge, a
    CAR file). It raises NotFound when it has no such block and is trusted to have verified the
    hash (the store verifies on read; network sources verify at `ipld.block.verify`)."""

    def get(self, cid: CID) -> bytes: ...


@dataclass(frozen=True, slots=True)
class UnixFSNode:
    """One decoded block of a UnixFS DAG.

    Attributes:
        cid: the block's CID.
        kind: "file", "directory", "hamt-shard" or "symlink" (raw blocks and identity CIDs are
            "file" leaves; dag-pb `Raw` nodes are file pieces too).
        data: the bytes this node itself carries (file bytes, or the symlink target, or the HAMT
            bitfield).
        links: the dag-pb links (empty for raw leaves).
        meta: the decoded UnixFS Data message (None for raw leaves and identity CIDs).
    """

    cid: CID
    kind: str
    data: bytes
    links: tuple[dagpb.PBLink, ...]
    meta: UnixFSData | None

    @property
    def file_size(self) -> int:
        """Bytes of file content under this node (own data + children by blocksizes)."""
        if self.meta is None:
            return len(self.data)
        return len(self.data) + sum(self.meta.blocksizes)


def inline_data(cid: CID) -> bytes | None:
    """The bytes of an identity CID (they are the digest), or None for any other hash."""
    if cid.multihash[0] == IDENTITY:
        return cid.digest
    return None


def load_block(getter: BlockGetter, cid: CID) -> bytes:
    """Fetch a block, resolving identity CIDs without asking the getter."""
    inline = inline_data(cid)
    return inline if inline is not None else getter.get(cid)


def decode_node(cid: CID, block: bytes) -> UnixFSNode:
    """Interpret one block as a UnixFS node; raises CodecError when it is not valid UnixFS."""
    if cid.codec == RAW:
        return UnixFSNode(cid, "file", bytes(block), (), None)
    if cid.codec != DAG_PB:
        raise CodecError(f"{cid} is {cid.codec_name}, not UnixFS (dag-pb or raw)")
    try:
        pb = dagpb.decode(block)
    except CodecError as exc:
        raise CodecError(f"{cid}: {exc}") from None
    if pb.data is None:
        raise CodecError(f"{cid}: dag-pb node without UnixFS Data")
    try:
        meta = decode_data(pb.data)
    except CodecError as exc:
        raise CodecError(f"{cid}: {exc}") from None
    t = meta.type
    own = meta.data or b""
    if t in (DataType.File, DataType.Raw):
        if len(meta.blocksizes) != len(pb.links):
            raise CodecError(f"{cid}: unixfs file has {len(pb.links)} links but "
                             f"{len(meta.blocksizes)} blocksizes")
        if meta.filesize is not None and meta.filesize != len(own) + sum(meta.blocksizes):
            raise CodecError(f"{cid}: unixfs filesize {meta.filesize} does not match its data "
                             f"and blocksizes ({len(own) + sum(meta.blocksizes)})")
        return UnixFSNode(cid, "file", own, pb.links, meta)
    if t == DataType.Directory:
        return UnixFSNode(cid, "directory", b"", pb.links, meta)
    if t == DataType.HAMTShard:
        if meta.hash_type != MURMUR3_X64_64:
            raise CodecError(f"{cid}: HAMT shard with unsupported hash type {meta.hash_type}")
        fanout = meta.fanout or 0
        if fanout < 2 or fanout > 1024 or fanout & (fanout - 1):
            raise CodecError(f"{cid}: HAMT fanout {meta.fanout} is not a power of two in 2..1024")
        return UnixFSNode(cid, "hamt-shard", own, pb.links, meta)
    if t == DataType.Symlink:
        return UnixFSNode(cid, "symlink", own, (), meta)
    raise CodecError(f"{cid}: unsupported UnixFS node type {TYPE_NAMES[t]}")


def get_node(getter: BlockGetter, cid: CID) -> UnixFSNode:
    return decode_node(cid, load_block(getter, cid))
