"""FileImporter (pure, push-style): bytes in, finished blocks out, root CID at close.

    imp = FileImporter(profile)                 # or FileImporter(profile, executor=pool)
    for buf in reads: store(imp.feed(buf))      # blocks are final when returned
    root, blocks = imp.close(); store(blocks)   # imp.filesize / imp.tsize describe the root

Stages as in js-ipfs-unixfs: chunker -> leaves -> layout. No I/O and no clock. Hashing the leaves
is the expensive part; when an `executor` (a `concurrent.futures.Executor`, owned and shut down by
the caller) is given, leaves are built and hashed in its threads (hashlib releases the GIL) while
the caller goes on reading, and `feed` returns the blocks whose hashes are done, in order. At most
`max_pending` chunks are in flight, so memory stays bounded by about
(max_pending + 1) * chunk size + one layout level of links.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from functools import partial
from typing import Any

from ..config import ImportProfile
from ..errors import InvalidInput
from ..ipld import multihash
from ..ipld.block import Block
from ..ipld.cid import CID
from . import pb
from .chunker import Buffer, Chunker, make_chunker
from .layout_balanced import BalancedLayout
from .layout_trickle import TrickleLayout
from .nodes import FileLink, framed_leaf, leaf_link, pb_leaf, raw_leaf

_LeafResult = tuple[Block | None, FileLink]


def leaf_builder(profile: ImportProfile) -> Callable[[bytes], _LeafResult]:
    """The function turning one chunk into its leaf block, for this profile."""
    hash_code = multihash.code_of(profile.hash_function)
    if profile.raw_leaves:
        return partial(raw_leaf, hash_code=hash_code)
    leaf_type = pb.DataType.Raw if profile.layout == "trickle" else pb.DataType.File
    return partial(pb_leaf, cid_version=profile.cid_version, leaf_type=leaf_type, hash_code=hash_code)


def leaf_hasher(profile: ImportProfile) -> Callable[[Buffer], _LeafResult]:
    """Only-hash: the link of each leaf (same CID as `leaf_builder`), no block, no copy."""
    hash_code = multihash.code_of(profile.hash_function)
    leaf_type = pb.DataType.Raw if profile.layout == "trickle" else pb.DataType.File
    link = partial(leaf_link, raw=profile.raw_leaves, cid_version=profile.cid_version,
                   leaf_type=leaf_type, hash_code=hash_code)
    return lambda chunk: (None, link(chunk))


def framed_leaf_builder(profile: ImportProfile) -> Callable[[Buffer, int], _LeafResult]:
    """For `FileImporter.feed_framed`: a leaf from its complete bytes laid out in place by the
    caller (`nodes.framed_leaf`; `leaf_frame_type` says which dag-pb frame, if any)."""
    return partial(framed_leaf, raw=profile.raw_leaves, cid_version=profile.cid_version,
                   hash_code=multihash.code_of(profile.hash_function))


def leaf_frame_type(profile: ImportProfile) -> int | None:
    """The UnixFS type of this profile's dag-pb leaves (`nodes.pb_leaf_frame`), None for raw leaves."""
    if profile.raw_leaves:
        return None
    return pb.DataType.Raw if profile.layout == "trickle" else pb.DataType.File


def _leaves(make: Callable[[Buffer], _LeafResult], chunks: Sequence[Buffer]) -> list[_LeafResult]:
    return [make(c) for c in chunks]


def _framed(make: Callable[[Buffer, int], _LeafResult], items: Sequence[tuple[Buffer, int]]) -> list[_LeafResult]:
    return [make(frame, n) for frame, n in items]


class FileImporter:
    def __init__(self, profile: ImportProfile, *, executor: Executor | None = None,
                 max_pending: int = 8, chunker: Chunker | None = None, only_hash: bool = False,
                 group: int = 1) -> None:
        if profile.cid_version not in (0, 1):
            raise InvalidInput(f"unsupported CID version {profile.cid_version}")
        hash_code = multihash.code_of(profile.hash_function)
        if profile.cid_version == 0 and hash_code != multihash.SHA2_256:
            raise InvalidInput("CIDv0 only supports sha2-256")
        self.profile = profile
        self._chunker = chunker if chunker is not None else make_chunker(profile.chunker)
        # only_hash: leaves are hashed in place and never built nor returned (interior nodes still
        # are: they are small and the layout needs their encoding to hash them).
        self._make_leaf = leaf_hasher(profile) if only_hash else leaf_builder(profile)
        self._empty_leaf = leaf_builder(profile)
        self._make_framed: Callable[[Buffer, int], _LeafResult] | None = None
        if profile.layout == "balanced":
            self._layout: BalancedLayout | TrickleLayout = BalancedLayout(
                max_links=profile.max_links, cid_version=profile.cid_version, hash_code=hash_code)
        elif profile.layout == "trickle":
            self._layout = TrickleLayout(max_links=profile.max_links, cid_version=profile.cid_version,
                                         hash_code=hash_code)
        else:
            raise InvalidInput(f"unknown layout {profile.layout!r} (balanced or trickle)")
        self._only_hash = only_hash
        # Chunks per executor task: fewer thread-pool hand-offs than one future per chunk.
        self._group = max(1, group)
        self._executor = executor
        self._max_pending = max(1, max_pending)
        # Groups of chunks: one executor task (or finished list) per group, and the group's size.
        self._pending: deque[tuple[Future[list[_LeafResult]] | list[_LeafResult], int]] = deque()
        self._pending_chunks = 0
        self._leaves = 0
        self._closed = False
        self.root: FileLink | None = None

    @property
    def filesize(self) -> int:
        """Bytes of file content under the root (after close)."""
        if self.root is None:
            raise InvalidInput("importer not closed yet")
        return self.root.filesize

    @property
    def tsize(self) -> int:
        """Cumulative DAG size of the root (what a parent directory link records)."""
        if self.root is None:
            raise InvalidInput("importer not closed yet")
        return self.root.tsize

    def _submit(self, chunks: Sequence[Any], run: Callable[..., list[_LeafResult]] = _leaves,
                make: Callable[..., _LeafResult] | None = None) -> None:
        if not chunks:
            return
        make = make or self._make_leaf
        g = self._group
        for i in range(0, len(chunks), g):
            part = chunks[i : i + g]
            if self._executor is None:
                self._pending.append((run(make, part), len(part)))
            else:
                self._pending.append((self._executor.submit(run, make, part), len(part)))
        self._pending_chunks += len(chunks)

    def _collect(self, final: bool) -> list[Block]:
        out: list[Block] = []
        pending = self._pending
        while pending:
            head, n = pending[0]
            if isinstance(head, Future):
                if not (final or head.done() or self._pending_chunks > self._max_pending):
                    break
                results = head.result()
            else:
                results = head
            pending.popleft()
            self._pending_chunks -= n
            for block, link in results:
                if block is not None:
                    out.append(block)
                self._leaves += 1
                out.extend(self._layout.push(link))
        return out

    @property
    def pending_chunks(self) -> int:
        """Chunks handed in whose leaves are not collected yet (their buffers are still in use)."""
        return self._pending_chunks

    def feed_chunks(self, chunks: Sequence[Buffer]) -> list[Block]:
        """Chunks the caller already cut to the profile's fixed chunk size (e.g. one read per
        chunk), hashed as ONE executor task; only a final short chunk may be smaller, and only when
        the chunker holds nothing. With `only_hash` the buffers are read in place: they must not
        change until `pending_chunks` shows them collected (feed waits so that at most
        `max_pending` chunks stay pending)."""
        if self._closed:
            raise InvalidInput("importer already closed")
        self._submit(chunks)
        return self._collect(False)

    def feed_framed(self, items: Sequence[tuple[Buffer, int]]) -> list[Block]:
        """Like `feed_chunks`, for leaves the caller laid out in place: each item is (the leaf's
        complete bytes, its chunk length), see `framed_leaf_builder`. The blocks returned hold
        these buffers (no copy): they must not change until the blocks are stored."""
        if self._closed:
            raise InvalidInput("importer already closed")
        if self._make_framed is None:
            self._make_framed = framed_leaf_builder(self.profile)
        self._submit(items, _framed, self._make_framed)
        return self._collect(False)

    def feed(self, data: Buffer) -> list[Block]:
        """Chunk `data`; return every block that is final (leaves and completed interior nodes)."""
        if self._closed:
            raise InvalidInput("importer already closed")
        self._submit(self._chunker.feed(data))
        return self._collect(False)

    def close(self) -> tuple[CID, list[Block]]:
        """Flush the last chunk and the layout; returns the root CID and the remaining blocks."""
        if self._closed:
            raise InvalidInput("importer already closed")
        self._closed = True
        self._submit(self._chunker.close())
        out = self._collect(True)
        if self._leaves == 0 and isinstance(self._layout, BalancedLayout):
            # boxo: an empty file is one empty leaf (raw: the empty raw block; else `08 02 18 00`).
            block, link = self._empty_leaf(b"")
            if not self._only_hash:
                out.append(block)
            out.extend(self._layout.push(link))
        root, blocks = self._layout.finish()
        out.extend(blocks)
        self.root = root
        return root.cid, out


def import_bytes(data: Buffer, profile: ImportProfile) -> tuple[CID, list[Block], FileLink]:
    """Convenience: the whole file in memory (tests, small files)."""
    imp = FileImporter(profile)
    blocks = imp.feed(data)
    root, rest = imp.close()
    blocks.extend(rest)
    assert imp.root is not None
    return root, blocks, imp.root
