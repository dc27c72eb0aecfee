"""How engines key blocks: by multihash, as Kubo does, so CIDv0 and CIDv1 of the same bytes (and
the same bytes under different codecs) share one stored copy.

Because only the multihash is stored, `cids()` cannot know the codec a block was put under; it
returns CIDv1 with the raw codec (0x55), exactly what Kubo's `refs local` prints. Pins and GC work
on multihashes, so a dag-pb pin keeps the raw-keyed entry alive.

Identity multihashes (code 0x00) carry their data inline: engines never store them, `has` is true
and `get` returns the digest, like Kubo's idstore wrapper.
"""

from __future__ import annotations

from ..errors import CorruptBlock, InvalidInput, NotFound
from ..ipld import multihash
from ..ipld.cid import CID, RAW


def key_of(cid: CID) -> bytes:
    return cid.multihash


def cid_of_key(key: bytes) -> CID:
    return CID(1, RAW, key)


def is_identity(cid: CID) -> bool:
    return cid.multihash[0] == multihash.IDENTITY


def identity_data(cid: CID) -> bytes:
    return multihash.decode(cid.multihash)[1]


def check_stored(cid: CID, data: bytes | memoryview) -> None:
    """Re-hash bytes read from our own disk; raise CorruptBlock when they no longer match."""
    code = multihash.decode(cid.multihash)[0]
    if not multihash.can_verify(code):
        raise InvalidInput(f"cannot verify {cid}: unsupported hash function 0x{code:x}")
    if multihash.digest(code, data) != cid.multihash:
        raise CorruptBlock(f"block {cid} is corrupt on disk: its bytes no longer match its hash")


def not_found(cid: CID) -> NotFound:
    return NotFound(f"block {cid} not found")
