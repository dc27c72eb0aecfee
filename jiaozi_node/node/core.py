"""Node: the offline core every command and the Python API go through.

    from jiaozi_node import Node
    node = Node.open()                 # $JZFS_PATH or ~/.jzfs, created with defaults if missing
    cid = node.add_path("data/")       # synchronous work on the local repo
    async with node.online() as peer:  # trio: libp2p host, bitswap, gateway, API
        ...

Subsystems hang off the node as typed attributes, each owned by its own package and opened on
first use: `blocks` (store.base.Blockstore), `pins` (store.pins.PinStore), `versioning`
(versioning.service.Versioning), `files` (node.files_read.FilesReader), `settings` (the user's
config, user_config.UserConfig) and `defaults` (limits, config.Defaults). Node wires them
together, handing each part the parts it needs explicitly (see `versioning`), and owns their
lifetime (`close()`).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Defaults
from ..repo import Repo
from ..user_config import UserConfig

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..ipld.cid import CID
    from ..store.base import Blockstore
    from ..store.pins import PinStore
    from ..versioning.service import Versioning
    from .files_read import Entry, FilesReader
    from .online import OnlineNode


class Node:
    def __init__(self, repo: Repo, *, defaults: Defaults | None = None) -> None:
        self.repo = repo
        self.defaults = defaults or Defaults()

    @classmethod
    def open(cls, path: Path | str | None = None, *, create: bool = True, **kw: Any) -> Node:
        return cls(Repo.open(path, create=create), **kw)

    @property
    def settings(self) -> UserConfig:
        """The user's config file, typed and parsed once (`user_config.UserConfig`); limits are
        in `defaults`."""
        return self.repo.settings

    @cached_property
    def blocks(self) -> Blockstore:
        """The repo's Blockstore (verifies on read; see jiaozi_node.store)."""
        from ..store.open import open_blockstore

        return open_blockstore(self.repo, limits=self.defaults.store)

    @cached_property
    def pins(self) -> PinStore:
        from ..store.pins import PinStore

        pins = PinStore.open(self.repo, self.blocks,
                             busy_timeout_ms=self.defaults.store.sqlite_busy_timeout_ms)
        # What gets pinned is announced to routing (queued; routing/provider.py, strategy there).
        pins.add_pin_listener(lambda cid, recursive: self.announce([cid], walk=recursive))
        # Versioned data (commits, tags and their trees) are GC roots; the refs store is opened
        # only when GC asks.
        pins.add_root_provider(lambda: self.versioning.gc_roots())
        return pins

    @cached_property
    def versioning(self) -> Versioning:
        """Versioned datasets: repos, refs, commits (see jiaozi_node.versioning.service)."""
        from ..versioning.service import Versioning

        return Versioning(repo=self.repo, blocks=self.blocks, gc_guard=lambda: self.pins.lock.shared(),
                          announce=self.announce, defaults=self.defaults)

    def announce(self, cids: Iterable[CID], *, walk: bool = False) -> None:
        """Queue CIDs to be provided to routing (`walk`: the DAG under each, as the
        Reprovider.Strategy says). Cheap and never on the network: see routing/provider.py."""
        from ..routing.provider import enqueue

        enqueue(self, cids, walk=walk)

    def online(self, **kw: Any) -> AbstractAsyncContextManager[OnlineNode]:
        """`async with node.online() as peer:` host + services; see jiaozi_node.node.online."""
        from .online import online

        return online(self, **kw)

    # `jzfs add` for Python callers (jiaozi_node.node.files has the full API and the events).
    def add_bytes(self, data: bytes, **kw: Any) -> CID:
        """Import `data` (pinned unless pin=False); returns its root CID. Keywords as in
        `files.add_stream` (profile, only_hash, ...)."""
        from .files import add_bytes

        kw.setdefault("pin", True)  # like `jzfs add` and Kubo's clients
        kw.setdefault("tuning", self.defaults.add)
        return add_bytes(self, data, **kw).cid

    def add_path(self, *paths: str | Path, recursive: bool = True, **kw: Any) -> CID:
        """Import files/directories like `jzfs add -r`; returns the last root CID."""
        from .files import add_path

        kw.setdefault("pin", True)  # like `jzfs add` and Kubo's clients
        kw.setdefault("tuning", self.defaults.add)
        return add_path(self, list(paths), recursive=recursive, **kw)[-1].cid

    # Reading, for Python callers (jiaozi_node.node.files_read / node.dag have the full API).
    @cached_property
    def files(self) -> FilesReader:
        """A FilesReader over the local store: resolve, stat, cat, ls, get."""
        from .files_read import FilesReader

        return FilesReader.for_node(self)

    def cat(self, path: str | CID, *, offset: int = 0, length: int | None = None) -> bytes:
        """The bytes of a UnixFS file (`CID` or `CID/path`), like `jzfs cat`. For large files
        iterate `node.files.cat(...)` instead, which streams."""
        return b"".join(self.files.cat(path, offset=offset, length=length))

    def ls(self, path: str | CID) -> list[Entry]:
        """Directory entries (name, cid, size, type), like `jzfs ls`."""
        return self.files.ls(path)

    def get(self, path: str | CID, dest: str | Path) -> Path:
        """Write a file or tree to `dest` (must not exist), like `jzfs get -o`."""
        return Path(self.files.get(path, dest))

    def dag_put(self, value: Any, *, store_codec: str = "dag-cbor") -> CID:
        """Store a Python value (dicts, lists, CIDs, bytes…) as one IPLD block; returns its CID."""
        from ..ipld import dagjson
        from .dag import dag_put

        return dag_put(self.blocks, dagjson.encode(value), store_codec=store_codec, limits=self.defaults.ipld)

    def dag_get(self, cid: CID | str, path: str = "") -> Any:
        """The decoded value at `cid[/path]` (CIDs come back as CID objects)."""
        from ..ipld import CID
        from .dag import dag_get

        return dag_get(self.blocks, CID.parse(cid), [p for p in path.split("/") if p])[0]

    def close(self) -> None:
        for name in ("files", "versioning", "pins", "blocks"):
            obj = self.__dict__.pop(name, None)
            if obj is not None and hasattr(obj, "close"):
                obj.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
