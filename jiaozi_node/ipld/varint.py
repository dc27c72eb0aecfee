"""Unsigned LEB128 varints as used by multiformats (at most 9 bytes, minimal encoding)."""

from __future__ import annotations

from ..errors import CodecError

MAX_VARINT_BYTES = 9  # multiformats unsigned-varint spec: values < 2**63


def encode(value: int) -> bytes:
    """Encode a non-negative integer."""
    if value < 0:
        raise ValueError("varint must be non-negative")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode one varint at `offset`; returns (value, new_offset).

    Raises CodecError on truncation, overlong (> 9 bytes) or non-minimal encodings.
    """
    value = 0
    shift = 0
    pos = offset
    end = len(buf)
    while True:
        if pos >= end:
            raise CodecError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            if b == 0 and pos - offset > 1:
                raise CodecError("non-minimal varint")
            return value, pos
        shift += 7
        if pos - offset >= MAX_VARINT_BYTES:
            raise CodecError("varint too long")


def decode_partial(buf: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int] | None:
    """Like `decode`, for a stream: None while `buf` ends inside the varint (more bytes needed).

    Raises CodecError once MAX_VARINT_BYTES bytes are there without an end, or if non-minimal.
    """
    end = min(len(buf), offset + MAX_VARINT_BYTES)
    for i in range(offset, end):
        if buf[i] < 0x80:
            return decode(buf, offset)
    if end - offset >= MAX_VARINT_BYTES:
        raise CodecError("varint too long")
    return None


# Protobuf varints: up to 10 bytes (a uint64, or a negative int32/int64 sign-extended to 64 bits).
MAX_PROTOBUF_VARINT_BYTES = 10
_MAX_U64 = (1 << 64) - 1


def decode_protobuf(buf: bytes | bytearray | memoryview, pos: int, end: int, *,
                    error: type[Exception] = CodecError, what: str = "protobuf",
                    minimal: bool = False) -> tuple[int, int]:
    """Decode one protobuf varint in buf[pos:end]; returns (value, new_pos).

    Raises `error` ("<what>: ...") on truncation, more than 10 bytes or a value over 2**64-1, and
    with `minimal` also on non-minimal encodings (UnixFS's strict decoding). Protobuf itself
    accepts non-minimal varints, so the network protocols (bitswap, kad-dht) do too.
    """
    value = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise error(f"{what}: truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            if value > _MAX_U64:
                raise error(f"{what}: varint overflows uint64")
            if minimal and b == 0 and pos - start > 1:
                raise error(f"{what}: non-minimal varint")
            return value, pos
        shift += 7
        if pos - start >= MAX_PROTOBUF_VARINT_BYTES:
            raise error(f"{what}: varint longer than 10 bytes")
