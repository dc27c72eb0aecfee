"""api/tree_stream.py: the framed tree stream between the daemon and `jzfs get`."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaozi_node.api.tree_stream import StreamError, decode_tree, encode_tree
from jiaozi_node.config import TreeLimits
from jiaozi_node.errors import NotFound, RemoteProtocolError
from jiaozi_node.unixfs.tree_plan import TreeEntry


def _entries() -> list[TreeEntry]:
    return [TreeEntry((), "directory"), TreeEntry(("a/b?",), "file", data=[b"x" * 10, b"", b"y"]),
            TreeEntry(("d",), "directory"), TreeEntry(("d", "l"), "symlink", target="../../etc"),
            TreeEntry(("d", "empty"), "file", data=[])]


def _read(stream: bytes, step: int = 7) -> list[tuple]:
    out = []
    for e in decode_tree(stream[i:i + step] for i in range(0, len(stream), step)):
        data = b"".join(bytes(c) for c in e.data) if e.data is not None else None
        out.append((e.path, e.kind, e.target, data))
    return out


def test_round_trip_keeps_names_exactly() -> None:
    stream = b"".join(encode_tree(_entries(), limits=TreeLimits(stream_frame_bytes=4)))
    assert _read(stream) == [((), "directory", None, None), (("a/b?",), "file", None, b"x" * 10 + b"y"),
                             (("d",), "directory", None, None), (("d", "l"), "symlink", "../../etc", None),
                             (("d", "empty"), "file", None, b"")]


def test_error_in_band_with_the_daemons_words() -> None:
    def entries():
        yield TreeEntry((), "directory")
        yield TreeEntry(("f",), "file", data=iter([b"part"]))

        def broken():
            yield b"abc"
            raise NotFound("block bafy… is missing")
        yield TreeEntry(("g",), "file", data=broken())

    stream = b"".join(encode_tree(entries()))
    with pytest.raises(StreamError, match="block bafy… is missing"):
        _read(stream)


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_truncated_streams_are_errors(cut: int) -> None:
    stream = b"".join(encode_tree(_entries()))
    with pytest.raises(RemoteProtocolError):
        _read(stream[:-cut])


@pytest.mark.parametrize("bad", [
    b"q" + struct.pack(">I", 0),  # unknown frame
    b"b" + struct.pack(">I", 1) + b"x",  # data outside a file
    b"d" + struct.pack(">I", 3) + b"\0\0\0",  # truncated entry
    b"d" + struct.pack(">I", 9) + struct.pack(">II", 1, 1) + b"\xff",  # not UTF-8
    b"d" + struct.pack(">I", 5) + struct.pack(">I", 0) + b"!",  # trailing bytes
    b"b" + struct.pack(">I", 1 << 30),  # over the frame limit, refused before buffering
    b"z" + struct.pack(">I", 1) + b"x",
])
def test_malformed_frames_refused(bad: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        _read(b"d" + struct.pack(">II", 4, 0) + bad)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        _read(data, step=3)
    except (RemoteProtocolError, StreamError):
        pass
