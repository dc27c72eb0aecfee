"""DAG-JSON: canonical (sorted keys, no whitespace) encoding and strict decoding.

Links are `{"/": "<cid>"}`, bytes are `{"/": {"bytes": "<base64, no padding>"}}`, as in the
DAG-JSON spec and Kubo's `ipfs dag get`.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from ..config import IPLD_LIMITS
from ..errors import CodecError
from .cid import CID
from .depth import check_json_text, too_deep, value_depth_ok


def _prepare(value: Any) -> Any:
    if isinstance(value, CID):
        return {"/": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"/": {"bytes": base64.b64encode(bytes(value)).decode().rstrip("=")}}
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise CodecError("dag-json map keys must be strings")
        return {k: _prepare(value[k]) for k in sorted(value, key=lambda s: s.encode("utf-8"))}
    if isinstance(value, (list, tuple)):
        return [_prepare(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise CodecError("dag-json cannot encode NaN or infinity")
    return value


def encode(value: Any, *, max_depth: int = IPLD_LIMITS.max_decode_depth) -> bytes:
    """Canonical DAG-JSON. Values nested deeper than `max_depth` are refused (what we would not
    decode, we do not write)."""
    if not value_depth_ok(value, max_depth):
        raise too_deep("dag-json", max_depth)
    return json.dumps(_prepare(value), separators=(",", ":"), ensure_ascii=False,
                      sort_keys=False).encode("utf-8")


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if "/" in value and len(value) == 1:
            inner = value["/"]
            if isinstance(inner, str):
                return CID.decode(inner)
            if isinstance(inner, dict) and set(inner) == {"bytes"} and isinstance(inner["bytes"], str):
                b = inner["bytes"]
                try:
                    return base64.b64decode(b + "=" * (-len(b) % 4), validate=True)
                except ValueError:
                    raise CodecError("dag-json: invalid base64 bytes") from None
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def decode(data: bytes | str, *, max_depth: int = IPLD_LIMITS.max_decode_depth) -> Any:
    """Strict decode; nesting deeper than `max_depth` is refused before json sees it."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError as exc:
        raise CodecError(f"invalid dag-json: {exc}") from None
    check_json_text(text, max_depth)
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as exc:
        raise CodecError(f"invalid dag-json: {exc}") from None
    try:
        value = _restore(raw)
        if not value_depth_ok(value, max_depth):
            raise too_deep("dag-json", max_depth)
        return value
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(f"invalid dag-json: {exc}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out
