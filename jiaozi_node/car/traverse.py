"""Which blocks a CAR of `CID[/path]` carries, in the trustless-gateway order (pure).

    for block in dag_blocks(store, root, ["a", "b.txt"], scope="entity"):
        ...

Order is what the trustless-gateway spec calls `order=dfs`: first the blocks needed to verify the
path (the root, each directory, each HAMT shard on the way), then the blocks of the terminal
element, depth-first pre-order with links in their block order. With `dups=False` (the default,
`dups=n`) no block is sent twice. Identity CIDs are never sent (their bytes are in the CID), as
go-car and boxo do.

`scope` (`dag-scope`):
  * "block"  - only the terminal block;
  * "entity" - for a UnixFS file every block of the file (or, with `entity_bytes`, only those
               needed for that byte range); for a UnixFS directory its block, and for a HAMT every
               shard node needed to enumerate it (not the children); anything else: its block;
  * "all"    - the whole DAG under the terminal element, any codec.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import CodecError, InvalidInput
from ..ipld import codecs
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB, RAW
from ..unixfs.exporter_data import BlockGetter, decode_node, inline_data, load_block
from ..unixfs.exporter_hamt import hamt_shard_nodes
from ..unixfs.resolve import resolve_trace

SCOPES = ("all", "entity", "block")


def parse_entity_bytes(spec: str, size: int | None = None) -> tuple[int, int | None]:
    """Parse `from:to` (inclusive `to`, `*` for end, negatives from the end) into a half-open
    range (start, stop); stop None means "to the end". Negative values need `size`."""
    try:
        a, _, b = spec.partition(":")
        start = int(a)
        stop = None if b == "*" else int(b)
    except ValueError:
        raise InvalidInput(f"invalid entity-bytes {spec!r} (want from:to)") from None
    if start < 0 or (stop is not None and stop < 0):
        if size is None:
            raise InvalidInput("negative entity-bytes need the entity size")
        start = max(0, size + start) if start < 0 else start
        if stop is not None and stop < 0:
            stop = size + stop
    return start, (None if stop is None else stop + 1)


def dag_blocks(getter: BlockGetter, root: CID, path: list[str] | tuple[str, ...] = (), *,
               scope: str = "all", entity_bytes: tuple[int, int | None] | str | None = None,
               dups: bool = False) -> Iterator[Block]:
    """Yield the blocks of a CAR for `root/path` (see the module docstring).

    Raises NotFound for a missing block (mid-stream, after earlier blocks were yielded: a
    streaming consumer must treat the output as incomplete), InvalidInput for a bad scope.
    """
    if scope not in SCOPES:
        raise InvalidInput(f"invalid dag-scope {scope!r} (one of {', '.join(SCOPES)})")
    seen: set[CID] = set()

    def emit(cid: CID, data: bytes) -> Iterator[Block]:
        if inline_data(cid) is not None:
            return
        if not dups:
            if cid in seen:
                return
            seen.add(cid)
        yield Block(cid, data)

    target, trail = resolve_trace(getter, root, list(path))
    for cid in trail:
        yield from emit(cid, load_block(getter, cid))
    if scope == "block":
        yield from emit(target, load_block(getter, target))
    elif scope == "all":
        yield from _all(getter, target, emit)
    else:
        yield from _entity(getter, target, emit, entity_bytes)


def _all(getter: BlockGetter, target: CID, emit) -> Iterator[Block]:  # type: ignore[no-untyped-def]
    visited: set[CID] = set()
    stack = [target]
    while stack:
        cid = stack.pop()
        if cid in visited:
            continue
        visited.add(cid)
        data = load_block(getter, cid)
        yield from emit(cid, data)
        if cid.codec != RAW:
            stack.extend(reversed(codecs.links(cid, data)))


def _entity(getter: BlockGetter, target: CID, emit,  # type: ignore[no-untyped-def]
            entity_bytes: tuple[int, int | None] | str | None) -> Iterator[Block]:
    data = load_block(getter, target)
    if target.codec not in (DAG_PB, RAW):
        yield from emit(target, data)
        return
    try:
        node = decode_node(target, data)
    except CodecError:
        if target.codec == DAG_PB:  # plain dag-pb, not UnixFS: just its block
            yield from emit(target, data)
            return
        raise
    if node.kind == "hamt-shard":
        for shard in hamt_shard_nodes(getter, node):
            yield from emit(shard.cid, load_block(getter, shard.cid) if shard.cid != target else data)
        return
    if node.kind != "file":
        yield from emit(target, data)
        return
    if entity_bytes is None:  # the whole file: every block of its DAG
        yield from _all(getter, target, emit)
        return
    size = node.file_size
    if isinstance(entity_bytes, str):
        entity_bytes = parse_entity_bytes(entity_bytes, size)
    lo, hi = entity_bytes
    hi = size if hi is None else min(hi, size)
    if lo >= hi:  # empty or out-of-range: like dag-scope=block
        yield from emit(target, data)
        return
    # Pre-order over the file, descending only into children that overlap [lo, hi).
    stack: list[tuple[CID, bytes | None, int, int]] = [(target, data, lo, hi)]
    while stack:
        cid, block, a, b = stack.pop()
        if block is None:
            block = load_block(getter, cid)
        yield from emit(cid, block)
        n = decode_node(cid, block)
        if not n.links:
            continue
        assert n.meta is not None
        pos = len(n.data)
        todo = []
        for link, bsize in zip(n.links, n.meta.blocksizes, strict=True):
            c0, c1 = pos, pos + bsize
            pos = c1
            if c1 <= a or bsize == 0:
                continue
            if c0 >= b:
                break
            todo.append((link.cid, max(a, c0) - c0, min(b, c1) - c0))
        for child, ca, cb in reversed(todo):
            stack.append((child, None, ca, cb))
