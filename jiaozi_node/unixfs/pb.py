"""The UnixFS `Data` protobuf (pure): encode exactly as Kubo (go-unixfs/boxo) does, decode strictly.

    message Data {
      enum DataType { Raw = 0; Directory = 1; File = 2; Metadata = 3; Symlink = 4; HAMTShard = 5; }
      required DataType Type = 1;
      optional bytes Data = 2;
      optional uint64 filesize = 3;
      repeated uint64 blocksizes = 4;      // proto2: written unpacked, one field per value
      optional uint64 hashType = 5;
      optional uint64 fanout = 6;
      optional uint32 mode = 7;
      optional UnixTime mtime = 8;
    }
    message UnixTime { required int64 Seconds = 1; optional fixed32 FractionalNanoseconds = 2; }
    message Metadata { optional string MimeType = 1; }

Field *presence* changes the bytes and therefore the CID, so the encoder writes exactly the fields
that are not None, in field-number order (what Go's and protons' marshallers do). The helper
constructors below reproduce what the reference importers emit:

* file leaf (dag-pb leaves):     Type=File, Data=chunk (absent when empty), filesize=len(chunk)
* file interior node:           Type=File, filesize=sum, blocksizes=[...]  (no Data)
* empty file:                   Type=File, filesize=0                       (`08 02 18 00`)
* directory:                    Type=Directory                               (`08 01`, no filesize)
* HAMT shard:                   Type=HAMTShard, Data=bitfield, hashType=0x22, fanout=256
* symlink (Kubo):               Type=Symlink, Data=target                   (no filesize; js adds one)

Decoding is strict: unknown fields, wrong wire types, a missing or unknown Type, duplicated
singular fields, truncation and overlong varints all raise CodecError. Packed `blocksizes` (legal
protobuf for a repeated scalar) are accepted. Field order is not enforced on decode (protobuf
allows any order; no producer we know of reorders, but a reader must not reject valid data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial

from ..errors import CodecError
from ..ipld import varint
from ..ipld.varint import encode as _uvarint  # protobuf and multiformats varints encode alike

__all__ = [
    "DataType",
    "UnixTime",
    "UnixFSData",
    "encode",
    "decode",
    "encode_metadata",
    "decode_metadata",
    "file_leaf",
    "file_node",
    "directory",
    "hamt_shard",
    "symlink",
    "EMPTY_FILE_DATA",
    "DIRECTORY_DATA",
    "MURMUR3_X64_64",
]

# Multicodec of the HAMT hash function: murmur3-x64-64 (boxo `HashMurmur3`).
MURMUR3_X64_64 = 0x22

_MAX_U64 = (1 << 64) - 1


class DataType(IntEnum):
    Raw = 0
    Directory = 1
    File = 2
    Metadata = 3
    Symlink = 4
    HAMTShard = 5


@dataclass(frozen=True, slots=True)
class UnixTime:
    seconds: int
    nanos: int | None = None  # FractionalNanoseconds, 0 < n < 1e9 when present

    def __post_init__(self) -> None:
        if not -(1 << 63) <= self.seconds < (1 << 63):
            raise CodecError("unixfs: mtime seconds out of int64 range")
        if self.nanos is not None and not 0 <= self.nanos <= 999_999_999:
            raise CodecError("unixfs: mtime nanoseconds out of range")


@dataclass(frozen=True, slots=True)
class UnixFSData:
    """One decoded UnixFS `Data` message. None means "field absent"."""

    type: DataType
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = field(default=())
    hash_type: int | None = None
    fanout: int | None = None
    mode: int | None = None
    mtime: UnixTime | None = None

    @property
    def file_size(self) -> int:
        """Logical byte size of a file node: `filesize` if present, else data + blocksizes."""
        if self.filesize is not None:
            return self.filesize
        return len(self.data or b"") + sum(self.blocksizes)


# ------------------------------------------------------------------------ varints (uint64)


_read_uvarint = partial(varint.decode_protobuf, what="unixfs", minimal=True)


def _read_len(buf: bytes, pos: int, end: int) -> tuple[bytes, int]:
    n, pos = _read_uvarint(buf, pos, end)
    if pos + n > end:
        raise CodecError("unixfs: truncated field")
    return buf[pos : pos + n], pos + n


# ------------------------------------------------------------------------ encode


def _encode_mtime(t: UnixTime) -> bytes:
    out = bytearray(b"\x08")
    out += _uvarint(t.seconds & _MAX_U64)  # int64: negatives as 10-byte two's complement
    if t.nanos is not None:
        out += b"\x15" + t.nanos.to_bytes(4, "little")
    return bytes(out)


def encode(msg: UnixFSData) -> bytes:
    """Encode in field order, writing exactly the fields that are present (not None)."""
    out = bytearray(b"\x08")
    out += _uvarint(int(msg.type))
    if msg.data is not None:
        out.append(0x12)
        out += _uvarint(len(msg.data))
        out += msg.data
    if msg.filesize is not None:
        out.append(0x18)
        out += _uvarint(msg.filesize)
    for bs in msg.blocksizes:
        out.append(0x20)
        out += _uvarint(bs)
    if msg.hash_type is not None:
        out.append(0x28)
        out += _uvarint(msg.hash_type)
    if msg.fanout is not None:
        out.append(0x30)
        out += _uvarint(msg.fanout)
    if msg.mode is not None:
        out.append(0x38)
        out += _uvarint(msg.mode & 0xFFFFFFFF)
    if msg.mtime is not None:
        inner = _encode_mtime(msg.mtime)
        out.append(0x42)
        out += _uvarint(len(inner))
        out += inner
    return bytes(out)


# ------------------------------------------------------------------------ decode


def _decode_mtime(buf: bytes) -> UnixTime:
    pos, end = 0, len(buf)
    seconds: int | None = None
    nanos: int | None = None
    while pos < end:
        key, pos = _read_uvarint(buf, pos, end)
        fnum, wire = key >> 3, key & 7
        if fnum == 1 and wire == 0:
            if seconds is not None:
                raise CodecError("unixfs: duplicate mtime.Seconds")
            v, pos = _read_uvarint(buf, pos, end)
            seconds = v - (1 << 64) if v >= (1 << 63) else v
        elif fnum == 2 and wire == 5:
            if nanos is not None:
                raise CodecError("unixfs: duplicate mtime.FractionalNanoseconds")
            if pos + 4 > end:
                raise CodecError("unixfs: truncated fixed32")
            nanos = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise CodecError(f"unixfs: unexpected mtime field {fnum} (wire type {wire})")
    if seconds is None:
        raise CodecError("unixfs: mtime without Seconds")
    return UnixTime(seconds, nanos)


_SINGULAR = {1: "Type", 2: "Data", 3: "filesize", 5: "hashType", 6: "fanout", 7: "mode", 8: "mtime"}


def decode(buf: bytes | bytearray | memoryview) -> UnixFSData:
    """Strictly decode a UnixFS `Data` message (the Data field of a dag-pb node)."""
    buf = bytes(buf)
    pos, end = 0, len(buf)
    seen: set[int] = set()
    type_: int | None = None
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: list[int] = []
    hash_type: int | None = None
    fanout: int | None = None
    mode: int | None = None
    mtime: UnixTime | None = None
    while pos < end:
        key, pos = _read_uvarint(buf, pos, end)
        fnum, wire = key >> 3, key & 7
        if fnum in _SINGULAR:
            if fnum in seen:
                raise CodecError(f"unixfs: duplicate field {_SINGULAR[fnum]}")
            seen.add(fnum)
        if wire == 0 and fnum in (1, 3, 4, 5, 6, 7):
            value, pos = _read_uvarint(buf, pos, end)
            if fnum == 1:
                type_ = value
            elif fnum == 3:
                filesize = value
            elif fnum == 4:
                blocksizes.append(value)
            elif fnum == 5:
                hash_type = value
            elif fnum == 6:
                fanout = value
            else:
                if value > 0xFFFFFFFF:
                    raise CodecError("unixfs: mode overflows uint32")
                mode = value
        elif wire == 2 and fnum == 2:
            data, pos = _read_len(buf, pos, end)
        elif wire == 2 and fnum == 4:  # packed blocksizes
            packed, pos = _read_len(buf, pos, end)
            p = 0
            while p < len(packed):
                value, p = _read_uvarint(packed, p, len(packed))
                blocksizes.append(value)
        elif wire == 2 and fnum == 8:
            raw, pos = _read_len(buf, pos, end)
            mtime = _decode_mtime(raw)
        else:
            raise CodecError(f"unixfs: unexpected field {fnum} (wire type {wire})")
    if type_ is None:
        raise CodecError("unixfs: missing required Type")
    try:
        dtype = DataType(type_)
    except ValueError:
        raise CodecError(f"unixfs: unknown Type {type_}") from None
    return UnixFSData(dtype, data, filesize, tuple(blocksizes), hash_type, fanout, mode, mtime)


def encode_metadata(mime_type: str | None) -> bytes:
    """The UnixFS `Metadata` message (rarely used; kept for completeness)."""
    if mime_type is None:
        return b""
    raw = mime_type.encode("utf-8")
    return b"\x0a" + _uvarint(len(raw)) + raw


def decode_metadata(buf: bytes) -> str | None:
    pos, end = 0, len(buf)
    mime: str | None = None
    while pos < end:
        key, pos = _read_uvarint(buf, pos, end)
        if key != 0x0A or mime is not None:
            raise CodecError("unixfs: unexpected Metadata field")
        raw, pos = _read_len(buf, pos, end)
        try:
            mime = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CodecError("unixfs: MimeType is not UTF-8") from None
    return mime


# ------------------------------------------------------------------------ what importers emit


def file_leaf(chunk: bytes) -> bytes:
    """A dag-pb file leaf's Data: go-unixfs `SetData` leaves Data nil for an empty chunk."""
    n = len(chunk)
    return b"\x08\x02" + ((b"\x12" + _uvarint(n) + chunk) if n else b"") + b"\x18" + _uvarint(n)


def file_node(blocksizes: list[int] | tuple[int, ...], *, data: bytes = b"") -> bytes:
    """An interior file node: filesize = len(data) + sum(blocksizes), one blocksize per child.

    Kubo and Helia never put data in an interior node; `data` exists because the format allows a
    node with both data and children (such DAGs come from other producers).
    """
    return encode(
        UnixFSData(
            DataType.File,
            data=data or None,
            filesize=len(data) + sum(blocksizes),
            blocksizes=tuple(blocksizes),
        )
    )


EMPTY_FILE_DATA = b"\x08\x02\x18\x00"
DIRECTORY_DATA = b"\x08\x01"


def directory(*, mode: int | None = None, mtime: UnixTime | None = None) -> bytes:
    if mode is None and mtime is None:
        return DIRECTORY_DATA
    return encode(UnixFSData(DataType.Directory, mode=mode, mtime=mtime))


def hamt_shard(bitfield: bytes, *, fanout: int = 256, hash_type: int = MURMUR3_X64_64) -> bytes:
    """A HAMT shard node's Data, as boxo `HAMTShardData` writes it (Data, hashType, fanout)."""
    return encode(UnixFSData(DataType.HAMTShard, data=bitfield or None, hash_type=hash_type, fanout=fanout))


def symlink(target: bytes) -> bytes:
    """Kubo's `SymlinkData`: Type=Symlink, Data=target, no filesize."""
    return encode(UnixFSData(DataType.Symlink, data=target))
