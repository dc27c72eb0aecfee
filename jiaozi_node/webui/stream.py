"""A file's bytes from an offset for the previews, without decoding a wide root (pure).

The UnixFS exporter's `read_file` decodes the file's root whole (a 1 GiB file with 1 MiB leaves
has 1 024 links: the most expensive step of a CSV's first page). Here the root is read with the
lean dag-pb reader (`unixfs.listing.pb_links`: no CID object per link), children wholly before the offset
are skipped by their blocksizes, and each child is read by the exporter itself
(`unixfs.exporter.read_file`, which checks everything below it), one child at a time as the
caller pulls. What the exporter would check at the root is checked here: the child's byte count
against the blocksize its parent claims, and that the root is a UnixFS file.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import CodecError, InvalidInput
from ..ipld.cid import CID, DAG_PB
from ..unixfs import pb
from ..unixfs.exporter import read_file
from ..unixfs.exporter_data import BlockGetter
from ..unixfs.listing import pb_links


def read_from(getter: BlockGetter, cid: CID, offset: int = 0) -> Iterator[bytes]:
    """The bytes of the file `cid` from `offset` to its end, lazily."""
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    if cid.codec != DAG_PB:
        yield from read_file(getter, cid, offset)
        return
    links, data = pb_links(getter.get(cid))
    if data is None:
        raise CodecError(f"{cid}: dag-pb node without UnixFS data")
    meta = pb.decode(data)
    if meta.type not in (pb.DataType.File, pb.DataType.Raw):
        raise InvalidInput(f"{cid}: this dag node is a {meta.type.name.lower()}, not a file")
    sizes = meta.blocksizes
    if len(sizes) != len(links):
        raise CodecError(f"{cid}: {len(links)} links but {len(sizes)} blocksizes")
    own = meta.data or b""
    if offset < len(own):
        yield own[offset:]
    pos = len(own)
    for (h, _name, _tsize), size in zip(links, sizes, strict=True):
        end = pos + size
        if end <= offset or size == 0:
            pos = end
            continue
        start = max(0, offset - pos)
        got = 0
        for chunk in read_file(getter, CID.from_bytes(h), start):
            got += len(chunk)
            if got > size - start:
                raise CodecError(f"{cid}: a child holds more than the {size} bytes blocksizes says")
            yield chunk
        if got != size - start:
            raise CodecError(f"{cid}: a child holds {got + start} bytes, blocksizes says {size}")
        pos = end
