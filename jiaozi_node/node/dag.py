"""`dag` operations over a node's blockstore: put, get (with IPLD paths), stat, export, import.

    cid = dag_put(store, b'{"a": 1}')                         # dag-json in, dag-cbor stored
    value, cid = dag_get(store, root, ["a", "0", "b"])        # through maps, lists and links
    for chunk in dag_export(store, root): out.write(chunk)     # CAR v1, trustless DFS order
    result = dag_import(store, chunks, pins=node.pins)         # verify all, then store all

Import is all or nothing: every block is verified against its CID as it is read and staged
(in memory, spilling to a temporary file past `CarLimits.max_staging_memory_bytes`); only when the
whole CAR has been read and verified are the blocks written to the store. A truncated, malformed
or lying CAR therefore stores nothing, and the error names the failing block.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from ..car.reader import CarDecoder, CarHeader
from ..car.traverse import dag_blocks
from ..car.writer import write_car
from ..config import CAR_LIMITS, IPLD_LIMITS, CarLimits, IpldLimits
from ..errors import CodecError, InvalidInput, JzfsError, LimitExceeded, NotFound
from ..ipld import codecs, dagcbor, dagjson, dagpb, multihash
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB, JSON, codec_code
from ..unixfs.exporter_data import BlockGetter, decode_node, load_block
from ..unixfs.exporter_hamt import hamt_lookup

INPUT_CODECS = ("dag-json", "dag-cbor", "json")
STORE_CODECS = ("dag-cbor", "dag-json", "dag-pb", "json")
OUTPUT_CODECS = ("dag-json", "dag-cbor", "json")


# ---------------------------------------------------------------------- data model of dag-pb


def pb_to_value(node: dagpb.PBNode) -> dict[str, Any]:
    """The IPLD data model form of a dag-pb node (what `dag get` prints)."""
    links = []
    for link in node.links:
        item: dict[str, Any] = {"Hash": link.cid}
        if link.name is not None:
            item["Name"] = link.name
        if link.tsize is not None:
            item["Tsize"] = link.tsize
        links.append(item)
    out: dict[str, Any] = {"Links": links}
    if node.data is not None:
        out["Data"] = node.data
    return out


def value_to_pb(value: Any) -> dagpb.PBNode:
    if not isinstance(value, dict) or not set(value) <= {"Data", "Links"}:
        raise InvalidInput("dag-pb input must be a map with only Data and Links")
    data = value.get("Data")
    if data is not None and not isinstance(data, bytes):
        raise InvalidInput("dag-pb Data must be bytes")
    links = []
    for item in value.get("Links", []):
        if not isinstance(item, dict) or not isinstance(item.get("Hash"), CID) or \
                not set(item) <= {"Hash", "Name", "Tsize"}:
            raise InvalidInput("dag-pb Links entries need a Hash link (and optional Name, Tsize)")
        links.append(dagpb.PBLink(item["Hash"], item.get("Name"), item.get("Tsize")))
    return dagpb.PBNode(tuple(links), data)


def decode_value(cid: CID, data: bytes) -> Any:
    """A block as an IPLD value (dag-pb in its data-model form, raw as bytes, json as plain)."""
    if cid.codec == DAG_PB:
        return pb_to_value(dagpb.decode(data))
    if cid.codec == JSON:
        try:
            return json.loads(data)
        except ValueError as exc:
            raise CodecError(f"{cid}: invalid json: {exc}") from None
    return codecs.decode(cid, data)


def encode_value(value: Any, codec: str) -> bytes:
    if codec == "dag-json":
        return dagjson.encode(value)
    if codec == "dag-cbor":
        return dagcbor.encode(value)
    if codec == "json":
        try:
            return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        except TypeError as exc:
            raise InvalidInput(f"value cannot be written as plain json: {exc}") from None
    if codec == "dag-pb":
        return dagpb.encode(value_to_pb(value))
    raise InvalidInput(f"unsupported codec {codec!r}")


# ---------------------------------------------------------------------- put / get / stat


def dag_put(store: Any, data: bytes, *, input_codec: str = "dag-json", store_codec: str = "dag-cbor",
            hash_name: str = "sha2-256", cid_version: int = 1, limits: IpldLimits = IPLD_LIMITS) -> CID:
    """Parse `data` as `input_codec`, store it as `store_codec`, return its CID (like Kubo)."""
    if input_codec not in INPUT_CODECS:
        raise InvalidInput(f"unsupported input codec {input_codec!r} (one of {', '.join(INPUT_CODECS)})")
    if store_codec not in STORE_CODECS:
        raise InvalidInput(f"unsupported store codec {store_codec!r} (one of {', '.join(STORE_CODECS)})")
    if len(data) > limits.max_dag_put_input_bytes:
        raise LimitExceeded(f"dag put input is over the {limits.max_dag_put_input_bytes}-byte limit")
    if input_codec == "dag-json":
        value = dagjson.decode(data)
    elif input_codec == "dag-cbor":
        value = dagcbor.decode(data)
    else:
        try:
            value = json.loads(data)
        except ValueError as exc:
            raise CodecError(f"invalid json: {exc}") from None
    block_bytes = encode_value(value, store_codec)
    if len(block_bytes) > limits.max_block_bytes:
        raise LimitExceeded(f"encoded block is {len(block_bytes)} bytes, over the "
                            f"{limits.max_block_bytes} limit")
    if store_codec == "dag-pb" and cid_version == 0 and hash_name != "sha2-256":
        raise InvalidInput("CIDv0 requires sha2-256")
    block = Block.create(block_bytes, codec=codec_code(store_codec), version=cid_version,
                         hash_code=multihash.code_of(hash_name))
    store.put(block.cid, block.data)
    return block.cid


def _step(getter: BlockGetter, cid: CID, value: Any, seg: str) -> Any:
    if cid.codec == DAG_PB and isinstance(value, dict) and seg not in value:
        # A named link through a UnixFS directory (plain or HAMT), as Kubo's /ipfs/ paths do.
        node = decode_node(cid, load_block(getter, cid))
        if node.kind == "hamt-shard":
            return hamt_lookup(getter, node, seg)[0].cid
        for link in node.links:
            if link.name == seg:
                return link.cid
        raise NotFound(f"no link named {seg!r} under {cid}")
    if isinstance(value, dict):
        if seg not in value:
            raise NotFound(f"no field named {seg!r} in {cid}")
        return value[seg]
    if isinstance(value, list):
        if not seg.isdigit() or int(seg) >= len(value):
            raise NotFound(f"no index {seg!r} in a list of {len(value)} in {cid}")
        return value[int(seg)]
    raise NotFound(f"cannot traverse {seg!r} into a {type(value).__name__} in {cid}")


def dag_resolve(getter: BlockGetter, root: CID, path: list[str]) -> tuple[CID, Any, list[str]]:
    """Walk `path` through values and links: returns (CID of the last block entered, the value
    reached, the segments walked inside that block). A terminal link is followed, as Kubo does."""
    cid = root
    value = decode_value(cid, load_block(getter, cid))
    inside: list[str] = []
    for seg in path:
        value = _step(getter, cid, value, seg)
        inside.append(seg)
        if isinstance(value, CID):
            cid, inside = value, []
            value = decode_value(cid, load_block(getter, cid))
    return cid, value, inside


def dag_get(getter: BlockGetter, root: CID, path: list[str] | None = None) -> tuple[Any, CID]:
    """The value at `root/path` and the CID of the block holding it."""
    cid, value, _inside = dag_resolve(getter, root, path or [])
    return value, cid


@dataclass
class DagStat:
    size: int = 0
    num_blocks: int = 0


def dag_stat(getter: BlockGetter, root: CID) -> DagStat:
    """Total bytes and number of distinct blocks of the DAG under `root`."""
    st = DagStat()
    for block in dag_blocks(getter, root):
        st.size += len(block.data)
        st.num_blocks += 1
    return st


# ---------------------------------------------------------------------- export / import


def dag_export(getter: BlockGetter, root: CID, path: list[str] | None = None, *,
               scope: str = "all", entity_bytes: str | None = None) -> Iterator[bytes]:
    """A CAR v1 of `root[/path]` in trustless-gateway DFS order; its header lists `root`."""
    blocks = dag_blocks(getter, root, path or [], scope=scope, entity_bytes=entity_bytes)
    first = next(blocks, None)  # fail before the header if the root is missing

    def chain() -> Iterator[Block]:
        if first is not None:
            yield first
        yield from blocks

    return write_car([root], chain())


class _Staging:
    """Verified blocks waiting to be committed: in memory, spilling to a temp file when large."""

    def __init__(self, *, max_memory: int, spill_dir: str | None) -> None:
        self.blocks: list[Block] = []
        self.memory = 0
        self.max_memory = max_memory
        self.spill_dir = spill_dir
        self.file: Any = None
        self.spilled: list[tuple[CID, int, int]] = []
        self.count = 0
        self.bytes = 0

    def add(self, block: Block) -> None:
        self.count += 1
        self.bytes += len(block.data)
        if self.file is None and self.memory + len(block.data) <= self.max_memory:
            self.blocks.append(block)
            self.memory += len(block.data)
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile(dir=self.spill_dir, prefix="jzfs-import-")
        pos = self.file.tell()
        self.file.write(block.data)
        self.spilled.append((block.cid, pos, len(block.data)))

    def __iter__(self) -> Iterator[Block]:
        yield from self.blocks
        if self.file is not None:
            for cid, pos, n in self.spilled:
                self.file.seek(pos)
                yield Block(cid, self.file.read(n))

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


@dataclass
class ImportResult:
    roots: tuple[CID, ...] = ()
    blocks: int = 0
    bytes: int = 0
    pinned: list[tuple[CID, str | None]] = field(default_factory=list)  # (root, error or None)


def _batches(blocks: Iterable[Block], limit: int) -> Iterator[list[Block]]:
    batch: list[Block] = []
    size = 0
    for b in blocks:
        batch.append(b)
        size += len(b.data)
        if size >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def dag_import(store: Any, chunks: Iterable[bytes], *, pins: Any = None, pin_roots: bool = True,
               limits: CarLimits = CAR_LIMITS, spill_dir: str | None = None) -> ImportResult:
    """Import a CAR (v1 or v2): verify every block, then store them all, then pin the roots.

    `pins` is a PinStore (or None to skip pinning). A root whose DAG is incomplete is reported in
    `result.pinned` with its error, after the blocks were stored (Kubo does the same).
    """
    dec = CarDecoder(limits=limits)
    staging = _Staging(max_memory=limits.max_staging_memory_bytes,
                       spill_dir=spill_dir or os.environ.get("TMPDIR"))
    header: CarHeader | None = None
    try:
        for chunk in chunks:
            for event in dec.feed(chunk):
                if isinstance(event, CarHeader):
                    header = event
                else:
                    staging.add(event)
        dec.close()
        assert header is not None
        result = ImportResult(header.roots, staging.count, staging.bytes)
        lock = pins.lock.shared() if pins is not None and hasattr(pins, "lock") else nullcontext()
        with lock:
            for batch in _batches(staging, limits.import_put_batch_bytes):
                store.put_many(batch)
            if pins is not None and pin_roots:
                for root in header.roots:
                    try:
                        pins.add(root, recursive=True)
                        result.pinned.append((root, None))
                    except JzfsError as exc:
                        result.pinned.append((root, str(exc)))
        return result
    finally:
        staging.close()
