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
