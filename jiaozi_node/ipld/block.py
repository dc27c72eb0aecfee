"""A block: bytes and the CID that addresses them. Verification happens here, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import IPLD_LIMITS
from ..errors import HashMismatch, InvalidInput, LimitExceeded
from . import multihash
from .cid import CID


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
