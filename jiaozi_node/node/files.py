"""Adding files to the node (adapter: reads files, hands blocks to the blockstore).

    from jiaozi_node.node.files import add_bytes, add_file, add_path
    ev = add_bytes(node, b"hello")                          # -> AddEvent(path, cid, size)
    ev = add_file(node, "big.iso", pin=True)
    events = add_path(node, ["dir"], recursive=True)         # Kubo's `ipfs add -r` output order

Everything CID-related is decided by the pure importer (`unixfs.importer`, `unixfs.tree`); this
module walks the file system the way Kubo does, reads with a reused buffer, hashes leaves in a
thread pool and batches blocks into `Blockstore.put_many`. With `only_hash` nothing is stored.

Kubo behaviours reproduced: directory entries in name order; hidden entries (".name") skipped
unless `hidden=True` (the paths given as arguments are always taken); symlinks inside the tree and
given as arguments become UnixFS Symlink nodes (not followed); empty directories are kept; several
paths without `wrap` are added (and pinned) one by one; `wrap` puts them all in one directory.
Everything named is checked (exists, readable, directories need `recursive`) before the first
block is written, so a bad path costs nothing and pins nothing.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from ..config import ADD_TUNING, AddTuning, ImportProfile
from ..errors import InvalidInput, NotFound
from ..ipld import dagpb, multihash
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_PB
from ..unixfs import pb
from ..unixfs.chunker import parse_chunker
from ..unixfs.importer import FileImporter
from ..unixfs.tree import TreeBuilder
from ..unixfs.tree_plan import run_nested
from .leaf_ring import LeafRing

ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class AddEvent:
    """One `added <cid> <path>` line. `size` is the cumulative DAG size (Kubo's `Size`)."""

    path: str
    cid: CID
    size: int
    kind: str  # "file" | "directory" | "symlink"

    def to_json(self) -> dict[str, str]:
        return {"Name": self.path, "Hash": str(self.cid), "Size": str(self.size)}


class BlockBatcher:
    """Batches blocks into `store.put_many` (or discards them when `store` is None).

    With `writer` (a single-thread executor owned by the caller) batches are written in the
    background while the caller reads and hashes on; at most `max_batches_in_flight` batches wait,
    so memory stays bounded (about that many times `batch_bytes`). `flush()` waits for all writes
    and re-raises the first write error. `wait_written(n)` returns once the first n blocks put
    are written (`put_many` returned), so a caller whose blocks are views of its own buffers
    (node.leaf_ring) knows when it may reuse them.
    """

    def __init__(self, store: Any | None, *, batch_bytes: int = ADD_TUNING.put_batch_bytes,
                 writer: ThreadPoolExecutor | None = None, max_batches_in_flight: int = 2) -> None:
        self.store = store
        self.batch_bytes = batch_bytes
        self.writer = writer
        self.max_in_flight = max(1, max_batches_in_flight)
        self._batch: list[Block] = []
        self._bytes = 0
        self._inflight: deque[tuple[Future[None], int]] = deque()  # (write, blocks put up to it)
        self.blocks = 0
        self.bytes = 0
        self._sent = 0  # blocks handed to store.put_many (written or in flight)
        self.written = 0  # blocks whose put_many returned

    def put(self, blocks: Iterable[Block]) -> None:
        for b in blocks:
            self.blocks += 1
            self.bytes += len(b.data)
            if self.store is None:
                continue
            self._batch.append(b)
            self._bytes += len(b.data)
            if self._bytes >= self.batch_bytes:
                self._send()

    def _send(self) -> None:
        if not self._batch:
            return
        batch, self._batch, self._bytes = self._batch, [], 0
        self._sent += len(batch)
        if self.writer is None:
            self.store.put_many(batch)
            self.written = self._sent
            return
        while len(self._inflight) >= self.max_in_flight:
            self._wait_one()
        self._inflight.append((self.writer.submit(self.store.put_many, batch), self._sent))

    def _wait_one(self) -> None:
        fut, upto = self._inflight.popleft()
        fut.result()
        self.written = upto

    def wait_written(self, n: int) -> None:
        """Return once the first `n` blocks put are written (sending a partial batch if needed)."""
        if self.store is None or n <= self.written:
            return
        if n > self._sent:
            self._send()
        while self.written < n:
            self._wait_one()

    def flush(self) -> None:
        self._send()
        while self._inflight:
            self._wait_one()


def resolve_profile(node: Any, profile: ImportProfile | None) -> ImportProfile:
    if profile is not None:
        return profile
    from ..config import PROFILES

    name = None
    try:
        name = node.settings.import_profile
    except AttributeError:
        pass
    if name:
        try:
            return PROFILES[name]
        except KeyError:
            raise InvalidInput(f"unknown import profile {name!r} in config (known: {', '.join(PROFILES)})") from None
    return node.defaults.profile


def profile_for_add(node: Any, *, profile: str | None = None, cid_version: int | None = None,
                    raw_leaves: bool | None = None, chunker: str | None = None, trickle: bool = False,
                    hash_function: str | None = None) -> ImportProfile:
    """Kubo's add flags on top of the import profile: the one place `jzfs add` and RPC `add` use.

    The base is `profile` (a name), else config `Import.Profile`, else unixfs-v1-2025; each flag
    given overrides one field the way Kubo applies its flags over `Import.*` config, with Kubo's
    implied rules (`ImportProfile.with_overrides`: CIDv0 -> dag-pb leaves, CIDv1 -> raw leaves,
    unless raw leaves is given; a non-sha2-256 hash -> CIDv1). Bad values fail here, before any work.
    """
    from ..config import PROFILES

    if profile is not None:
        if profile not in PROFILES:
            raise InvalidInput(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        base = PROFILES[profile]
    else:
        base = resolve_profile(node, None)
    if cid_version is not None and cid_version not in (0, 1):
        raise InvalidInput(f"invalid cid-version {cid_version}")
    if chunker is not None:
        parse_chunker(chunker)
    if hash_function is not None:
        multihash.code_of(hash_function)
    out = base.with_overrides(cid_version=cid_version, raw_leaves=raw_leaves, chunker=chunker,
                              layout="trickle" if trickle else None, hash_function=hash_function)
    if out.cid_version == 0 and out.hash_function != "sha2-256":
        raise InvalidInput("CIDv0 only supports sha2-256: use --cid-version=1 with --hash")
    return out


# ------------------------------------------------------------------ streams


class ImportSink(Protocol):
    """Where `import_stream` puts blocks: `BlockBatcher` (add) or a snapshot's file sink;
    `store` None means only-hash (nothing is stored)."""

    store: Any

    def put(self, blocks: Iterable[Block]) -> None: ...


def import_stream(f: BinaryIO, profile: ImportProfile, sink: ImportSink, *,
                  executor: ThreadPoolExecutor | None = None, tuning: AddTuning = ADD_TUNING,
                  progress: ProgressFn | None = None, ring: LeafRing | None = None) -> tuple[CID, int]:
    """Import one byte stream; returns (root CID, cumulative size). With `sink.store` None
    (only-hash) leaves are hashed in place and never built; with `ring` (fixed-size chunks, see
    node.leaf_ring) they are read into its reused buffers and stored from there."""
    only_hash = sink.store is None
    spec = parse_chunker(profile.chunker)
    if spec.kind == "size" and hasattr(f, "readinto"):
        return _import_fixed(f, spec.size, profile, sink, executor=executor, tuning=tuning,
                             progress=progress, only_hash=only_hash, ring=ring)
    imp = FileImporter(profile, executor=executor, max_pending=tuning.max_pending_chunks,
                       only_hash=only_hash)
    buf = bytearray(tuning.read_bytes)
    mv = memoryview(buf)
    readinto = getattr(f, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buf)
            if not n:
                break
            data: Any = mv[:n]
        else:
            data = f.read(tuning.read_bytes)
            if not data:
                break
            n = len(data)
        sink.put(imp.feed(data))
        if progress is not None:
            progress(n)
    root, blocks = imp.close()
    sink.put(blocks)
    return root, imp.tsize


def _read_full(f: BinaryIO, n: int) -> bytes:
    """Up to n bytes, fewer only at end of stream (a pipe may return short reads)."""
    data = f.read(n)
    if not data or len(data) == n:
        return data
    parts = [data]
    got = len(data)
    while got < n and (more := f.read(n - got)):
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _readinto_full(f: BinaryIO, buf: bytearray) -> int:
    mv = memoryview(buf)
    got = 0
    while got < len(buf) and (n := f.readinto(mv[got:])):  # type: ignore[attr-defined]
        got += n
    return got


def fixed_grouping(size: int, tuning: AddTuning) -> tuple[int, int]:
    """(chunks per hashing task, most chunks pending) for fixed-size chunks of `size` bytes."""
    group = max(1, tuning.hash_task_bytes // size)
    return group, max(tuning.max_pending_chunks, 3 * group)


def _import_fixed(f: BinaryIO, size: int, profile: ImportProfile, sink: ImportSink, *,
                  executor: ThreadPoolExecutor | None, tuning: AddTuning,
                  progress: ProgressFn | None, only_hash: bool,
                  ring: LeafRing | None = None) -> tuple[CID, int]:
    """Fixed-size chunks, already cut by the reads, hashed `group` chunks per thread task.

    Adding with `ring` (the add session's, node.leaf_ring): reads into reused buffers, leaves
    stored as views of them. Adding without: one read per chunk into a fresh bytes object, which
    becomes the leaf (raw leaves) without a copy in user space. Only-hash: a small ring of reused
    read buffers; the chunks are hashed in place (no allocation, no copy, no page faults), a
    buffer being refilled only once the importer has collected all its chunks."""
    group, max_pending = fixed_grouping(size, tuning)
    imp = FileImporter(profile, executor=executor, max_pending=max_pending, only_hash=only_hash,
                       group=group)
    if ring is not None and not only_hash:
        return ring.import_stream(f, imp, progress)
    if only_hash:
        nbuf = max_pending // group + 2
        bufs = [bytearray(group * size) for _ in range(nbuf)]
        i = 0
        while True:
            buf = bufs[i % nbuf]
            i += 1
            n = _readinto_full(f, buf)
            if not n:
                break
            mv = memoryview(buf)[:n]
            sink.put(imp.feed_chunks([mv[j : j + size] for j in range(0, n, size)]))
            assert imp.pending_chunks <= (nbuf - 1) * group  # the next buffer is free
            if progress is not None:
                progress(n)
            if n < len(buf):
                break
    else:
        while True:
            chunks = []
            for _ in range(group):
                chunk = _read_full(f, size)
                if chunk:
                    chunks.append(chunk)
                if len(chunk) < size:
                    break
            if not chunks:
                break
            sink.put(imp.feed_chunks(chunks))
            if progress is not None:
                progress(sum(len(c) for c in chunks))
            if len(chunks[-1]) < size:
                break
    root, blocks = imp.close()
    sink.put(blocks)
    return root, imp.tsize


def symlink_block(target: bytes, profile: ImportProfile) -> Block:
    """Kubo's symlink node: dag-pb, Data = UnixFS{Type Symlink, Data target}, no links."""
    data = dagpb.encode(dagpb.PBNode((), pb.symlink(target)))
    return Block(CID(profile.cid_version, DAG_PB,
                     multihash.digest(multihash.code_of(profile.hash_function), data)), data)


# ------------------------------------------------------------------ planning (no writes)


@dataclass(frozen=True)
class PlannedItem:
    rel: str  # path inside the added tree ("" for a top-level file)
    abspath: str
    kind: str  # "file" | "directory" | "symlink"
    size: int


def _check_readable(path: str, is_dir: bool) -> None:
    if not os.access(path, (os.R_OK | os.X_OK) if is_dir else os.R_OK):
        raise InvalidInput(f"{path}: permission denied")


def plan_add(top: str, *, recursive: bool, hidden: bool) -> list[PlannedItem]:
    """Every entry under `top` in Kubo's walk order (depth first, names sorted), checked."""
    try:
        st = os.lstat(top)
    except FileNotFoundError:
        raise NotFound(f"{top}: no such file or directory") from None
    except OSError as exc:
        raise InvalidInput(f"{top}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        return [PlannedItem("", top, "symlink", 0)]
    if stat.S_ISREG(st.st_mode):
        _check_readable(top, False)
        return [PlannedItem("", top, "file", st.st_size)]
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidInput(f"{top}: unsupported file type (not a file, directory or symlink)")
    if not recursive:
        raise InvalidInput(f"{top} is a directory, use the '-r' flag to specify directories")
    items: list[PlannedItem] = [PlannedItem("", top, "directory", 0)]

    def walk(d: str, rel: str) -> Generator[Any, None, None]:  # run_nested: `yield` = descend
        _check_readable(d, True)
        try:
            names = os.listdir(d)
        except OSError as exc:
            raise InvalidInput(f"{d}: {exc.strerror}") from None
        for name in sorted(names, key=os.fsencode):
            if not hidden and name.startswith("."):
                continue
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(f"{os.path.join(d, name)!r}: file name is not valid UTF-8 "
                                   "(dag-pb link names must be UTF-8)") from None
            p = os.path.join(d, name)
            r = f"{rel}/{name}" if rel else name
            cst = os.lstat(p)
            if stat.S_ISLNK(cst.st_mode):
                items.append(PlannedItem(r, p, "symlink", 0))
            elif stat.S_ISREG(cst.st_mode):
                _check_readable(p, False)
                items.append(PlannedItem(r, p, "file", cst.st_size))
            elif stat.S_ISDIR(cst.st_mode):
                items.append(PlannedItem(r, p, "directory", 0))
                yield walk(p, r)
            else:
                raise InvalidInput(f"{p}: unsupported file type (not a file, directory or symlink)")

    run_nested(walk(top, ""))  # no Python recursion: a deep tree gets a clear limit, not a crash
    return items


# ------------------------------------------------------------------ public API


class AddSession:
    """THE add pipeline: one add operation, used by `jzfs add`, `Node.add_*` and the RPC `add`.

    It owns its hashing pool, its batched (background) block writes and the GC lock held shared
    from before the first write until its roots are pinned, so every caller pins the same way
    (`complete=True`: every block under the roots went through this session's writes, nothing is
    read back). The caller feeds it streams (`stream`), symlinks (`symlink`) and directory
    blocks (`put`), then calls `finish(roots)`.
    """

    def __init__(self, node: Any, *, profile: ImportProfile | None, only_hash: bool, pin: bool,
                 tuning: AddTuning = ADD_TUNING, progress: ProgressFn | None = None) -> None:
        self.node = node
        self.profile = resolve_profile(node, profile)
        self.only_hash = only_hash
        self.pin = pin and not only_hash
        self.tuning = tuning
        self.progress = progress
        self._stack = ExitStack()
        self.sink = BlockBatcher(None if only_hash else node.blocks, batch_bytes=tuning.put_batch_bytes,
                              max_batches_in_flight=tuning.max_batches_in_flight)
        self.executor: ThreadPoolExecutor | None = None
        self._ring: LeafRing | None = None

    def __enter__(self) -> AddSession:
        if self.pin:
            # Hold the GC lock shared from before the first write until pinned (store/lock.py).
            self._stack.enter_context(self.node.pins.lock.shared())
        if self.tuning.hash_threads > 0:
            self.executor = self._stack.enter_context(
                ThreadPoolExecutor(self.tuning.hash_threads, thread_name_prefix="jzfs-hash"))
        if self.sink.store is not None and self.tuning.background_writes:
            self.sink.writer = self._stack.enter_context(
                ThreadPoolExecutor(1, thread_name_prefix="jzfs-put"))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def stream(self, f: BinaryIO, *, progress: ProgressFn | None = None) -> tuple[CID, int]:
        """Import one byte stream as a UnixFS file: (root CID, DAG size)."""
        return import_stream(f, self.profile, self.sink, executor=self.executor, tuning=self.tuning,
                             progress=progress or self.progress, ring=self._leaf_ring(f))

    def _leaf_ring(self, f: BinaryIO) -> LeafRing | None:
        """The session's reused read buffers (node.leaf_ring), made at the first stream that can
        use them: fixed-size chunks, a stream with readinto, a store whose put_many copies."""
        if self._ring is not None or self.only_hash or not hasattr(f, "readinto") \
                or not getattr(self.sink.store, "put_copies_data", False):
            return self._ring
        spec = parse_chunker(self.profile.chunker)
        if spec.kind != "size":
            return None
        group, max_pending = fixed_grouping(spec.size, self.tuning)
        held = (self.sink.max_in_flight + 1) * self.sink.batch_bytes  # blocks put, not yet written
        self._ring = LeafRing(self.sink, self.profile, spec.size, group=group,
                              slots=LeafRing.slots_for(spec.size, max_pending=max_pending, group=group,
                                                       held_bytes=held))
        return self._ring

    def symlink(self, target: bytes) -> tuple[CID, int]:
        block = symlink_block(target, self.profile)
        self.sink.put([block])
        return block.cid, len(block.data)

    def put(self, blocks: Iterable[Block]) -> None:
        """Directory (or other) blocks built by the caller."""
        self.sink.put(blocks)

    def item(self, it: PlannedItem) -> tuple[CID, int]:
        if it.kind == "symlink":
            return self.symlink(os.fsencode(os.readlink(it.abspath)))
        with open(it.abspath, "rb", buffering=0) as f:
            return self.stream(f)

    def finish(self, roots: list[CID]) -> None:
        self.sink.flush()
        if self.pin:
            # Every block under these roots went through put_many above, under the GC lock held
            # shared since before the first write: the DAG is complete, no need to read it back.
            for root in roots:
                self.node.pins.add(root, recursive=True, complete=True)


def add_stream(node: Any, f: BinaryIO, *, name: str | None = None, profile: ImportProfile | None = None,
               only_hash: bool = False, pin: bool = False, tuning: AddTuning = ADD_TUNING,
               progress: ProgressFn | None = None) -> AddEvent:
    """Add one byte stream (e.g. stdin). Kubo names an unnamed stream by its CID."""
    with AddSession(node, profile=profile, only_hash=only_hash, pin=pin, tuning=tuning, progress=progress) as a:
        cid, size = a.stream(f)
        a.finish([cid])
    return AddEvent(name if name else str(cid), cid, size, "file")


def add_bytes(node: Any, data: bytes, *, name: str | None = None, **kw: Any) -> AddEvent:
    import io

    return add_stream(node, io.BytesIO(data), name=name, **kw)


def add_file(node: Any, path: str | os.PathLike[str], **kw: Any) -> AddEvent:
    """Add one regular file (or symlink); the event is named by the file's base name."""
    events = add_path(node, [path], **kw)
    return events[-1]


def iter_add_path(node: Any, paths: Iterable[str | os.PathLike[str]], *, recursive: bool = False,
                  hidden: bool = False, wrap: bool = False, profile: ImportProfile | None = None,
                  only_hash: bool = False, pin: bool = False, tuning: AddTuning = ADD_TUNING,
                  progress: ProgressFn | None = None) -> Iterator[AddEvent]:
    """`ipfs add [-r] [-w] [--hidden] PATH...`: yields events in Kubo's order (files as they are
    added, then directories children-first); the last event of each top-level add (or of the
    wrapping directory) is its root."""
    tops = [os.fspath(p) for p in paths]
    if not tops:
        raise InvalidInput("expected a file argument")
    plans = [plan_add(top, recursive=recursive, hidden=hidden) for top in tops]
    # Kubo (go-ipfs-cmds) names an argument by the base name of its cleaned path, "." by the cwd.
    names = [os.path.basename(os.path.abspath(top)) or top for top in tops]
    if wrap and len(set(names)) != len(names):
        raise InvalidInput("cannot wrap: two arguments have the same base name")
    with AddSession(node, profile=profile, only_hash=only_hash, pin=pin, tuning=tuning, progress=progress) as a:
        wrapper = TreeBuilder(a.profile) if wrap else None
        roots: list[CID] = []
        for plan, name in zip(plans, names, strict=True):
            tb = TreeBuilder(a.profile)
            root_event: AddEvent | None = None
            for it in plan:
                if it.kind == "directory":
                    tb.add_dir(it.rel)
                    continue
                cid, size = a.item(it)
                path = f"{name}/{it.rel}" if it.rel else name
                ev = AddEvent(path, cid, size, it.kind)
                if it.rel:
                    tb.add_file(it.rel, cid, size)
                else:
                    root_event = ev
                yield ev
            if plan[0].kind == "directory":
                dirs, blocks = tb.finish()
                a.put(blocks)
                for rel, cid, size in dirs:
                    ev = AddEvent(f"{name}/{rel}" if rel else name, cid, size, "directory")
                    root_event = ev
                    yield ev
            assert root_event is not None
            if wrapper is not None:
                wrapper.add_file(name, root_event.cid, root_event.size)
            else:
                roots.append(root_event.cid)
        if wrapper is not None:
            dirs, blocks = wrapper.finish()
            a.put(blocks)
            _, cid, size = dirs[-1]
            roots.append(cid)
            yield AddEvent("", cid, size, "directory")
        a.finish(roots)


def add_path(node: Any, paths: Iterable[str | os.PathLike[str]], **kw: Any) -> list[AddEvent]:
    return list(iter_add_path(node, paths, **kw))
