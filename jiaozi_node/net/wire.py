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

from ..config import NET_LIMITS
from ..errors import LimitExceeded, RemoteProtocolError
from ..ipld import varint

MSS_LINE = b"/multistream/1.0.0\n"


def mss_message(line: bytes) -> bytes:
    return varint.encode(len(line)) + line


def split_mss_message(buf: bytes) -> tuple[bytes | None, bytes]:
    """(first complete message, rest), or (None, buf) while incomplete.

    Raises RemoteProtocolError for a message announced longer than NetLimits.max_mss_message_bytes.
    """
    try:
        n, pos = varint.decode(buf, 0)
    except Exception:  # noqa: BLE001 - truncated varint: need more bytes
        if len(buf) > 9:
            raise RemoteProtocolError("malformed multistream-select length") from None
        return None, buf
    if n > NET_LIMITS.max_mss_message_bytes:
        raise RemoteProtocolError(f"multistream-select message of {n} bytes")
    if len(buf) < pos + n:
        return None, buf
    return buf[pos : pos + n], buf[pos + n :]


@dataclass
class IdentifyMsg:
    public_key: bytes = b""
    listen_addrs: list[bytes] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    observed_addr: bytes = b""
    protocol_version: str = ""
    agent_version: str = ""


def decode_identify(frame: bytes, *, max_bytes: int) -> IdentifyMsg:
    """Decode one length-prefixed identify message (the whole stream content).

    Raises LimitExceeded past `max_bytes`, RemoteProtocolError for malformed input.
    """
    try:
        n, pos = varint.decode(frame, 0)
    except Exception:  # noqa: BLE001
        raise RemoteProtocolError("identify: malformed length prefix") from None
    if n > max_bytes:
        raise LimitExceeded(f"identify message of {n} bytes (> {max_bytes})")
    end = pos + n
    if end > len(frame):
        raise RemoteProtocolError("identify: truncated message")
    msg = IdentifyMsg()
    entries = 0
    while pos < end:
        try:
            key, pos = varint.decode(frame, pos)
            field_no, wire = key >> 3, key & 7
            if wire == 0:
                _, pos = varint.decode(frame, pos)
                continue
            if wire != 2:
                raise RemoteProtocolError(f"identify: unexpected wire type {wire}")
            size, pos = varint.decode(frame, pos)
        except RemoteProtocolError:
            raise
        except Exception:  # noqa: BLE001 - CodecError from varint
            raise RemoteProtocolError("identify: malformed field") from None
        if pos + size > end:
            raise RemoteProtocolError("identify: field past the end")
        value = frame[pos : pos + size]
        pos += size
        entries += 1
        if entries > NET_LIMITS.max_identify_entries:
            raise LimitExceeded(f"identify message with more than {NET_LIMITS.max_identify_entries} fields")
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
