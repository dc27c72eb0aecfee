"""CAR v1 writer (pure): bytes out, the caller decides where they go.

    for chunk in write_car([root], blocks):   # blocks: Iterable[Block], in the order wanted
        out.write(chunk)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import InvalidInput
from ..ipld import dagcbor
from ..ipld.block import Block
from ..ipld.cid import CID
from ..ipld.varint import encode as varint_encode


def encode_header(roots: Iterable[CID]) -> bytes:
    """`varint(len) dag-cbor{roots, version: 1}` (dag-cbor sorts keys: roots first)."""
    roots = list(roots)
    if not all(isinstance(r, CID) for r in roots):
        raise InvalidInput("CAR roots must be CIDs")
    body = dagcbor.encode({"roots": roots, "version": 1})
    return varint_encode(len(body)) + body


def encode_section(cid: CID, data: bytes) -> bytes:
    raw = cid.buffer
    return varint_encode(len(raw) + len(data)) + raw + bytes(data)


def write_car(roots: Iterable[CID], blocks: Iterable[Block]) -> Iterator[bytes]:
    """The header, then one chunk per block section, lazily (blocks are pulled as needed)."""
    yield encode_header(roots)
    for block in blocks:
        yield encode_section(block.cid, block.data)
