"""DAG-CBOR via the strict `dag-cbor` library, with our CID type at the edges."""

from __future__ import annotations

from typing import Any

import dag_cbor
from multiformats import CID as MfCID

from ..errors import CodecError
from .cid import CID


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


def encode(value: Any) -> bytes:
    try:
        return dag_cbor.encode(_to_lib(value))
    except Exception as exc:
        raise CodecError(f"cannot encode as dag-cbor: {exc}") from None


def decode(data: bytes) -> Any:
    """Strict decode: non-canonical CBOR is rejected with CodecError."""
    try:
        return _from_lib(dag_cbor.decode(bytes(data)))
    except Exception as exc:
        raise CodecError(f"invalid dag-cbor: {exc}") from None
