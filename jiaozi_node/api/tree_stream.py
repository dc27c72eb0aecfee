"""The tree stream of `jzfs get` through a daemon (pure): entries out of the daemon, into the
CLI's checked tree writer.

    daemon:  send_stream(resp, encode_tree(tree_entries(getter, cid)))   # /api/v0/get?format=jzfs-tree
    CLI:     write_tree(decode_tree(client.stream("get", [path], {"format": "jzfs-tree"})), dest)

Why not tar: a tar stream handed to an archive extractor is how issue 9's escape happened, a tar
path cannot carry a name with `/` unambiguously, and an error met in the middle of a file (a
missing block) cannot be said in tar at all. This framing can: the daemon walks the tree with the
same code as offline `get` (`node.files_read.tree_entries`) and reports any error in-band, with
its own message; the CLI feeds the entries to the same writer (`node/tree_writer.py`) that checks
names, duplicates, order and depth. So `get` behaves identically with and without a daemon.
Kubo-style clients still get a tar (the default `/api/v0/get` answer).

Frames: one type byte, a 4-byte big-endian payload length, the payload.

    d, f, s   a directory / file / symlink entry: u32 count, then count x (u32 len, UTF-8 name);
              a symlink adds (u32 len, UTF-8 target). A file's bytes follow in `b` frames.
    b         file bytes (at most TreeLimits.stream_frame_bytes)
    e         error: UTF-8 message; the stream ends here
    z         the end of the tree (empty payload)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from ..config import TREE_LIMITS, TreeLimits
from ..errors import JzfsError, RemoteProtocolError
from ..unixfs.tree_plan import DIRECTORY, FILE, SYMLINK, TreeEntry

FORMAT = "jzfs-tree"  # value of /api/v0/get's `format` parameter that selects this stream
CONTENT_TYPE = "application/vnd.jzfs.tree"
_U32 = struct.Struct(">I")
_HEAD = struct.Struct(">cI")
_KIND_TYPE = {DIRECTORY: b"d", FILE: b"f", SYMLINK: b"s"}
_TYPE_KIND = {v: k for k, v in _KIND_TYPE.items()}


class StreamError(JzfsError):
    """The daemon stopped the tree with an error; the message is the daemon's own."""


def _bad(why: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"the daemon sent a malformed tree stream: {why}")


# ------------------------------------------------------------------ encoding (daemon)


def _text(value: str) -> bytes:
    raw = value.encode("utf-8", "surrogatepass")
    return _U32.pack(len(raw)) + raw


def _frame(kind: bytes, payload: bytes) -> bytes:
    return _HEAD.pack(kind, len(payload)) + payload


def encode_tree(entries: Iterable[TreeEntry], *, limits: TreeLimits = TREE_LIMITS) -> Iterator[bytes]:
    """The frames of a tree; a JzfsError met while walking or reading ends it with an `e` frame."""
    step = limits.stream_frame_bytes
    try:
        for e in entries:
            payload = _U32.pack(len(e.path)) + b"".join(_text(n) for n in e.path)
            if e.kind == SYMLINK:
                payload += _text(e.target or "")
            yield _frame(_KIND_TYPE[e.kind], payload)
            if e.kind == FILE:
                for chunk in e.data or ():
                    for i in range(0, len(chunk), step):
                        piece = chunk[i:i + step]
                        yield _HEAD.pack(b"b", len(piece))
                        yield piece
        yield _frame(b"z", b"")
    except JzfsError as exc:
        yield _frame(b"e", str(exc).encode("utf-8", "replace"))


# ------------------------------------------------------------------ decoding (CLI)


class _Source:
    """Exact reads and zero-copy slices over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it = iter(chunks)
        self._buf = b""
        self._pos = 0

    def _fill(self) -> bool:
        for chunk in self._it:
            if chunk:
                rest = self._buf[self._pos:]
                self._buf = rest + bytes(chunk) if rest else bytes(chunk)
                self._pos = 0
                return True
        return False

    def read_exact(self, n: int) -> bytes | None:
        """`n` bytes, or None at a clean end of the stream."""
        while len(self._buf) - self._pos < n:
            if not self._fill():
                if self._pos == len(self._buf):
                    return None
                raise _bad("it ends in the middle of a frame")
        out = self._buf[self._pos:self._pos + n]
        self._pos += n
        return out

    def slices(self, n: int) -> Iterator[memoryview]:
        while n > 0:
            if self._pos == len(self._buf) and not self._fill():
                raise _bad("it ends in the middle of a frame")
            take = min(n, len(self._buf) - self._pos)
            yield memoryview(self._buf)[self._pos:self._pos + take]
            self._pos += take
            n -= take


def _strings(payload: bytes, pos: int, count: int) -> tuple[list[str], int]:
    out = []
    for _ in range(count):
        if pos + 4 > len(payload):
            raise _bad("truncated entry")
        (n,) = _U32.unpack_from(payload, pos)
        pos += 4
        if pos + n > len(payload):
            raise _bad("truncated entry")
        try:
            out.append(payload[pos:pos + n].decode("utf-8"))
        except UnicodeDecodeError:
            raise _bad("a name is not UTF-8") from None
        pos += n
    return out, pos


def _entry(kind: str, payload: bytes, limits: TreeLimits) -> TreeEntry:
    if len(payload) < 4:
        raise _bad("truncated entry")
    (count,) = _U32.unpack_from(payload, 0)
    if count > limits.max_tree_depth + 1:
        raise _bad(f"a path of {count} names")
    names, pos = _strings(payload, 4, count)
    target = None
    if kind == SYMLINK:
        (target,), pos = _strings(payload, pos, 1)
    if pos != len(payload):
        raise _bad("trailing bytes in an entry")
    return TreeEntry(tuple(names), kind, target=target)


def decode_tree(chunks: Iterable[bytes], *, limits: TreeLimits = TREE_LIMITS) -> Iterator[TreeEntry]:
    """The entries of a tree stream, file bytes streamed: consume each file's `data` before
    asking for the next entry. StreamError carries the daemon's message when it stopped with
    one; RemoteProtocolError for anything malformed or cut short."""
    src = _Source(chunks)
    pending: tuple[bytes, int] | None = None

    def head() -> tuple[bytes, int]:
        raw = src.read_exact(_HEAD.size)
        if raw is None:
            raise _bad("it ends before its end frame (the daemon stopped?)")
        kind, size = _HEAD.unpack(raw)
        if size > limits.stream_frame_bytes:
            raise _bad(f"a frame of {size} bytes (TreeLimits.stream_frame_bytes)")
        return kind, size

    def body(size: int) -> bytes:
        data = src.read_exact(size) if size else b""
        if data is None:
            raise _bad("it ends in the middle of a frame")
        return data

    def file_data() -> Iterator[memoryview]:
        nonlocal pending
        while True:
            kind, size = head()
            if kind != b"b":
                pending = (kind, size)
                return
            yield from src.slices(size)

    while True:
        kind, size = pending if pending is not None else head()
        pending = None
        if kind == b"z":
            if size:
                raise _bad("an end frame with a payload")
            return
        if kind == b"e":
            raise StreamError(body(size).decode("utf-8", "replace"))
        entry_kind = _TYPE_KIND.get(kind)
        if entry_kind is None:
            raise _bad(f"unexpected frame type {kind!r}")
        entry = _entry(entry_kind, body(size), limits)
        if entry_kind != FILE:
            yield entry
            continue
        data = file_data()
        yield TreeEntry(entry.path, FILE, data=data)
        for _ in data:  # whatever the consumer left unread
            pass
