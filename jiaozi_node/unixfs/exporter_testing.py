"""Hand-built UnixFS DAGs for exporter, CAR and gateway tests (pure, no importer needed).

These build deliberately varied shapes that a real importer may never produce (data in interior
nodes, mixed raw and dag-pb leaves, trickle-like uneven trees, HAMTs with a small fanout so a few
names already need sub-shards), so readers are tested against the format, not one producer.

    dag = DagBuilder()
    leaf = dag.raw(b"hello")
    f = dag.file([leaf, dag.pb_leaf(b" world")])
    d = dag.directory({"greeting.txt": f})
    store = dag.store        # a MemoryBlockstore holding every block built
"""

from __future__ import annotations

from ..ipld import dagpb
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB, RAW
from ..ipld.multihash import IDENTITY
from ..ipld.varint import encode as varint_encode
from ..store.base import MemoryBlockstore
from . import pb
from .exporter_hamt import hamt_hash


class DagBuilder:
    def __init__(self, *, cid_version: int = 1) -> None:
        self.store = MemoryBlockstore()
        self.cid_version = cid_version
        self.sizes: dict[CID, int] = {}  # CID -> file bytes under it (files only)
        self.tsizes: dict[CID, int] = {}  # CID -> cumulative DAG size (Tsize)

    def _put(self, data: bytes, codec: int, *, file_size: int | None = None,
             tsize_children: int = 0) -> CID:
        version = self.cid_version if codec == DAG_PB else 1
        block = Block.create(data, codec=codec, version=version)
        self.store.put(block.cid, block.data)
        if file_size is not None:
            self.sizes[block.cid] = file_size
        self.tsizes[block.cid] = len(data) + tsize_children
        return block.cid

    def _link(self, cid: CID, name: str = "") -> dagpb.PBLink:
        return dagpb.PBLink(cid, name, self.tsizes.get(cid, 0))

    def raw(self, data: bytes) -> CID:
        return self._put(data, RAW, file_size=len(data))

    def identity(self, data: bytes, *, codec: int = RAW) -> CID:
        """An identity CID inlining `data` (nothing is stored)."""
        mh = varint_encode(IDENTITY) + varint_encode(len(data)) + data
        cid = CID(1, codec, mh)
        if codec == RAW:
            self.sizes[cid] = len(data)
        self.tsizes[cid] = len(data)
        return cid

    def pb_leaf(self, data: bytes) -> CID:
        node = dagpb.PBNode((), pb.file_leaf(data))
        return self._put(dagpb.encode(node), DAG_PB, file_size=len(data))

    def file(self, children: list[CID], *, data: bytes = b"") -> CID:
        """An interior file node over `children` (which must have been built here)."""
        sizes = [self.sizes[c] for c in children]
        node = dagpb.PBNode(tuple(self._link(c) for c in children), pb.file_node(sizes, data=data))
        return self._put(dagpb.encode(node), DAG_PB, file_size=len(data) + sum(sizes),
                         tsize_children=sum(self.tsizes[c] for c in children))

    def raw_node(self, node: dagpb.PBNode) -> CID:
        """Store an arbitrary dag-pb node (for malformed-input tests)."""
        return self._put(dagpb.encode(node), DAG_PB)

    def symlink(self, target: str) -> CID:
        return self._put(dagpb.encode(dagpb.PBNode((), pb.symlink(target.encode()))), DAG_PB)

    def directory(self, entries: dict[str, CID]) -> CID:
        links = tuple(self._link(c, n) for n, c in sorted(entries.items(), key=lambda kv: kv[0].encode()))
        return self._put(dagpb.encode(dagpb.PBNode(links, pb.DIRECTORY_DATA)), DAG_PB,
                         tsize_children=sum(link.tsize or 0 for link in links))

    def hamt(self, entries: dict[str, CID], *, fanout: int = 256) -> CID:
        """A HAMT-sharded directory holding `entries`, laid out as boxo/Helia do."""
        hashed = [(int.from_bytes(hamt_hash(n), "big"), n, c) for n, c in entries.items()]
        return self._shard(hashed, 0, fanout)

    def _shard(self, items: list[tuple[int, str, CID]], depth: int, fanout: int) -> CID:
        bits = fanout.bit_length() - 1
        pad = len(f"{fanout - 1:X}")
        slots: dict[int, list[tuple[int, str, CID]]] = {}
        for item in items:
            slot = (item[0] >> (64 - (depth + 1) * bits)) & (fanout - 1)
            slots.setdefault(slot, []).append(item)
        links = []
        for slot in sorted(slots):
            group = slots[slot]
            prefix = f"{slot:0{pad}X}"
            if len(group) == 1:
                _h, name, cid = group[0]
                links.append(self._link(cid, prefix + name))
            else:
                links.append(self._link(self._shard(group, depth + 1, fanout), prefix))
        bits = sum(1 << s for s in slots)  # big-endian, leading zero bytes stripped (as boxo)
        bitfield = bits.to_bytes((bits.bit_length() + 7) // 8, "big")
        node = dagpb.PBNode(tuple(links), pb.hamt_shard(bitfield, fanout=fanout))
        return self._put(dagpb.encode(node), DAG_PB,
                         tsize_children=sum(link.tsize or 0 for link in links))

    def chunked(self, data: bytes, *, chunk: int, width: int, raw_leaves: bool = True) -> CID:
        """A balanced file DAG of `data` (chunk bytes per leaf, `width` links per node)."""
        make = self.raw if raw_leaves else self.pb_leaf
        level = [make(data[i:i + chunk]) for i in range(0, len(data), chunk)] or [make(b"")]
        while len(level) > 1:
            level = [self.file(level[i:i + width]) for i in range(0, len(level), width)]
        return level[0]
