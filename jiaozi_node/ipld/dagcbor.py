"""DAG-CBOR via the strict `dag-cbor` library, with our CID type at the edges."""

from __future__ import annotations

from typing import Any

import dag_cbor
from multiformats import CID as MfCID

from ..config import IPLD_LIMITS
from ..errors import CodecError
from .cid import CID
from .depth import check_cbor, too_deep, value_depth_ok


def _to_lib(value: Any) -> Any:
    if isinstance(value, CID):
        return value.to_mf()
    if isinstance(value, dict):
        return {k: _to_lib(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_lib(v) for v in value]
    return value


def _from_lib(value: Any) -> Any:
    if isinstance(value, MfCID):
        return CID.from_mf(value)
    if isinstance(value, dict):
        return {k: _from_lib(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_lib(v) for v in value]
    return value


def encode(value: Any, *, max_depth: int = IPLD_LIMITS.max_decode_depth) -> bytes:
    """Canonical DAG-CBOR; values nested deeper than `max_depth` are refused."""
    if not value_depth_ok(value, max_depth):
        raise too_deep("dag-cbor", max_depth)
    try:
        return dag_cbor.encode(_to_lib(value))
    except Exception as exc:
        raise CodecError(f"cannot encode as dag-cbor: {exc}") from None


def decode(data: bytes, *, max_depth: int = IPLD_LIMITS.max_decode_depth) -> Any:
    """Strict decode: non-canonical CBOR is rejected with CodecError; nesting deeper than
    `max_depth` is refused before the (recursive) library decoder sees the bytes."""
    data = bytes(data)
    check_cbor(data, max_depth)
    try:
        return _from_lib(dag_cbor.decode(data))
    except Exception as exc:
        raise CodecError(f"invalid dag-cbor: {exc}") from None
