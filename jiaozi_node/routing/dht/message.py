"""Kademlia DHT messages (`/ipfs/kad/1.0.0`): protobuf codec by hand, strict and bounded. Pure.

Wire schema (libp2p specs, kad-dht/README.md; go-libp2p-kad-dht `pb/dht.proto`)::

    message Record { bytes key = 1; bytes value = 2; string timeReceived = 5; }
    message Message {
      enum MessageType { PUT_VALUE = 0; GET_VALUE = 1; ADD_PROVIDER = 2; GET_PROVIDERS = 3;
                         FIND_NODE = 4; PING = 5; }
      enum ConnectionType { NOT_CONNECTED = 0; CONNECTED = 1; CAN_CONNECT = 2; CANNOT_CONNECT = 3; }
      message Peer { bytes id = 1; repeated bytes addrs = 2; ConnectionType connection = 3; }
      MessageType type = 1;  int32 clusterLevelRaw = 10;  bytes key = 2;  Record record = 3;
      repeated Peer closerPeers = 8;  repeated Peer providerPeers = 9;
    }

Keys, peer IDs and addresses stay **bytes** (a key is `/ipns/` + a binary peer ID: it must
survive exactly, never be decoded as text). Every length is checked before slicing; peers per
message and addresses per peer are bounded; unknown fields are skipped as protobuf requires.
Each message travels as uvarint(length) + protobuf (`frame`, `split_frame`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from ...config import DHT_LIMITS, DhtLimits
from ...errors import LimitExceeded, RemoteProtocolError
from ...ipld import varint
from ...ipld.framing import FrameDecoder, encode_frame
from ...ipld.varint import encode as _uvarint

PUT_VALUE = 0
GET_VALUE = 1
ADD_PROVIDER = 2
GET_PROVIDERS = 3
FIND_NODE = 4
PING = 5
TYPE_NAMES = {PUT_VALUE: "PUT_VALUE", GET_VALUE: "GET_VALUE", ADD_PROVIDER: "ADD_PROVIDER",
              GET_PROVIDERS: "GET_PROVIDERS", FIND_NODE: "FIND_NODE", PING: "PING"}

NOT_CONNECTED = 0
CONNECTED = 1
CAN_CONNECT = 2
CANNOT_CONNECT = 3


@dataclass(slots=True)
class Peer:
    """A peer on the wire: binary peer ID (a multihash), binary multiaddrs."""

    id: bytes
    addrs: list[bytes] = field(default_factory=list)
    connection: int = NOT_CONNECTED


@dataclass(slots=True)
class Record:
    key: bytes = b""
    value: bytes = b""
    time_received: str = ""


@dataclass(slots=True)
class Message:
    type: int
    key: bytes = b""
    record: Record | None = None
    closer_peers: list[Peer] = field(default_factory=list)
    provider_peers: list[Peer] = field(default_factory=list)
    cluster_level_raw: int = 0


# ------------------------------------------------------------------------------ reading


def _err(what: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"dht: {what}")


_varint = partial(varint.decode_protobuf, error=RemoteProtocolError, what="dht")


def _bytes_field(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    n, pos = _varint(buf, pos, end)
    if pos + n > end:
        raise _err("truncated length-delimited field")
    return pos, pos + n


def _skip(buf: bytes, pos: int, end: int, wire: int) -> int:
    if wire == 0:
        return _varint(buf, pos, end)[1]
    if wire == 2:
        return _bytes_field(buf, pos, end)[1]
    if wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    else:
        raise _err(f"unsupported wire type {wire}")
    if pos > end:
        raise _err("truncated field")
    return pos


def _decode_peer(buf: bytes, pos: int, end: int, limits: DhtLimits) -> Peer:
    p = Peer(b"")
    while pos < end:
        key, pos = _varint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f == 1 and wire == 2:
            s, pos = _bytes_field(buf, pos, end)
            if pos - s > limits.max_key_bytes:
                raise _err("peer ID too long")
            p.id = buf[s:pos]
        elif f == 2 and wire == 2:
            s, pos = _bytes_field(buf, pos, end)
            if len(p.addrs) >= limits.max_addrs_per_peer:
                continue  # keep the first ones, skip the rest (not an error: busy public peers)
            if pos - s > limits.max_addr_bytes:
                raise _err("multiaddr too long")
            p.addrs.append(buf[s:pos])
        elif f == 3 and wire == 0:
            v, pos = _varint(buf, pos, end)
            p.connection = v if v <= CANNOT_CONNECT else NOT_CONNECTED
        elif f <= 3:
            raise _err(f"wrong wire type {wire} for peer field {f}")
        else:
            pos = _skip(buf, pos, end, wire)
    if not p.id:
        raise _err("peer entry without an ID")
    return p


def _decode_record(buf: bytes, pos: int, end: int, limits: DhtLimits) -> Record:
    r = Record()
    while pos < end:
        key, pos = _varint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f in (1, 2, 5) and wire == 2:
            s, pos = _bytes_field(buf, pos, end)
            if f == 1:
                if pos - s > limits.max_key_bytes:
                    raise LimitExceeded(f"dht: record key of {pos - s} bytes")
                r.key = buf[s:pos]
            elif f == 2:
                if pos - s > limits.max_record_value_bytes:
                    raise LimitExceeded(f"dht: record value of {pos - s} bytes "
                                        f"(> {limits.max_record_value_bytes})")
                r.value = buf[s:pos]
            else:
                try:
                    r.time_received = buf[s:pos].decode("ascii")[:64]
                except UnicodeDecodeError:
                    r.time_received = ""  # informational only: never trusted
        elif f in (1, 2, 5):
            raise _err(f"wrong wire type {wire} for record field {f}")
        else:
            pos = _skip(buf, pos, end, wire)
    return r


def decode(buf: bytes, *, limits: DhtLimits = DHT_LIMITS) -> Message:
    """One message (the bytes of one frame). RemoteProtocolError / LimitExceeded on bad input."""
    if len(buf) > limits.max_message_bytes:
        raise LimitExceeded(f"dht: message of {len(buf)} bytes (> {limits.max_message_bytes})")
    buf = bytes(buf)
    # proto3: a field at its default is not written, and PUT_VALUE is 0 — js kad-dht sends its
    # PUT_VALUE requests without a type field at all
    msg = Message(type=PUT_VALUE)
    pos, end = 0, len(buf)
    peers = 0
    while pos < end:
        key, pos = _varint(buf, pos, end)
        f, wire = key >> 3, key & 7
        if f == 1 and wire == 0:
            msg.type, pos = _varint(buf, pos, end)
        elif f == 2 and wire == 2:
            s, pos = _bytes_field(buf, pos, end)
            if pos - s > limits.max_key_bytes:
                raise LimitExceeded(f"dht: key of {pos - s} bytes (> {limits.max_key_bytes})")
            msg.key = buf[s:pos]
        elif f == 3 and wire == 2:
            s, pos = _bytes_field(buf, pos, end)
            msg.record = _decode_record(buf, s, pos, limits)
        elif f in (8, 9) and wire == 2:
            s, pos = _bytes_field(buf, pos, end)
            peers += 1
            if peers > limits.max_peers_per_message:
                raise LimitExceeded(f"dht: more than {limits.max_peers_per_message} peers in one message")
            (msg.closer_peers if f == 8 else msg.provider_peers).append(
                _decode_peer(buf, s, pos, limits))
        elif f == 10 and wire == 0:
            v, pos = _varint(buf, pos, end)
            msg.cluster_level_raw = v & 0xFFFFFFFF
        elif f in (1, 2, 3, 8, 9, 10):
            raise _err(f"wrong wire type {wire} for message field {f}")
        else:
            pos = _skip(buf, pos, end, wire)
    if msg.type not in TYPE_NAMES:
        raise _err(f"unknown message type {msg.type}")
    return msg


# ------------------------------------------------------------------------------ writing


def _ld(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _uvarint(len(payload)) + payload


def encode_peer(p: Peer) -> bytes:
    body = _ld(0x0A, p.id) + b"".join(_ld(0x12, a) for a in p.addrs)
    if p.connection:
        body += b"\x18" + _uvarint(p.connection)
    return body


def encode(msg: Message) -> bytes:
    out = bytearray(b"\x08" + _uvarint(msg.type))
    if msg.key:
        out += _ld(0x12, msg.key)
    if msg.record is not None:
        r = msg.record
        body = _ld(0x0A, r.key) + _ld(0x12, r.value)
        if r.time_received:
            body += _ld(0x2A, r.time_received.encode("ascii"))
        out += _ld(0x1A, body)
    for p in msg.closer_peers:
        out += _ld(0x42, encode_peer(p))
    for p in msg.provider_peers:
        out += _ld(0x4A, encode_peer(p))
    if msg.cluster_level_raw:
        out += b"\x50" + _uvarint(msg.cluster_level_raw)
    return bytes(out)


frame = encode_frame  # uvarint(len) + payload: how every DHT message travels on a stream


def add_provider_frame(key: bytes, provider: bytes) -> bytes:
    """A framed ADD_PROVIDER for `key`, `provider` being `encode_peer(ourselves)` (precomputed:
    a bulk announce frames thousands of these)."""
    return encode_frame(b"\x08\x02" + _ld(0x12, key) + _ld(0x4A, provider))


def FrameReader(*, max_message_bytes: int = DHT_LIMITS.max_message_bytes) -> FrameDecoder:  # noqa: N802
    """The incremental splitter of DHT frames for one stream direction (`ipld.framing`)."""
    return FrameDecoder(max_message_bytes=max_message_bytes, what="dht")
