"""Codec dispatch: decode any supported block and list the links it holds (for DAG walks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import CodecError
from . import dagpb
from .cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW


def decode(cid: CID, data: bytes) -> Any:
    if cid.codec == DAG_PB:
        return dagpb.decode(data)
    if cid.codec == DAG_CBOR:
        from . import dagcbor  # dag-cbor (and its multiformats) load only for such blocks

        return dagcbor.decode(data)
    if cid.codec == DAG_JSON:
        from . import dagjson

        return dagjson.decode(data)
    if cid.codec == RAW:
        return data
    raise CodecError(f"unsupported codec {cid.codec_name}")


def _walk_value(value: Any) -> Iterator[CID]:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, CID):
            yield v
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))


def links(cid: CID, data: bytes) -> list[CID]:
    """The CIDs a block links to, in the block's own order (dag-pb: link order; cbor: field order).

    Raw blocks and codecs without links return []. Unknown codecs raise CodecError.
    """
    if cid.codec == RAW:
        return []
    if cid.codec == DAG_PB:
        return dagpb.link_cids(data)
    if cid.codec in (DAG_CBOR, DAG_JSON):
        return list(_walk_value(decode(cid, data)))
    if cid.hash_code == 0x00 and cid.codec not in (DAG_PB, DAG_CBOR, DAG_JSON):
        return []
    raise CodecError(f"cannot read links of codec {cid.codec_name}")
