"""A block: bytes and the CID that addresses them. Verification happens here, in one place.

`verify(cid, data)` is THE hash check. Where "checked" must travel with the bytes (a block source
handing a block to `node.retrieval`), it travels in the type: a `VerifiedBlock` is made only by
this module, by `verify_block` (bytes hashed and compared with a given CID) or `hash_block` (the
CID computed from the bytes, as bitswap learns which want a block answers). Its constructor
refuses every other caller, so a source cannot hand over unchecked bytes as checked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..config import IPLD_LIMITS
from ..errors import CodecError, HashMismatch, InvalidInput, LimitExceeded
from . import multihash, varint
from .cid import CID, DAG_PB


@dataclass(frozen=True, slots=True)
class Block:
    cid: CID
    data: bytes

    @classmethod
    def create(cls, data: bytes, *, codec: int, version: int = 1,
               hash_code: int = multihash.SHA2_256) -> Block:
        return cls(CID.of(data, codec=codec, version=version, hash_code=hash_code), data)

    def verify(self) -> Block:
        verify(self.cid, self.data)
        return self


def verify(cid: CID, data: bytes | bytearray | memoryview, *,
           max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> None:
    """THE hash check for everything that arrives from outside (peers, gateways, CAR files, disk).

    Raises HashMismatch if `data` does not hash to `cid`, LimitExceeded if it is too big, and
    InvalidInput if the CID uses a hash function we cannot compute.
    """
    if len(data) > max_block_bytes:
        raise LimitExceeded(f"block {cid} is {len(data)} bytes, over the {max_block_bytes} limit")
    code, _ = multihash.decode(cid.multihash)
    if not multihash.can_verify(code):
        raise InvalidInput(f"cannot verify {cid}: unsupported hash function 0x{code:x}")
    if multihash.digest(code, data) != cid.multihash:
        raise HashMismatch(f"block {cid}: bytes do not match the hash in the CID")


class VerifiedBlock:
    """Bytes proven (by hashing, in this module) to be the block `cid_bytes` names.

    Made only by `verify_block` and `hash_block`; calling the class raises TypeError, and the
    fields cannot be reassigned.
    """

    __slots__ = ("cid_bytes", "data")
    cid_bytes: bytes  # the binary CID
    data: bytes

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("a VerifiedBlock is made by ipld.block.verify_block or hash_block only")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a VerifiedBlock is immutable")

    @property
    def cid(self) -> CID:
        return CID.from_bytes(self.cid_bytes)

    def is_block_of(self, cid: CID) -> bool:
        """True if these bytes are `cid`'s block (same multihash: CIDv0/v1 of one block agree)."""
        return self.cid_bytes == cid.buffer or self.cid.multihash == cid.multihash


def _verified(cid_bytes: bytes, data: bytes) -> VerifiedBlock:
    vb = object.__new__(VerifiedBlock)
    object.__setattr__(vb, "cid_bytes", cid_bytes)
    object.__setattr__(vb, "data", data)
    return vb


def verify_block(cid: CID, data: bytes | bytearray | memoryview, *,
                 max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> VerifiedBlock:
    """`verify(cid, data)`, returning the proof. Raises as `verify` does."""
    verify(cid, data, max_block_bytes=max_block_bytes)
    return _verified(cid.buffer, bytes(data))


_HASHES = {multihash.SHA2_256: hashlib.sha256, multihash.SHA2_512: hashlib.sha512}


def hash_block(prefix: bytes, data: bytes) -> VerifiedBlock:
    """The block `data` is under a CID prefix (version, codec, hash code, digest length as
    varints; `b""` = CIDv0): its CID is computed by hashing `data`, so it is right by construction.

    Raises CodecError for prefixes we cannot compute (unknown hash, truncated digest, bad version).
    """
    if not prefix:
        return _verified(b"\x12\x20" + hashlib.sha256(data).digest(), data)
    end = len(prefix)
    version, pos = varint.decode_protobuf(prefix, 0, end, what="CID prefix")
    codec, pos2 = varint.decode_protobuf(prefix, pos, end, what="CID prefix")
    code, pos3 = varint.decode_protobuf(prefix, pos2, end, what="CID prefix")
    length, pos4 = varint.decode_protobuf(prefix, pos3, end, what="CID prefix")
    if pos4 != end:
        raise CodecError("trailing bytes in CID prefix")
    h = _HASHES.get(code)
    if h is None:
        raise CodecError(f"block with unsupported hash function 0x{code:x}")
    digest = h(data).digest()
    if length != len(digest):
        raise CodecError("truncated digests are not supported")
    if version == 0:
        if codec != DAG_PB or code != multihash.SHA2_256:
            raise CodecError("CIDv0 prefix must be dag-pb/sha2-256")
        return _verified(b"\x12\x20" + digest, data)
    if version != 1:
        raise CodecError(f"unsupported CID version {version}")
    return _verified(b"\x01" + prefix[pos:] + digest, data)
