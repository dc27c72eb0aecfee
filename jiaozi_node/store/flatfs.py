"""Engine (a): one file per block, sharded like Kubo's flatfs (`blocks/<next-to-last-2>/<KEY>.data`).

Crash safety: a block is written to a temporary file in its shard directory, fsynced, then renamed
onto its final name, and the shard directory is fsynced; a crash leaves either no file or the
whole file (plus, at worst, a stray `.tmp-*` file that is never listed and that `repo gc` removes).
`put_many` writes every temporary file first, fsyncs them all, then renames them all, so the cost
of a batch is one pass of fsyncs rather than one round trip per block.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..config import STORE_LIMITS
from ..errors import NotFound
from ..ipld.block import Block
from ..ipld.cid import CID
from .keys import check_stored, cid_of_key, identity_data, is_identity, key_of, not_found

SUFFIX = ".data"
TMP_PREFIX = ".tmp-"


def _name(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


class FlatfsBlockstore:
    name = "flatfs"

    def __init__(self, root: Path | str, *, verify_on_read: bool = True, sync: bool = True) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._verify = verify_on_read
        self._sync = sync

    # ------------------------------------------------------------------ paths

    def _path(self, key: bytes) -> Path:
        n = _name(key)
        return self.root / n[-3:-1] / (n + SUFFIX)

    # ------------------------------------------------------------------ reads

    def get(self, cid: CID) -> bytes:
        if is_identity(cid):
            return identity_data(cid)
        try:
            with open(self._path(key_of(cid)), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise not_found(cid) from None
        if self._verify:
            check_stored(cid, data)
        return data

    def has(self, cid: CID) -> bool:
        return is_identity(cid) or self._path(key_of(cid)).exists()

    def has_many(self, cids: Iterable[CID]) -> list[bool]:
        return [self.has(c) for c in cids]

    def size(self, cid: CID) -> int:
        if is_identity(cid):
            return len(identity_data(cid))
        try:
            return self._path(key_of(cid)).stat().st_size
        except FileNotFoundError:
            raise not_found(cid) from None

    def cids(self) -> Iterator[CID]:
        with os.scandir(self.root) as shards:
            for shard in shards:
                if not shard.is_dir():
                    continue
                with os.scandir(shard.path) as entries:
                    for e in entries:
                        if e.name.endswith(SUFFIX) and not e.name.startswith("."):
                            stem = e.name[: -len(SUFFIX)]
                            yield cid_of_key(base64.b32decode(stem + "=" * (-len(stem) % 8)))

    # ------------------------------------------------------------------ writes

    def put(self, cid: CID, data: bytes) -> None:
        self.put_many([Block(cid, data)])

    def put_many(self, blocks: Iterable[Block]) -> None:
        written: list[tuple[str, Path]] = []
        batch: set[Path] = set()
        try:
            for b in blocks:
                if is_identity(b.cid):
                    continue
                final = self._path(key_of(b.cid))
                if final in batch or final.exists():
                    continue
                batch.add(final)
                final.parent.mkdir(exist_ok=True)
                tmp = str(final.parent / f"{TMP_PREFIX}{os.getpid()}-{final.name}")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    written.append((tmp, final))
                    view = memoryview(b.data)
                    while view:
                        view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
            if self._sync:
                # The kernel has all the data already; fsync each file (sequentially, so the
                # device sees one stream of writes) before any rename makes it visible.
                for tmp, _ in written:
                    fd = os.open(tmp, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            dirs: set[Path] = set()
            while written:
                tmp, final = written.pop()
                os.replace(tmp, final)
                dirs.add(final.parent)
            if self._sync:
                for d in dirs:
                    dfd = os.open(d, os.O_RDONLY)
                    try:
                        os.fsync(dfd)
                    finally:
                        os.close(dfd)
        finally:
            for tmp, _ in written:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass

    def delete_many(self, cids: Iterable[CID]) -> list[CID]:
        """Delete several blocks; returns those that were present."""
        gone: list[CID] = []
        for cid in cids:
            try:
                self.delete(cid)
            except NotFound:
                continue
            gone.append(cid)
        return gone

    def remove_stale_temp_files(self, max_age_s: float = STORE_LIMITS.stale_tmp_seconds) -> int:
        """Delete `.tmp-*` files left by killed writers (older than `max_age_s`); returns count."""
        cutoff = time.time() - max_age_s
        n = 0
        for shard in self.root.iterdir():
            if not shard.is_dir():
                continue
            for f in shard.glob(TMP_PREFIX + "*"):
                try:
                    if f.stat().st_mtime < cutoff:
                        f.unlink()
                        n += 1
                except FileNotFoundError:
                    continue
        return n

    def delete(self, cid: CID) -> None:
        if is_identity(cid):
            return
        try:
            os.unlink(self._path(key_of(cid)))
        except FileNotFoundError:
            raise not_found(cid) from None

    def close(self) -> None:
        pass
