"""The one CID type that crosses module boundaries.

A small immutable value class over the binary form. `multiformats.CID` is strict but slow on hot
paths (py-multiformats measured ~0.4 ms per CID), and bitswap/CAR/HAMT code handles hundreds of
thousands of CIDs, so the common cases (CIDv0, CIDv1 with base32/base58btc) are parsed and
printed here directly; every other multibase is delegated to `multiformats.multibase`.
Conversion to/from `multiformats.CID` (used by the dag-cbor library) is `to_mf()` / `from_mf()`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import base58

from ..config import IPLD_LIMITS
from ..errors import CodecError, InvalidInput
from . import multihash, varint

RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71
LIBP2P_KEY = 0x72
DAG_JSON = 0x0129
JSON = 0x0200

CODEC_NAMES: dict[int, str] = {
    RAW: "raw",
    DAG_PB: "dag-pb",
    DAG_CBOR: "dag-cbor",
    LIBP2P_KEY: "libp2p-key",
    DAG_JSON: "dag-json",
    JSON: "json",
}
CODEC_CODES: dict[str, int] = {v: k for k, v in CODEC_NAMES.items()}


def codec_code(name_or_code: str | int) -> int:
    if isinstance(name_or_code, int):
        return name_or_code
    try:
        return CODEC_CODES[name_or_code]
    except KeyError:
        raise InvalidInput(f"unknown codec {name_or_code!r}") from None


_B32_LOWER = "abcdefghijklmnopqrstuvwxyz234567"
_B32_INDEX = {c: i for i, c in enumerate(_B32_LOWER)}


def _b32_lower_strict(body: str) -> bytes:
    """Multibase `b` (RFC 4648 base32, lowercase, no padding), strictly: one string per byte
    sequence. Refused: other characters (upper case belongs to `B`), `=`, impossible lengths, and
    non-zero bits in the last character's unused tail — the multibase spec says decoders MUST
    reject those, else many strings name one CID (cache keys, allow/deny lists and logs disagree).
    """
    n = len(body)
    if n % 8 in (1, 3, 6):
        raise ValueError("impossible base32 length")
    if body.translate(_B32_DROP):
        raise ValueError("not lowercase base32 (RFC 4648 alphabet, no padding)")
    raw = base64.b32decode(body.upper() + "=" * (-n % 8))
    unused = n * 5 - len(raw) * 8
    if unused and _B32_INDEX[body[-1]] & ((1 << unused) - 1):
        raise ValueError("non-zero padding bits in the last base32 character")
    return raw


_B32_DROP = str.maketrans("", "", _B32_LOWER)


class CID:
    """An immutable content identifier.

    Attributes:
        version: 0 or 1.
        codec: multicodec code of the content (0x70 dag-pb, 0x55 raw, 0x71 dag-cbor, ...).
        multihash: the full multihash bytes (code, length, digest).
    """

    __slots__ = ("version", "codec", "multihash", "_bytes", "_hash", "_mf")

    version: int
    codec: int
    multihash: bytes

    def __init__(self, version: int, codec: int, mh: bytes) -> None:
        if version == 0:
            if codec != DAG_PB:
                raise InvalidInput("CIDv0 can only address dag-pb")
            if len(mh) != 34 or mh[0] != 0x12 or mh[1] != 0x20:
                raise InvalidInput("CIDv0 requires a sha2-256 multihash")
            raw = bytes(mh)
        elif version == 1:
            raw = b"\x01" + varint.encode(codec) + bytes(mh)
        else:
            raise InvalidInput(f"unsupported CID version {version}")
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "codec", codec)
        object.__setattr__(self, "multihash", bytes(mh))
        object.__setattr__(self, "_bytes", raw)
        object.__setattr__(self, "_hash", hash(raw))
        object.__setattr__(self, "_mf", None)  # its multiformats.CID, made once (`to_mf`)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CID is immutable")

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> CID:
        """Parse the binary form; the whole buffer must be one CID."""
        cid, end = cls.read(data, 0)
        if end != len(data):
            raise CodecError("trailing bytes after CID")
        return cid

    @classmethod
    def read(cls, data: bytes | bytearray | memoryview, offset: int = 0, *,
             max_bytes: int = IPLD_LIMITS.max_cid_bytes) -> tuple[CID, int]:
        """Parse one binary CID at `offset` inside a longer buffer; returns (cid, new_offset)."""
        if len(data) - offset >= 34 and data[offset] == 0x12 and data[offset + 1] == 0x20:
            return cls(0, DAG_PB, bytes(data[offset : offset + 34])), offset + 34
        version, pos = varint.decode(data, offset)
        if version != 1:
            raise CodecError(f"unsupported CID version {version}")
        codec, pos = varint.decode(data, pos)
        mh, end = multihash.read(data, pos, max_bytes=max_bytes)
        if end - offset > max_bytes:
            raise CodecError("CID too long")
        return cls(1, codec, mh), end

    @classmethod
    def decode(cls, text: str, *, max_bytes: int = IPLD_LIMITS.max_cid_bytes) -> CID:
        """Parse a CID string (CIDv0 `Qm…` or any multibase CIDv1)."""
        if not isinstance(text, str) or not text:
            raise InvalidInput("empty CID")
        if len(text) > 4 * max_bytes:
            raise InvalidInput("CID string too long")
        try:
            if len(text) == 46 and text.startswith("Qm"):
                return cls.from_bytes(base58.b58decode(text))
            prefix = text[0]
            if prefix == "b":
                raw = _b32_lower_strict(text[1:])
            elif prefix == "z":
                raw = base58.b58decode(text[1:])
            else:
                from multiformats import multibase

                raw = multibase.decode(text)
            cid = cls.from_bytes(raw)
        except (ValueError, binascii.Error, KeyError, CodecError) as exc:
            why = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # no repr quotes
            raise InvalidInput(f"invalid CID {text!r}: {why}") from None
        if cid.version == 0:
            raise InvalidInput(f"invalid CID {text!r}: CIDv0 must be base58btc without prefix")
        return cid

    @classmethod
    def parse(cls, value: CID | str | bytes) -> CID:
        """Accept a CID, its string or its binary form."""
        if isinstance(value, CID):
            return value
        if isinstance(value, str):
            return cls.decode(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls.from_bytes(value)
        if type(value).__name__ == "CID" and hasattr(value, "digest"):
            return cls.from_mf(value)
        raise InvalidInput(f"not a CID: {value!r}")

    @classmethod
    def of(cls, data: bytes, *, codec: int = RAW, version: int = 1, hash_code: int = multihash.SHA2_256) -> CID:
        """Hash `data` and return its CID."""
        return cls(version, codec, multihash.digest(hash_code, data))

    # ---------------------------------------------------------------- views

    def __bytes__(self) -> bytes:
        return self._bytes

    @property
    def buffer(self) -> bytes:
        return self._bytes

    @property
    def hash_code(self) -> int:
        return multihash.decode(self.multihash)[0]

    @property
    def digest(self) -> bytes:
        return multihash.decode(self.multihash)[1]

    @property
    def codec_name(self) -> str:
        return CODEC_NAMES.get(self.codec, f"0x{self.codec:x}")

    def prefix(self) -> bytes:
        """The bitswap 1.1 CID prefix: version, codec, hash code, digest length (varints)."""
        code, d = multihash.decode(self.multihash)
        return (
            varint.encode(self.version)
            + varint.encode(self.codec)
            + varint.encode(code)
            + varint.encode(len(d))
        )

    def encode(self, base: str = "") -> str:
        """String form: CIDv0 in base58btc; CIDv1 in `base` (default base32)."""
        if self.version == 0:
            if base not in ("", "base58btc"):
                raise InvalidInput("CIDv0 can only be written in base58btc")
            return base58.b58encode(self._bytes).decode()
        if base in ("", "base32"):
            return "b" + base64.b32encode(self._bytes).decode().lower().rstrip("=")
        if base == "base58btc":
            return "z" + base58.b58encode(self._bytes).decode()
        from multiformats import multibase

        try:
            return multibase.encode(self._bytes, base)
        except KeyError:
            raise InvalidInput(f"unknown multibase {base!r}") from None

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"CID({self.encode()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CID) and self._bytes == other._bytes

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: CID) -> bool:
        return self._bytes < other._bytes

    def __reduce__(self) -> tuple[Any, ...]:
        return (CID, (self.version, self.codec, self.multihash))

    # ---------------------------------------------------------------- conversions

    def to_v1(self) -> CID:
        return self if self.version == 1 else CID(1, self.codec, self.multihash)

    def to_v0(self) -> CID:
        if self.version == 0:
            return self
        return CID(0, self.codec, self.multihash)

    def to_mf(self) -> Any:
        """As a `multiformats.CID` (for the dag-cbor library). Made once per CID and kept: the
        library's parse costs ~0.2 ms, and checking a commit's signature re-encodes its links."""
        mf = self._mf
        if mf is None:
            from multiformats import CID as MfCID

            mf = MfCID.decode(self._bytes)
            object.__setattr__(self, "_mf", mf)
        return mf

    @classmethod
    def from_mf(cls, mf: Any) -> CID:
        cid = cls.from_bytes(bytes(mf))
        object.__setattr__(cid, "_mf", mf)  # the same CID: re-encoding it needs no new parse
        return cid
