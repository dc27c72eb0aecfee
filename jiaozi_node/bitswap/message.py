"""Bitswap message codec (protobuf, hand-written, strict and bounded). Pure: no I/O.

Wire schema (boxo `bitswap/message/pb/message.proto`, bitswap 1.0.0 – 1.2.0)::

    message Message {
      message Wantlist {
        enum WantType { Block = 0; Have = 1; }
        message Entry { bytes block = 1; int32 priority = 2; bool cancel = 3;
                        WantType wantType = 4; bool sendDontHave = 5; }
        repeated Entry entries = 1; bool full = 2;
      }
      message Block { bytes prefix = 1; bytes data = 2; }
      enum BlockPresenceType { Have = 0; DontHave = 1; }
      message BlockPresence { bytes cid = 1; BlockPresenceType type = 2; }
      Wantlist wantlist = 1;
      repeated bytes blocks = 2;                    // 1.0.0: data only, CIDv0 implied
      repeated Block payload = 3;                   // 1.1.0+: CID prefix + data
      repeated BlockPresence blockPresences = 4;    // 1.2.0
      int32 pendingBytes = 5;
    }

CIDs stay `bytes` here (hot path: a 100 MiB fetch handles ~400 messages per second; building CID
objects per entry would dominate). A received block's CID is computed from its prefix by hashing
its data (`block_cid`), which is also what proves the bytes match it. Unknown fields are skipped
as protobuf requires (forward compatibility), but every length is checked before slicing and every
count is bounded: a 4 MiB message could otherwise carry ~100 000 wants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from ..config import BITSWAP_LIMITS, IPLD_LIMITS
from ..errors import CodecError, LimitExceeded, RemoteProtocolError
from ..ipld import varint
from ..ipld.block import VerifiedBlock, hash_block
from ..ipld.varint import encode as _uvarint  # protobuf and multiformats varints encode alike

WANT_BLOCK = 0
WANT_HAVE = 1
HAVE = 0
DONT_HAVE = 1

PROTOCOL_120 = "/ipfs/bitswap/1.2.0"
PROTOCOL_110 = "/ipfs/bitswap/1.1.0"
PROTOCOL_100 = "/ipfs/bitswap/1.0.0"
PROTOCOL_LEGACY = "/ipfs/bitswap"
PROTOCOLS: tuple[str, ...] = (PROTOCOL_120, PROTOCOL_110, PROTOCOL_100, PROTOCOL_LEGACY)


@dataclass(slots=True)
class Entry:
    """One wantlist entry. `cid` is the binary CID."""

    cid: bytes
    priority: int = 1
    cancel: bool = False
    want_type: int = WANT_BLOCK
    send_dont_have: bool = False


@dataclass(slots=True)
class Message:
    """A decoded or to-be-encoded bitswap message.

    `blocks` holds `(cid_bytes, data)` pairs to send; on decode it holds `(prefix, data)` pairs
    where prefix is `b""` for 1.0.0 `blocks` entries (CIDv0/sha2-256 implied). Use `block_cid`
    to turn a received pair into the CID its bytes hash to.
    """

    wants: list[Entry] = field(default_factory=list)
    full: bool = False
    blocks: list[tuple[bytes, bytes]] = field(default_factory=list)
    presences: list[tuple[bytes, int]] = field(default_factory=list)
    pending_bytes: int = 0

    def is_empty(self) -> bool:
        return not (self.wants or self.blocks or self.presences or self.full)

    def size_estimate(self) -> int:
        n = 16
        for cid, data in self.blocks:
            n += len(data) + len(cid) + 16
        n += 48 * (len(self.wants) + len(self.presences))
        return n


# ------------------------------------------------------------------------------ varints




def _int32(value: int) -> bytes:
    # protobuf int32: negatives are sign-extended to 64 bits (10-byte varint)
    return _uvarint(value & 0xFFFFFFFFFFFFFFFF if value < 0 else value)


# Protobuf varint (up to 10 bytes): (value, new pos). RemoteProtocolError on truncation/overflow.
read_uvarint = partial(varint.decode_protobuf, error=RemoteProtocolError, what="bitswap")


def _to_int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


def _skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        return read_uvarint(buf, pos, end)[1]
    if wire == 2:
        n, pos = read_uvarint(buf, pos, end)
        if pos + n > end:
            raise RemoteProtocolError("bitswap: truncated field")
        return pos + n
    if wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    else:
        raise RemoteProtocolError(f"bitswap: unsupported wire type {wire}")
    if pos > end:
        raise RemoteProtocolError("bitswap: truncated field")
    return pos


def _len_field(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    n, pos = read_uvarint(buf, pos, end)
    if pos + n > end:
        raise RemoteProtocolError("bitswap: truncated length-delimited field")
    return pos, pos + n


# ------------------------------------------------------------------------------ decode


def _decode_entry(buf: bytes, pos: int, end: int, max_cid: int) -> Entry:
    e = Entry(b"")
    while pos < end:
        key, pos = read_uvarint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f == 1 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            if pos - s > max_cid:
                raise RemoteProtocolError("bitswap: wantlist CID too long")
            e.cid = buf[s:pos]
        elif f == 2 and wire == 0:
            v, pos = read_uvarint(buf, pos, end)
            e.priority = _to_int32(v)
        elif f == 3 and wire == 0:
            v, pos = read_uvarint(buf, pos, end)
            e.cancel = v != 0
        elif f == 4 and wire == 0:
            v, pos = read_uvarint(buf, pos, end)
            if v not in (WANT_BLOCK, WANT_HAVE):
                raise RemoteProtocolError(f"bitswap: unknown want type {v}")
            e.want_type = v
        elif f == 5 and wire == 0:
            v, pos = read_uvarint(buf, pos, end)
            e.send_dont_have = v != 0
        elif f <= 5:
            raise RemoteProtocolError(f"bitswap: wrong wire type {wire} for entry field {f}")
        else:
            pos = _skip(buf, pos, end, wire)
    if not e.cid:
        raise RemoteProtocolError("bitswap: wantlist entry without CID")
    return e


def _decode_wantlist(buf: bytes, pos: int, end: int, msg: Message, max_entries: int, max_cid: int) -> None:
    while pos < end:
        key, pos = read_uvarint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f == 1 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            if len(msg.wants) >= max_entries:
                raise LimitExceeded(f"bitswap: more than {max_entries} wantlist entries in one message")
            msg.wants.append(_decode_entry(buf, s, pos, max_cid))
        elif f == 2 and wire == 0:
            v, pos = read_uvarint(buf, pos, end)
            msg.full = v != 0
        elif f <= 2:
            raise RemoteProtocolError(f"bitswap: wrong wire type {wire} for wantlist field {f}")
        else:
            pos = _skip(buf, pos, end, wire)


def _decode_payload(buf: bytes, pos: int, end: int, max_block: int) -> tuple[bytes, bytes]:
    prefix = b""
    data = b""
    while pos < end:
        key, pos = read_uvarint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f == 1 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            if pos - s > 40:
                raise RemoteProtocolError("bitswap: CID prefix too long")
            prefix = buf[s:pos]
        elif f == 2 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            if pos - s > max_block:
                raise LimitExceeded(f"bitswap: block of {pos - s} bytes over the {max_block} limit")
            data = buf[s:pos]
        elif f <= 2:
            raise RemoteProtocolError(f"bitswap: wrong wire type {wire} for block field {f}")
        else:
            pos = _skip(buf, pos, end, wire)
    if not prefix:
        raise RemoteProtocolError("bitswap: payload block without CID prefix")
    return prefix, data


def _decode_presence(buf: bytes, pos: int, end: int, max_cid: int) -> tuple[bytes, int]:
    cid = b""
    kind = HAVE
    while pos < end:
        key, pos = read_uvarint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f == 1 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            if pos - s > max_cid:
                raise RemoteProtocolError("bitswap: presence CID too long")
            cid = buf[s:pos]
        elif f == 2 and wire == 0:
            kind, pos = read_uvarint(buf, pos, end)
            if kind not in (HAVE, DONT_HAVE):
                raise RemoteProtocolError(f"bitswap: unknown presence type {kind}")
        elif f <= 2:
            raise RemoteProtocolError(f"bitswap: wrong wire type {wire} for presence field {f}")
        else:
            pos = _skip(buf, pos, end, wire)
    if not cid:
        raise RemoteProtocolError("bitswap: block presence without CID")
    return cid, kind


def decode(buf: bytes, *, max_message_bytes: int = BITSWAP_LIMITS.max_message_bytes,
           max_block_bytes: int = BITSWAP_LIMITS.max_block_bytes,
           max_entries: int = BITSWAP_LIMITS.max_wantlist_entries_per_message,
           max_cid_bytes: int = IPLD_LIMITS.max_cid_bytes) -> Message:
    """Decode one message (the bytes of one frame). `max_cid_bytes` bounds each want's and
    presence's CID (IpldLimits.max_cid_bytes).

    Raises RemoteProtocolError for malformed input and LimitExceeded for input over a limit.
    """
    if len(buf) > max_message_bytes:
        raise LimitExceeded(f"bitswap: message of {len(buf)} bytes over the {max_message_bytes} limit")
    buf = bytes(buf)
    msg = Message()
    pos, end = 0, len(buf)
    # Presences are bounded like wants: each costs us a dict operation.
    max_presences = max_entries * 4
    while pos < end:
        key, pos = read_uvarint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f == 1 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            _decode_wantlist(buf, s, pos, msg, max_entries, max_cid_bytes)
        elif f == 2 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            if pos - s > max_block_bytes:
                raise LimitExceeded(f"bitswap: block of {pos - s} bytes over the {max_block_bytes} limit")
            msg.blocks.append((b"", buf[s:pos]))
        elif f == 3 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            msg.blocks.append(_decode_payload(buf, s, pos, max_block_bytes))
        elif f == 4 and wire == 2:
            s, pos = _len_field(buf, pos, end)
            if len(msg.presences) >= max_presences:
                raise LimitExceeded(f"bitswap: more than {max_presences} block presences in one message")
            msg.presences.append(_decode_presence(buf, s, pos, max_cid_bytes))
        elif f == 5 and wire == 0:
            v, pos = read_uvarint(buf, pos, end)
            msg.pending_bytes = _to_int32(v)
        elif f <= 5:
            raise RemoteProtocolError(f"bitswap: wrong wire type {wire} for message field {f}")
        else:
            pos = _skip(buf, pos, end, wire)
    return msg


# ------------------------------------------------------------------------------ encode


def _ld(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _uvarint(len(payload)) + payload


def cid_prefix(cid: bytes) -> bytes:
    """The 1.1 prefix (version, codec, hash code, digest length) of a binary CID."""
    if len(cid) == 34 and cid[0] == 0x12 and cid[1] == 0x20:
        return b"\x00\x70\x12\x20"
    # CIDv1: 0x01 codec-varint mh-code-varint mh-len-varint digest; the prefix is all but the digest
    pos = 1
    for _ in range(3):
        while cid[pos] & 0x80:
            pos += 1
        pos += 1
    return cid[:pos]


def encode(msg: Message, *, protocol: str = PROTOCOL_120) -> bytes:
    """Encode for `protocol`. 1.0.0 peers get blocks in the `blocks` field (and no presences);
    1.1.0+ peers get `payload` with CID prefixes; presences and want types need 1.2.0."""
    return bytes(encode_bytearray(msg, protocol=protocol))


def encode_bytearray(msg: Message, *, protocol: str = PROTOCOL_120) -> bytearray:
    """`encode` without the final copy into `bytes` (the sender frames it: one copy less of
    every block it sends)."""
    out = bytearray()
    v12 = protocol == PROTOCOL_120
    legacy = protocol in (PROTOCOL_100, PROTOCOL_LEGACY)
    if msg.wants or msg.full:
        wl = bytearray()
        for e in msg.wants:
            if not v12 and e.want_type == WANT_HAVE and not e.cancel:
                continue  # before 1.2 every want is a want-block: never ask for a block twice
            body = _ld(0x0A, e.cid)
            if e.priority:
                body += b"\x10" + _int32(e.priority)
            if e.cancel:
                body += b"\x18\x01"
            if v12 and e.want_type == WANT_HAVE:
                body += b"\x20\x01"
            if v12 and e.send_dont_have:
                body += b"\x28\x01"
            wl += _ld(0x0A, body)
        if msg.full:
            wl += b"\x10\x01"
        out += _ld(0x0A, bytes(wl))
    for cid, data in msg.blocks:
        if legacy:
            out += _ld(0x12, data)
        else:
            inner = _ld(0x0A, cid_prefix(cid))
            hdr = b"\x12" + _uvarint(len(data))
            out += b"\x1a" + _uvarint(len(inner) + len(hdr) + len(data))
            out += inner
            out += hdr
            out += data
    if v12:
        for cid, kind in msg.presences:
            body = _ld(0x0A, cid)
            if kind:
                body += b"\x10" + _uvarint(kind)
            out += _ld(0x22, body)
    if msg.pending_bytes:
        out += b"\x28" + _int32(msg.pending_bytes)
    return out


# ------------------------------------------------------------------------------ received blocks

def block_cid(prefix: bytes, data: bytes) -> bytes:
    """The binary CID that `data` hashes to under `prefix` (`b""` = 1.0.0, CIDv0), computed by
    `ipld.block.hash_block`. Hashing IS the integrity check: the result can only equal a wanted
    CID if the bytes match it. Raises RemoteProtocolError for prefixes we cannot compute."""
    return received_block(prefix, data).cid_bytes


def received_block(prefix: bytes, data: bytes) -> VerifiedBlock:
    """A received (prefix, data) pair as a VerifiedBlock (its CID computed by hashing `data`)."""
    try:
        return hash_block(prefix, data)
    except CodecError as exc:
        raise RemoteProtocolError(f"bitswap: {exc}") from None
