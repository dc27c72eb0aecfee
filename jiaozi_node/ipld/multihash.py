"""Multihashes: the hash functions we compute, and (code, digest) encoding.

We compute sha2-256 (0x12, the default everywhere), sha2-512 (0x13) and identity (0x00). Other
codes can be parsed and carried, but blocks addressed by them cannot be verified and are refused
at the verification choke point with a clear error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ..config import IPLD_LIMITS
from ..errors import CodecError, InvalidInput, LimitExceeded
from . import varint

IDENTITY = 0x00
SHA2_256 = 0x12
SHA2_512 = 0x13

NAMES: dict[str, int] = {"identity": IDENTITY, "sha2-256": SHA2_256, "sha2-512": SHA2_512}
CODES: dict[int, str] = {v: k for k, v in NAMES.items()}

_HASHERS: dict[int, Callable[[bytes], bytes]] = {
    SHA2_256: lambda data: hashlib.sha256(data).digest(),
    SHA2_512: lambda data: hashlib.sha512(data).digest(),
    IDENTITY: lambda data: bytes(data),
}

_SHA256_PREFIX = b"\x12\x20"


def code_of(name: str) -> int:
    try:
        return NAMES[name]
    except KeyError:
        raise InvalidInput(f"unsupported hash function {name!r} (supported: {', '.join(NAMES)})") from None


def digest(code: int, data: bytes | bytearray | memoryview, *,
           max_identity_digest: int = IPLD_LIMITS.max_identity_digest) -> bytes:
    """Hash `data` and return the full multihash bytes."""
    if code == SHA2_256:
        return _SHA256_PREFIX + hashlib.sha256(data).digest()
    try:
        fn = _HASHERS[code]
    except KeyError:
        raise InvalidInput(f"cannot compute multihash 0x{code:x}") from None
    d = fn(bytes(data))
    if code == IDENTITY and len(d) > max_identity_digest:
        raise LimitExceeded(f"identity hash of {len(d)} bytes exceeds {max_identity_digest}")
    return varint.encode(code) + varint.encode(len(d)) + d


def decode(mh: bytes) -> tuple[int, bytes]:
    """Split multihash bytes into (code, digest); strict about lengths."""
    code, pos = varint.decode(mh, 0)
    length, pos = varint.decode(mh, pos)
    if len(mh) - pos != length:
        raise CodecError("multihash length does not match its digest")
    return code, mh[pos:]


def read(buf: bytes | memoryview, offset: int, *,
         max_bytes: int = IPLD_LIMITS.max_cid_bytes) -> tuple[bytes, int]:
    """Read one multihash starting at `offset` from a longer buffer; returns (mh, new_offset)."""
    code, pos = varint.decode(buf, offset)
    length, pos = varint.decode(buf, pos)
    if length > max_bytes:
        raise LimitExceeded(f"multihash digest length {length} too large")
    end = pos + length
    if end > len(buf):
        raise CodecError("truncated multihash")
    return bytes(buf[offset:end]), end


def can_verify(code: int) -> bool:
    return code in _HASHERS
