"""Length-prefixed framing of bitswap messages (uvarint length, then the protobuf). Pure: no I/O.

h11 style: the adapter feeds whatever bytes the stream produced into `FrameDecoder.feed()` and gets
back the complete frames. The length prefix is checked against the limit as soon as it is read, so
a peer announcing a 2**60-byte message is refused before we buffer a single byte of it.
"""

from __future__ import annotations

from ..config import BITSWAP_LIMITS
from ..errors import LimitExceeded, RemoteProtocolError

# A uvarint for any size up to 2**63 needs at most 9 bytes; a 4 MiB limit needs 4.
_MAX_PREFIX_BYTES = 9


def encode_frame(payload: bytes) -> bytes:
    n = len(payload)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    out += payload
    return bytes(out)


class FrameDecoder:
    """Incremental decoder for one stream direction.

    Args:
        max_message_bytes: frames announcing more than this raise LimitExceeded.
    """

    def __init__(self, *, max_message_bytes: int = BITSWAP_LIMITS.max_message_bytes) -> None:
        self._max = max_message_bytes
        self._buf = bytearray()
        self._need: int = -1  # length of the frame being read; -1 = reading the prefix

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def at_boundary(self) -> bool:
        """True if no partial frame is buffered (a clean place for the stream to end)."""
        return not self._buf

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every frame now complete (possibly none)."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        pos = 0
        end = len(buf)
        while True:
            if self._need < 0:
                value = 0
                shift = 0
                p = pos
                while True:
                    if p >= end:
                        if p - pos >= _MAX_PREFIX_BYTES:
                            raise RemoteProtocolError("bitswap: length prefix too long")
                        del buf[:pos]
                        return frames
                    b = buf[p]
                    p += 1
                    value |= (b & 0x7F) << shift
                    if b < 0x80:
                        break
                    shift += 7
                    if p - pos >= _MAX_PREFIX_BYTES or value > self._max:
                        raise LimitExceeded(f"bitswap: message length prefix over the {self._max}-byte limit")
                if value > self._max:
                    raise LimitExceeded(f"bitswap: message of {value} bytes over the {self._max}-byte limit")
                self._need = value
                pos = p
            if end - pos < self._need:
                del buf[:pos]
                return frames
            frames.append(bytes(buf[pos : pos + self._need]))
            pos += self._need
            self._need = -1
