"""DAG-PB codec (strict), per the IPLD dag-pb spec.

    message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
    message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }

Canonical form: Links come before Data, link fields in order 1,2,3, no unknown fields, no
duplicates. Decoding rejects anything else with CodecError. Encoding always writes Hash, and writes
Name and Tsize when present (UnixFS producers such as Kubo and Helia always set both, with Name ""
for file chunks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import CodecError
from . import varint
from .cid import CID


@dataclass(frozen=True, slots=True)
class PBLink:
    cid: CID
    name: str | None = ""
    tsize: int | None = None


@dataclass(frozen=True, slots=True)
class PBNode:
    links: tuple[PBLink, ...] = ()
    data: bytes | None = None


def _field(out: bytearray, tag: int, payload: bytes) -> None:
    out.append(tag)
    out += varint.encode(len(payload))
    out += payload


def encode_link(link: PBLink) -> bytes:
    out = bytearray()
    _field(out, 0x0A, link.cid.buffer)
    if link.name is not None:
        _field(out, 0x12, link.name.encode("utf-8"))
    if link.tsize is not None:
        out.append(0x18)
        out += varint.encode(link.tsize)
    return bytes(out)


def encode(node: PBNode) -> bytes:
    out = bytearray()
    for link in node.links:
        _field(out, 0x12, encode_link(link))
    if node.data is not None:
        _field(out, 0x0A, node.data)
    return bytes(out)


def encode_unnamed(links: Iterable[tuple[bytes, int]], data: bytes) -> bytes:
    """`encode(PBNode((PBLink(cid, "", tsize), ...), data))` for links given as (CID bytes, Tsize):
    the same bytes, without a PBLink object, a bytearray and two calls per link. A UnixFS file's
    interior node has up to 174 such links (tests/unit/ipld/test_dagpb.py checks it against `encode`)."""
    uv = varint.encode
    parts = []
    for cid, tsize in links:
        link = b"\x0a" + uv(len(cid)) + cid + b"\x12\x00\x18" + uv(tsize)
        parts.append(b"\x12" + uv(len(link)) + link)
    parts.append(b"\x0a" + uv(len(data)) + data)
    return b"".join(parts)


def _read_bytes(buf: bytes, pos: int, end: int) -> tuple[bytes, int]:
    length, pos = varint.decode(buf, pos)
    if pos + length > end:
        raise CodecError("dag-pb: truncated field")
    return buf[pos : pos + length], pos + length


def _decode_link(buf: bytes) -> PBLink:
    pos, end = 0, len(buf)
    cid: CID | None = None
    name: str | None = None
    tsize: int | None = None
    last = 0
    while pos < end:
        key, pos = varint.decode(buf, pos)
        field, wire = key >> 3, key & 7
        if field <= last:
            raise CodecError("dag-pb: link fields out of order or duplicated")
        last = field
        if field == 1 and wire == 2:
            raw, pos = _read_bytes(buf, pos, end)
            try:
                cid = CID.from_bytes(raw)
            except Exception as exc:
                raise CodecError(f"dag-pb: bad link CID: {exc}") from None
        elif field == 2 and wire == 2:
            raw, pos = _read_bytes(buf, pos, end)
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CodecError("dag-pb: link name is not UTF-8") from None
        elif field == 3 and wire == 0:
            tsize, pos = varint.decode(buf, pos)
        else:
            raise CodecError(f"dag-pb: unexpected link field {field} (wire type {wire})")
    if cid is None:
        raise CodecError("dag-pb: link without Hash")
    return PBLink(cid, name, tsize)


def decode(buf: bytes) -> PBNode:
    """Strictly decode a dag-pb block."""
    links, data = _decode(buf, keep_data=True)
    return PBNode(tuple(links), data)


def link_cids(buf: bytes) -> list[CID]:
    """The CIDs a dag-pb block links to, as strictly checked as `decode`, without copying its
    Data (a 256 KiB file leaf's whole content: a DAG walk copied every leaf for nothing)."""
    return [link.cid for link in _decode(buf, keep_data=False)[0]]


def _decode(buf: bytes, *, keep_data: bool) -> tuple[list[PBLink], bytes | None]:
    buf = bytes(buf)
    pos, end = 0, len(buf)
    links: list[PBLink] = []
    data: bytes | None = None
    seen_data = False
    while pos < end:
        key, pos = varint.decode(buf, pos)
        field, wire = key >> 3, key & 7
        if wire != 2:
            raise CodecError(f"dag-pb: unexpected wire type {wire}")
        if field == 2:
            if seen_data:
                raise CodecError("dag-pb: Links after Data (non-canonical)")
            raw, pos = _read_bytes(buf, pos, end)
            links.append(_decode_link(raw))
        elif field == 1:
            if seen_data:
                raise CodecError("dag-pb: duplicate Data field")
            seen_data = True
            if keep_data:
                data, pos = _read_bytes(buf, pos, end)
            else:
                length, pos = varint.decode(buf, pos)
                if pos + length > end:
                    raise CodecError("dag-pb: truncated field")
                pos += length
        else:
            raise CodecError(f"dag-pb: unknown field {field}")
    return links, data
