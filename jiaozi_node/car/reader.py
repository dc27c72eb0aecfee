"""CAR reader (pure, sans-IO, h11 style): feed bytes in, get a header and verified blocks out.

    dec = CarDecoder()
    for chunk in chunks:
        for event in dec.feed(chunk):     # CarHeader first, then Block after Block
            ...
    dec.close()                           # raises CodecError if the input stopped mid-way

CARv1 is `varint(len) dag-cbor{roots, version: 1}` then sections `varint(len) CID block`. CARv2
wraps a CARv1 payload: an 11-byte pragma (which reads as a v1 header `{version: 2}`), a 40-byte
header (characteristics, data offset, data size, index offset, little-endian u64), the v1 payload
at `data offset`, then an index we skip (we verify every block instead of trusting an index).

Every length is checked against `CarLimits` before its bytes are buffered, so a hostile prefix
cannot make us allocate more than one section. With `verify=True` (the default) each block is
hashed against its CID (`ipld.block.verify`, the one choke point) before it is returned; errors
name the section number and the CID.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..config import CAR_LIMITS, IPLD_LIMITS, CarLimits
from ..errors import CodecError, HashMismatch, InvalidInput, LimitExceeded
from ..ipld import dagcbor
from ..ipld.block import Block, verify
from ..ipld.cid import CID
from ..ipld.varint import decode_partial as _varint

CARV2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")
CARV2_HEADER_BYTES = 40


@dataclass(frozen=True, slots=True)
class CarHeader:
    """The roots of a CAR. `version` is the container version (1, or 2 for a CARv2 wrapper)."""

    version: int
    roots: tuple[CID, ...]
    data_offset: int = 0  # CARv2 only: where the v1 payload starts
    data_size: int = 0  # CARv2 only: its length


def parse_header(raw: bytes, *, limits: CarLimits = CAR_LIMITS) -> tuple[int, tuple[CID, ...]]:
    """Decode and check a CAR header block: returns (version, roots)."""
    if raw == CARV2_PRAGMA[1:]:
        return 2, ()
    try:
        value = dagcbor.decode(raw)
    except CodecError as exc:
        first = (str(exc).splitlines() or [""])[0]  # the cbor library's messages span lines
        raise CodecError(f"CAR header is not valid dag-cbor: {first}") from None
    if not isinstance(value, dict):
        raise CodecError("CAR header is not a map")
    version = value.get("version")
    if version == 2:
        raise CodecError("CARv2 pragma must be exactly {version: 2}")
    if version != 1 or isinstance(version, bool):
        raise CodecError(f"unsupported CAR version {version!r}")
    roots = value.get("roots")
    if not isinstance(roots, list):
        raise CodecError("CAR header has no roots list")
    if len(roots) > limits.max_roots:
        raise LimitExceeded(f"CAR header lists {len(roots)} roots, over the {limits.max_roots} limit")
    if not all(isinstance(r, CID) for r in roots):
        raise CodecError("CAR header roots must all be CIDs")
    return 1, tuple(roots)


class CarDecoder:
    """Incremental CAR v1/v2 parser. Not thread-safe; one instance per input."""

    def __init__(self, *, verify: bool = True, limits: CarLimits = CAR_LIMITS,
                 max_block_bytes: int = IPLD_LIMITS.max_block_bytes) -> None:
        self._verify = verify
        self._limits = limits
        self._max_block = max_block_bytes
        # Unconsumed input is self._buf[self._pos:]; a bytes object plus a cursor, so a section
        # is copied out once (bytearray deletion from the front would copy it again).
        self._buf = b""
        self._pos = 0
        # Input not yet joined to _buf: while a long section is still incomplete, small chunks
        # are only collected, and joined once when the section is whole (no quadratic copying).
        self._parts: list[bytes] = []
        self._parts_len = 0
        self._need = 0  # bytes of unconsumed input the current step needs before it can progress
        self._offset = 0  # absolute input offset of self._buf[self._pos]
        self._state = "header"
        self._header: CarHeader | None = None
        self._data_end: int | None = None  # CARv2: absolute end of the v1 payload
        self._skip_to = 0
        self.sections = 0  # blocks returned so far
        self.closed = False

    @property
    def header(self) -> CarHeader:
        if self._header is None:
            raise CodecError("CAR header not read yet")
        return self._header

    def feed(self, data: bytes) -> list[CarHeader | Block]:
        """Add input bytes; returns every event they complete, in order."""
        if self.closed:
            raise InvalidInput("CarDecoder.feed after close")
        if data:
            self._parts.append(bytes(data))
            self._parts_len += len(data)
        if self._avail() + self._parts_len < self._need:
            return []
        if self._parts:
            rest = self._buf[self._pos:] if self._pos < len(self._buf) else b""
            self._buf = b"".join([rest, *self._parts]) if rest or len(self._parts) > 1 else self._parts[0]
            self._pos = 0
            self._parts, self._parts_len = [], 0
        self._need = 0
        events: list[CarHeader | Block] = []
        while True:
            event = self._step()
            if event is None:
                break
            if event is not True:
                events.append(event)  # type: ignore[arg-type]
        return events

    def close(self) -> None:
        """Signal end of input; raises CodecError if it ended inside the header or a section."""
        self.closed = True
        if self._header is None or self._state in ("header", "v2header", "skip", "inner"):
            raise CodecError("CAR truncated: no complete header")
        if self._state == "sections" and self._data_end is not None and self._offset < self._data_end:
            raise CodecError(f"CAR truncated: CARv2 payload ends before its declared size "
                             f"(after {self.sections} blocks)")
        if self._state == "sections" and (self._avail() or self._parts_len):
            raise CodecError(f"CAR truncated inside section {self.sections + 1} "
                             f"(at byte {self._offset})")

    # ------------------------------------------------------------------ internals

    def _avail(self) -> int:
        return len(self._buf) - self._pos

    def _consume(self, n: int) -> bytes:
        out = self._buf[self._pos:self._pos + n]
        self._pos += n
        self._offset += n
        return out

    def _step(self) -> CarHeader | Block | bool | None:
        """One parsing step: an event, True (progress without an event) or None (need data)."""
        state = self._state
        if state in ("header", "inner"):
            return self._read_header(inner=state == "inner")
        if state == "v2header":
            if self._avail() < CARV2_HEADER_BYTES:
                self._need = CARV2_HEADER_BYTES
                return None
            raw = self._consume(CARV2_HEADER_BYTES)
            data_offset = int.from_bytes(raw[16:24], "little")
            data_size = int.from_bytes(raw[24:32], "little")
            if data_offset < len(CARV2_PRAGMA) + CARV2_HEADER_BYTES:
                raise CodecError(f"CARv2 data offset {data_offset} points inside its header")
            self._skip_to, self._data_end = data_offset, data_offset + data_size
            self._state = "skip"
            return True
        if state == "skip":
            gap = self._skip_to - self._offset
            n = min(gap, self._avail())
            self._consume(n)
            if self._offset < self._skip_to:
                return None
            self._state = "inner"
            return True
        if state == "sections":
            return self._read_section()
        if state == "trailer":  # CARv2 index: ignored (every block was verified instead)
            self._consume(self._avail())
            return None
        raise AssertionError(state)

    def _read_header(self, *, inner: bool) -> CarHeader | bool | None:
        got = _varint(self._buf, self._pos)
        if got is None:
            return None
        length, end = got
        pos = end - self._pos
        if length == 0:
            raise CodecError("CAR header length is zero")
        if length > self._limits.max_header_bytes:
            raise LimitExceeded(f"CAR header of {length} bytes is over the "
                                f"{self._limits.max_header_bytes} limit")
        if self._avail() < pos + length:
            self._need = pos + length
            return None
        self._consume(pos)
        version, roots = parse_header(self._consume(length), limits=self._limits)
        if version == 2:
            if inner:
                raise CodecError("CARv2 payload must hold a CARv1, not another CARv2")
            self._state = "v2header"
            return True
        if inner:
            assert self._data_end is not None
            self._header = CarHeader(2, roots, self._skip_to, self._data_end - self._skip_to)
            if self._offset > self._data_end:
                raise CodecError("CARv2 payload is smaller than its own header")
        else:
            self._header = CarHeader(1, roots)
        self._state = "sections"
        return self._header

    def _read_section(self) -> Block | bool | None:
        if self._data_end is not None and self._offset >= self._data_end:
            if self._offset > self._data_end:
                raise CodecError("CARv2 section runs past the end of its payload")
            self._state = "trailer"
            return True
        if not self._avail():
            return None
        got = _varint(self._buf, self._pos)
        if got is None:
            return None
        length, end = got
        pos = end - self._pos
        index = self.sections + 1
        if length == 0:
            raise CodecError(f"CAR section {index} (at byte {self._offset}) has length zero")
        if length > self._limits.max_section_bytes:
            raise LimitExceeded(f"CAR section {index} (at byte {self._offset}) is {length} bytes, "
                                f"over the {self._limits.max_section_bytes} limit")
        if self._data_end is not None and self._offset + pos + length > self._data_end:
            raise CodecError(f"CAR section {index} runs past the end of the CARv2 payload")
        if self._avail() < pos + length:
            self._need = pos + length
            return None
        start = self._offset
        self._consume(pos)
        body_start = self._pos
        try:
            cid, cid_end = CID.read(self._buf, body_start)
            if cid_end > body_start + length:
                raise CodecError("CID runs past the end of its section")
        except (CodecError, InvalidInput, LimitExceeded) as exc:
            raise CodecError(f"CAR section {index} (at byte {start}): bad CID: {exc}") from None
        self._consume(cid_end - body_start)
        data = self._consume(length - (cid_end - body_start))
        if self._verify:
            try:
                verify(cid, data, max_block_bytes=self._max_block)
            except HashMismatch:
                raise HashMismatch(f"CAR section {index}: block {cid} does not match its hash") from None
        self.sections = index
        return Block(cid, data)


def iter_car(chunks: Iterable[bytes], *, verify: bool = True,
             limits: CarLimits = CAR_LIMITS) -> Iterator[CarHeader | Block]:
    """Parse a CAR from an iterable of byte chunks: the CarHeader, then each Block."""
    dec = CarDecoder(verify=verify, limits=limits)
    for chunk in chunks:
        yield from dec.feed(chunk)
    dec.close()


def read_car(data: bytes, *, verify: bool = True) -> tuple[CarHeader, list[Block]]:
    """Parse a whole CAR held in memory."""
    events = list(iter_car([data], verify=verify))
    header = events[0]
    assert isinstance(header, CarHeader)
    return header, [e for e in events[1:] if isinstance(e, Block)]
