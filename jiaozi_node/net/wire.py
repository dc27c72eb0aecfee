"""Small libp2p wire formats, pure (no I/O, no libp2p import): multistream-select lines and the
identify message.

multistream-select (github.com/multiformats/multistream-select): each message is a uvarint length
then the text, ending in "\\n". identify (github.com/libp2p/specs/blob/master/identify):

    message Identify {
      optional bytes publicKey = 1;  repeated bytes listenAddrs = 2;  repeated string protocols = 3;
      optional bytes observedAddr = 4;  optional string protocolVersion = 5;
      optional string agentVersion = 6;  optional bytes signedPeerRecord = 8;
    }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from ..config import NET_LIMITS
from ..errors import LimitExceeded, RemoteProtocolError
from ..ipld import varint
from ..ipld.framing import encode_frame, split_frame

MSS_LINE = b"/multistream/1.0.0\n"


mss_message = encode_frame


def split_mss_message(buf: bytes, *, max_bytes: int = NET_LIMITS.max_mss_message_bytes
                      ) -> tuple[bytes | None, bytes]:
    """(first complete message, rest), or (None, buf) while incomplete.

    Raises RemoteProtocolError for a message announced longer than `max_bytes`
    (NetLimits.max_mss_message_bytes).
    """
    try:
        msg, used = split_frame(buf, max_bytes=max_bytes, what="multistream-select")
    except LimitExceeded as exc:
        raise RemoteProtocolError(str(exc)) from None
    return (None, buf) if msg is None else (msg, buf[used:])


def mss_text(msg: bytes) -> str:
    """The text of one multistream-select message (its framing removed): UTF-8, ending in "\n".

    Raises RemoteProtocolError for a message without the newline or not valid UTF-8.
    """
    if not msg.endswith(b"\n"):
        raise RemoteProtocolError("multistream-select: message does not end in a newline")
    try:
        return msg[:-1].decode()
    except UnicodeDecodeError:
        raise RemoteProtocolError("multistream-select: message is not valid UTF-8") from None


_field_varint = partial(varint.decode_protobuf, error=RemoteProtocolError, what="identify")


@dataclass
class IdentifyMsg:
    public_key: bytes = b""
    listen_addrs: list[bytes] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    observed_addr: bytes = b""
    protocol_version: str = ""
    agent_version: str = ""


def decode_identify(frame: bytes, *, max_bytes: int,
                    max_entries: int = NET_LIMITS.max_identify_entries) -> IdentifyMsg:
    """Decode one length-prefixed identify message (the whole stream content).

    Raises LimitExceeded past `max_bytes` or `max_entries` fields (NetLimits.max_identify_bytes,
    .max_identify_entries), RemoteProtocolError for malformed input.
    """
    body, _ = split_frame(frame, max_bytes=max_bytes, what="identify")
    if body is None:
        raise RemoteProtocolError("identify: truncated message")
    frame, pos, end = body, 0, len(body)
    msg = IdentifyMsg()
    entries = 0
    while pos < end:
        key, pos = _field_varint(frame, pos, end)
        field_no, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _field_varint(frame, pos, end)
            continue
        if wire != 2:
            raise RemoteProtocolError(f"identify: unexpected wire type {wire}")
        size, pos = _field_varint(frame, pos, end)
        if pos + size > end:
            raise RemoteProtocolError("identify: field past the end")
        value = frame[pos : pos + size]
        pos += size
        entries += 1
        if entries > max_entries:
            raise LimitExceeded(f"identify message with more than {max_entries} fields")
        try:
            if field_no == 1:
                msg.public_key = value
            elif field_no == 2:
                msg.listen_addrs.append(value)
            elif field_no == 3:
                msg.protocols.append(value.decode())
            elif field_no == 4:
                msg.observed_addr = value
            elif field_no == 5:
                msg.protocol_version = value.decode()
            elif field_no == 6:
                msg.agent_version = value.decode()
        except UnicodeDecodeError:
            raise RemoteProtocolError("identify: invalid UTF-8 in a string field") from None
    return msg


def _len_field(no: int, value: bytes) -> bytes:
    return varint.encode((no << 3) | 2) + varint.encode(len(value)) + value


def encode_identify(msg: IdentifyMsg) -> bytes:
    """One identify message, length-prefixed (the whole content of an `/ipfs/id/1.0.0` stream)."""
    out = [_len_field(1, msg.public_key)] if msg.public_key else []
    out += [_len_field(2, a) for a in msg.listen_addrs]
    out += [_len_field(3, p.encode()) for p in msg.protocols]
    if msg.observed_addr:
        out.append(_len_field(4, msg.observed_addr))
    if msg.protocol_version:
        out.append(_len_field(5, msg.protocol_version.encode()))
    if msg.agent_version:
        out.append(_len_field(6, msg.agent_version.encode()))
    return encode_frame(b"".join(out))
