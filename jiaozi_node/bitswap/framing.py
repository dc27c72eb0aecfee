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


def encode_frame(payload: bytes | bytearray) -> bytes:
    n = len(payload)
    prefix = bytearray()
    while n >= 0x80:
        prefix.append((n & 0x7F) | 0x80)
        n >>= 7
    prefix.append(n)
    return bytes(prefix) + payload  # one copy of the payload (a message is up to ~1 MiB)


class FrameDecoder:
    """Incremental decoder for one stream direction.

    Received chunks are kept as they are (no growing buffer): a frame that lies inside one chunk
    is one slice, a frame spread over several chunks is one join. With 256 KiB blocks arriving in
    1 MiB reads this halves the copying of a bytearray buffer (append, slice, shift).

    Args:
        max_message_bytes: frames announcing more than this raise LimitExceeded.
    """

    def __init__(self, *, max_message_bytes: int = BITSWAP_LIMITS.max_message_bytes) -> None:
        self._max = max_message_bytes
        self._chunks: list[bytes] = []
        self._off = 0  # read position inside _chunks[0]
        self._have = 0  # unread bytes over all chunks
        self._need: int = -1  # length of the frame being read; -1 = reading the prefix

    @property
    def buffered(self) -> int:
        return self._have

    def at_boundary(self) -> bool:
        """True if no partial frame is buffered (a clean place for the stream to end)."""
        return not self._have and self._need < 0

    def _advance(self, n: int) -> None:
        self._off += n
        self._have -= n
        if self._off == len(self._chunks[0]):
            self._chunks.pop(0)
            self._off = 0

    def _read_prefix(self) -> bool:
        """Parse the length prefix if complete; False if more bytes are needed."""
        first = self._chunks[0]
        if len(first) - self._off < _MAX_PREFIX_BYTES and len(self._chunks) > 1:
            first = b"".join([first[self._off:], *self._chunks[1:]])  # rare: prefix split
            self._chunks = [first]
            self._off = 0
        value = 0
        shift = 0
        p = self._off
        end = len(first)
        while True:
            if p >= end:
                if p - self._off >= _MAX_PREFIX_BYTES:
                    raise RemoteProtocolError("bitswap: length prefix too long")
                return False
            b = first[p]
            p += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if p - self._off >= _MAX_PREFIX_BYTES or value > self._max:
                raise LimitExceeded(f"bitswap: message length prefix over the {self._max}-byte limit")
        if value > self._max:
            raise LimitExceeded(f"bitswap: message of {value} bytes over the {self._max}-byte limit")
        self._need = value
        self._advance(p - self._off)
        return True

    def _take(self, n: int) -> bytes:
        first = self._chunks[0]
        if len(first) - self._off >= n:
            out = first[self._off : self._off + n] if (self._off or n != len(first)) else first
            self._advance(n)
            return bytes(out)
        parts: list[memoryview] = []
        left = n
        while left:
            c = self._chunks[0]
            k = min(len(c) - self._off, left)
            parts.append(memoryview(c)[self._off : self._off + k])
            left -= k
            self._advance(k)
        return b"".join(parts)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every frame now complete (possibly none)."""
        if data:
            self._chunks.append(bytes(data))
            self._have += len(data)
        frames: list[bytes] = []
        while True:
            if self._need < 0:
                if not self._have or not self._read_prefix():
                    return frames
            if self._have < self._need:
                return frames
            frames.append(self._take(self._need) if self._need else b"")
            self._need = -1
