"""DAG-CBOR (ipld.io/specs/codecs/dag-cbor/spec), strict, with our CID type. Pure.

Written here rather than through the `dag-cbor` library: that library brings `multiformats` and
runtime type validation (~25 ms of the start of every command that reads a commit — clone, pull,
fetch — and ~0.4 ms per link decoded). tests/unit/ipld/test_dagcbor.py checks both directions
against the library on random values: the same bytes out, the same values in, the same refusals.

Encoding is canonical: shortest argument for every length and integer, map keys sorted by length
then bytes, floats always 64-bit (NaN and ±Infinity refused), CIDs as tag 42 over the byte string
0x00 + binary CID. Decoding accepts only that: indefinite lengths, non-minimal arguments, 16/32-bit
floats, simple values other than false/true/null, tags other than 42, non-string or repeated or
unsorted map keys, invalid UTF-8, malformed CIDs and trailing bytes are each a CodecError.
Python kinds: None, bool, int (-2^64 .. 2^64-1), float, str, bytes, list (tuples are encoded as
lists; decoding gives lists), dict with str keys, CID. A CID link may carry any multicodec (as
go-cid and Kubo allow), where the library knew only those of its table.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..config import IPLD_LIMITS
from ..errors import CodecError, InvalidInput
from .cid import CID
from .depth import check_cbor, too_deep, value_depth_ok

_U64 = 1 << 64
_F64 = struct.Struct(">d")
_TAG_CID = b"\xd8\x2a"  # major type 6, one-byte argument 42
_FALSE, _TRUE, _NULL = b"\xf4", b"\xf5", b"\xf6"


class _Refused(Exception):
    """Not DAG-CBOR (the message says why); becomes CodecError at the edge."""


# ------------------------------------------------------------------------------ encode


def _head(major: int, arg: int) -> bytes:
    m = major << 5
    if arg < 24:
        return bytes((m | arg,))
    if arg < 0x100:
        return bytes((m | 24, arg))
    if arg < 0x10000:
        return bytes((m | 25,)) + arg.to_bytes(2, "big")
    if arg < 0x100000000:
        return bytes((m | 26,)) + arg.to_bytes(4, "big")
    return bytes((m | 27,)) + arg.to_bytes(8, "big")


def _encode(value: Any, out: list[bytes]) -> None:
    if value is None:
        out.append(_NULL)
    elif value is True or value is False:
        out.append(_TRUE if value else _FALSE)
    elif isinstance(value, int) and not isinstance(value, bool):
        if value >= 0:
            if value >= _U64:
                raise _Refused("unsigned integer out of range")
            out.append(_head(0, value))
        else:
            if value < -_U64:
                raise _Refused("negative integer out of range")
            out.append(_head(1, -1 - value))
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out.append(_head(3, len(raw)))
        out.append(raw)
    elif isinstance(value, bytes):
        out.append(_head(2, len(value)))
        out.append(value)
    elif isinstance(value, CID):
        raw = b"\x00" + value.buffer
        out.append(_TAG_CID)
        out.append(_head(2, len(raw)))
        out.append(raw)
    elif isinstance(value, (list, tuple)):
        out.append(_head(4, len(value)))
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        keys = []
        for k in value:
            if not isinstance(k, str):
                raise _Refused(f"map key {k!r} is not a string")
            keys.append((k.encode("utf-8"), k))
        keys.sort(key=lambda e: (len(e[0]), e[0]))
        out.append(_head(5, len(keys)))
        for raw, k in keys:
            out.append(_head(3, len(raw)))
            out.append(raw)
            _encode(value[k], out)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise _Refused(f"float {value} is not allowed")
        out.append(b"\xfb" + _F64.pack(value))
    else:
        raise _Refused(f"value is not of IPLD kind (found type {type(value)})")


def encode(value: Any, *, max_depth: int = IPLD_LIMITS.max_decode_depth) -> bytes:
    """Canonical DAG-CBOR; values nested deeper than `max_depth` are refused."""
    if not value_depth_ok(value, max_depth):
        raise too_deep("dag-cbor", max_depth)
    out: list[bytes] = []
    try:
        _encode(value, out)
    except (_Refused, UnicodeEncodeError) as exc:
        raise CodecError(f"cannot encode as dag-cbor: {exc}") from None
    return b"".join(out)


# ------------------------------------------------------------------------------ decode


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise _Refused(f"unexpected end of data reading {what}")
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def head(self) -> tuple[int, int | float]:
        """(major type, argument); a float for major type 7 with a 64-bit argument."""
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise _Refused("unexpected end of data reading a data item head")
        ib = data[pos]
        self.pos = pos + 1
        major, info = ib >> 5, ib & 31
        if info < 24:
            return major, info
        if info > 27 or (major == 7 and info != 27):
            raise _Refused(f"additional info {info} not allowed for major type {major}")
        if major == 7:
            return major, _F64.unpack(self.take(8, "a float"))[0]
        size = 1 << (info - 24)
        arg = int.from_bytes(self.take(size, f"a {size}-byte argument"), "big")
        if arg < (24 if size == 1 else 1 << (4 * size)):
            raise _Refused(f"integer {arg} not minimally encoded in {size} bytes")
        return major, arg

    def item(self) -> Any:
        major, arg = self.head()
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg  # type: ignore[operator]
        if major == 2:
            return self.take(arg, "a byte string")  # type: ignore[arg-type]
        if major == 3:
            return self.text(arg)  # type: ignore[arg-type]
        if major == 4:
            return [self.item() for _ in range(arg)]  # type: ignore[arg-type]
        if major == 5:
            return self.map(arg)  # type: ignore[arg-type]
        if major == 6:
            return self.cid(arg)  # type: ignore[arg-type]
        if isinstance(arg, float):
            if math.isnan(arg) or math.isinf(arg):
                raise _Refused(f"float {arg} is not allowed")
            return arg
        if arg == 20:
            return False
        if arg == 21:
            return True
        if arg == 22:
            return None
        raise _Refused(f"simple value {arg} is not allowed")

    def text(self, n: int) -> str:
        raw = self.take(n, "a string")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Refused(f"invalid UTF-8 in a string: {exc.reason}") from None

    def map(self, n: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        prev: tuple[int, bytes] | None = None
        for _ in range(n):
            major, arg = self.head()
            if major != 3:
                raise _Refused(f"map key of major type {major} (keys must be strings)")
            raw = self.take(arg, "a map key")  # type: ignore[arg-type]
            key = (len(raw), raw)
            if prev is not None and key <= prev:
                raise _Refused("repeated map key" if key == prev else "map keys not in canonical order")
            prev = key
            try:
                k = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _Refused(f"invalid UTF-8 in a map key: {exc.reason}") from None
            out[k] = self.item()
        return out

    def cid(self, tag: int) -> CID:
        if tag != 42:
            raise _Refused(f"tag {tag} is not allowed (only 42, CIDs)")
        major, arg = self.head()
        if major != 2:
            raise _Refused("tag 42 must wrap a byte string")
        raw = self.take(arg, "CID bytes")  # type: ignore[arg-type]
        if not raw or raw[0] != 0:
            raise _Refused("CID bytes must start with the 0x00 multibase prefix")
        try:
            return CID.from_bytes(raw[1:])
        except (CodecError, InvalidInput, ValueError) as exc:
            raise _Refused(f"invalid CID: {exc}") from None


def decode(data: bytes, *, max_depth: int = IPLD_LIMITS.max_decode_depth) -> Any:
    """Strict decode: non-canonical CBOR is rejected with CodecError; nesting deeper than
    `max_depth` is refused before the (recursive) decoder sees the bytes."""
    data = bytes(data)
    check_cbor(data, max_depth)
    r = _Reader(data)
    try:
        value = r.item()
    except _Refused as exc:
        raise CodecError(f"invalid dag-cbor: {exc}") from None
    except RecursionError:
        raise too_deep("dag-cbor", max_depth) from None
    if r.pos != len(data):
        raise CodecError(f"invalid dag-cbor: {len(data) - r.pos} bytes after the value")
    return value
