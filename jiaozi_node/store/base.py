"""The Blockstore interface every storage engine implements, and an in-memory one for tests.

Design note: an async Blockstore was the first sketch. Ours is synchronous: every engine is a local
disk engine whose calls are short and blocking anyway (as Kubo's are), the Python API for
notebooks is synchronous, and trio adapters call it directly (or via `trio.to_thread` for bulk
work). Verification on read is done by the engine (`get` re-hashes unless told not to), so a block
whose bytes rotted on disk raises CorruptBlock instead of being served.

Every engine in this package also offers `has_many(cids) -> list[bool]` and
`delete_many(cids) -> list[CID]` (one transaction each); they are not part of the Protocol so that
other implementations stay valid — callers use them through `getattr` with a fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from ..errors import NotFound
from ..ipld.block import Block, verify
from ..ipld.cid import CID
from .keys import identity_data, is_identity


@runtime_checkable
class Blockstore(Protocol):
    def get(self, cid: CID) -> bytes:
        """The block's bytes; raises NotFound if absent, CorruptBlock if they no longer verify."""
        ...

    def put(self, cid: CID, data: bytes) -> None:
        """Store a block. The caller has verified it (or produced it by hashing)."""
        ...

    def put_many(self, blocks: Iterable[Block]) -> None: ...

    def has(self, cid: CID) -> bool: ...

    def size(self, cid: CID) -> int:
        """Size in bytes; raises NotFound."""
        ...

    def delete(self, cid: CID) -> None:
        """Remove a block; raises NotFound if absent."""
        ...

    def cids(self) -> Iterator[CID]:
        """Every stored CID (in no particular order)."""
        ...

    def close(self) -> None: ...


class MemoryBlockstore:
    """A dict-backed Blockstore for tests and `--only-hash` runs. Keys on the multihash, as Kubo
    does, so CIDv0 and CIDv1 of the same bytes share storage; identity CIDs are never stored (see
    store/keys.py). Passes the same conformance checks as the disk engines, except that `cids()`
    returns the CID each block was first put under rather than raw CIDv1."""

    def __init__(self, *, verify_on_read: bool = False) -> None:
        self._data: dict[bytes, tuple[CID, bytes]] = {}
        self._verify = verify_on_read

    def get(self, cid: CID) -> bytes:
        if is_identity(cid):
            return identity_data(cid)
        try:
            data = self._data[cid.multihash][1]
        except KeyError:
            raise NotFound(f"block {cid} not found") from None
        if self._verify:
            verify(cid, data)
        return data

    def put(self, cid: CID, data: bytes) -> None:
        if not is_identity(cid):
            self._data.setdefault(cid.multihash, (cid, bytes(data)))

    def put_many(self, blocks: Iterable[Block]) -> None:
        for b in blocks:
            self.put(b.cid, b.data)

    def has(self, cid: CID) -> bool:
        return cid.multihash in self._data or is_identity(cid)

    def has_many(self, cids: Iterable[CID]) -> list[bool]:
        return [self.has(c) for c in cids]

    def size(self, cid: CID) -> int:
        return len(self.get(cid))

    def delete(self, cid: CID) -> None:
        if is_identity(cid):
            return
        try:
            del self._data[cid.multihash]
        except KeyError:
            raise NotFound(f"block {cid} not found") from None

    def delete_many(self, cids: Iterable[CID]) -> list[CID]:
        return [c for c in cids if not is_identity(c) and self._data.pop(c.multihash, None) is not None]

    def cids(self) -> Iterator[CID]:
        return iter([c for c, _ in self._data.values()])

    def close(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._data)
