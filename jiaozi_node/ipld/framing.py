"""Length-prefixed messages: an unsigned varint (multiformats) length, then the payload. Pure.

The one framing of every stream protocol here: bitswap, kad-dht, the refs sync protocol
(/jzfs/refs), multistream-select lines and identify. The length prefix is read with
`ipld.varint` and checked against the caller's limit as soon as it is read, so a peer announcing
a 2**60-byte message is refused before we buffer a single byte of it.

- `encode_frame(payload)`: prefix + payload.
- `split_frame(buf, ...)`: the first frame of a buffer, for one-message exchanges.
- `FrameDecoder`: h11 style; the adapter feeds whatever bytes the stream produced into `feed()` and
  gets back the complete frames.
"""

from __future__ import annotations

from ..errors import CodecError, LimitExceeded, RemoteProtocolError
from . import varint

_MAX_PREFIX_BYTES = varint.MAX_VARINT_BYTES


def encode_frame(payload: bytes | bytearray) -> bytes:
    return varint.encode(len(payload)) + payload  # one copy of the payload (up to ~1 MiB)


def _prefix(buf: bytes | bytearray | memoryview, pos: int, max_bytes: int,
            what: str) -> tuple[int, int] | None:
    """(length, payload start) of the frame at `pos`, None while the prefix is incomplete."""
    try:
        got = varint.decode_partial(buf, pos)
    except CodecError as exc:
        raise RemoteProtocolError(f"{what}: bad length prefix ({exc})") from None
    if got is None:  # incomplete: already longer than the limit's (minimal) encoding = too big
        if len(buf) - pos >= len(varint.encode(max_bytes)):
            raise LimitExceeded(f"{what}: message length prefix over the {max_bytes}-byte limit")
        return None
    if got[0] > max_bytes:
        raise LimitExceeded(f"{what}: message of {got[0]} bytes over the {max_bytes}-byte limit")
    return got


def split_frame(buf: bytes | bytearray, *, max_bytes: int,
                what: str) -> tuple[bytes | None, int]:
    """(first complete frame, bytes it took from `buf`), or (None, 0) while incomplete.

    Raises LimitExceeded for a frame announced over `max_bytes`, RemoteProtocolError for a
    malformed prefix.
    """
    got = _prefix(buf, 0, max_bytes, what)
    if got is None or len(buf) < got[1] + got[0]:
        return None, 0
    n, pos = got
    return bytes(buf[pos : pos + n]), pos + n


class FrameDecoder:
    """Incremental decoder for one stream direction.

    Received chunks are kept as they are (no growing buffer): a frame that lies inside one chunk
    is one slice, a frame spread over several chunks is one join. With 256 KiB blocks arriving in
    1 MiB reads this halves the copying of a bytearray buffer (append, slice, shift).

    Args:
        max_message_bytes: frames announcing more than this raise LimitExceeded.
        what: the protocol, named in errors ("bitswap", "dht", ...).
    """

    def __init__(self, *, max_message_bytes: int, what: str) -> None:
        self._max = max_message_bytes
        self._what = what
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
        got = _prefix(first, self._off, self._max, self._what)
        if got is None:
            return False
        self._need = got[0]
        self._advance(got[1] - self._off)
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

    def feed(self, data: bytes, *, keep: bool = False) -> list[bytes]:
        """Add bytes; return every frame now complete (possibly none). `keep`: `data` is a
        read-only buffer (a view of a received message) the decoder may hold as it is, so a
        frame is copied once, when it is cut out, instead of also here."""
        if data:
            self._chunks.append(data if keep else bytes(data))
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
