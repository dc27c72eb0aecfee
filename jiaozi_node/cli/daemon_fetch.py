"""`jzfs get` and `jzfs cat` through a daemon on the same repo: the daemon fetches, the CLI reads.

    fetch = DaemonFetch.start(client, repo_path, path)   # None: read over HTTP instead
    with fetch:
        FilesReader.for_node(fetch.node, fetch).get(fetch.cid, dest)   # blocks from the repo's store

Why: streaming the bytes over the RPC API made the daemon's one Python process fetch, verify,
store, read back, frame and send every byte while the CLI process mostly waited; on this
machine's two cores that cost ~0.3 s for 60 MiB. Here the daemon only fetches (many blocks in
flight, each verified as it arrives, written in batches) and the CLI, in its own process, reads
the blocks from the repo's pack blockstore as the batches land (the pack store takes readers in
other processes without locks: store/pack/store.py) and writes them out meanwhile.

The protocol is `/api/v0/get?arg=PATH&format=jzfs-fetch` (api/h_files.py): NDJSON, first
`{"Cid": resolved CID, "Store": the daemon's blockstore directory}`, then `{"Done": true}` once
every block of the DAG is in the store, or a Kubo-style error object (the daemon's message).
A block not in the store yet is looked for again every `IoTuning.daemon_store_poll_s` (the
node's `defaults.io`) until the daemon says Done; missing after that, it is the store's NotFound.

Correctness is that of offline `get`/`cat`: every block was hashed by the daemon when it arrived
and is hashed again by the store when the CLI reads it; trees go through the one checked writer
(node/tree_writer.py). The fetched blocks are not pinned (as with Kubo's `get`), so the CLI holds
the repo's GC lock shared (store/lock.py) from before the request until it has read everything:
a `repo gc` meanwhile waits instead of sweeping blocks between their arrival and their reading.

Used only when the CLI's repo uses the pack engine and the daemon reports the same blockstore
directory; otherwise (another engine, a daemon on another filesystem view, a daemon from before
this format) `start` returns None and the caller reads over HTTP as before.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ..config import IO_TUNING
from ..errors import NotFound
from ..ipld.cid import CID

FORMAT = "jzfs-fetch"  # api/h_files.FETCH_FORMAT (not imported: the server side loads hypercorn)
_OLD_DAEMON = "unknown get format"  # how a daemon that predates FORMAT refuses it


def _pack_node(repo_path: Path) -> Any:
    """The repo's Node when its blockstore is the pack engine (safe to read beside the daemon),
    else None: another engine, or no repo here at all (a JZFS_PATH holding only the daemon's
    `api`)."""
    from ..errors import RepoError
    from ..node import Node
    from ..store.open import engine_name

    try:
        node = Node.open(repo_path, create=False)
        if engine_name(node.repo) != "pack":
            return None
        return node
    except RepoError:
        return None


class DaemonFetch:
    """A BlockGetter over the local store that waits for blocks the daemon is still fetching."""

    def __init__(self, client: Any, path: str, stack: ExitStack, *,
                 poll_s: float = IO_TUNING.daemon_store_poll_s) -> None:
        """Sends the request at once (from the following thread): the daemon resolves the path
        and starts fetching while this process opens its own store."""
        self.node: Any = None  # the CLI's own Node on the repo (its limits, its store)
        self.store: Any = None
        self.cid: CID | None = None
        self._client = client
        self._path = path
        self._stack = stack
        self._poll_s = poll_s
        self._first: Any = None
        self._has_first = threading.Event()
        self._done = threading.Event()
        self._error: str | None = None
        self._thread = threading.Thread(target=self._follow, name="jzfs-daemon-fetch", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, client: Any, repo_path: Path | str, path: str) -> DaemonFetch | None:
        """Ask the daemon to fetch `path`'s DAG; None when the CLI cannot read the daemon's store
        (the connection is then closed: the daemon stops, and the next request reconnects).
        The daemon's errors (bad path, unreachable root) raise ApiError with its message."""
        from ..api.client import ApiError
        from ..config import CONFIG_FILE
        from ..store.lock import GcLock

        repo_path = Path(repo_path)
        if not (repo_path / CONFIG_FILE).is_file():
            return None  # no repo here (a JZFS_PATH holding only the daemon's `api`)
        stack = ExitStack()
        try:
            stack.enter_context(GcLock(repo_path).shared())
            fetch = cls(client, path, stack)
        except BaseException:
            stack.close()
            raise
        try:
            node = _pack_node(repo_path)  # while the daemon resolves the path
            if node is not None:
                stack.callback(node.close)
            fetch._has_first.wait()
            first = fetch._first
            if first is None and _OLD_DAEMON in (fetch._error or ""):
                fetch.close()  # a daemon from before this format: its tree stream instead
                client.close()
                return None
            if first is None:
                raise ApiError(fetch._error or "the daemon's fetch stream ended at once")
            if not isinstance(first, dict) or "Cid" not in first:
                raise NotFound("the daemon did not name the content it fetches")
            if node is None or first.get("Store") != str(Path(node.blocks.root).resolve()):
                fetch.close()  # not a store we can read beside the daemon: over HTTP instead
                client.close()
                return None
            fetch.node, fetch.store = node, node.blocks
            fetch.cid = CID.decode(first["Cid"])
            fetch._poll_s = node.defaults.io.daemon_store_poll_s
        except BaseException:
            fetch.close()
            raise
        return fetch

    def _follow(self) -> None:
        """Sends the request, then reads the daemon's lines until Done or an error (ApiError
        from the client)."""
        lines = None
        try:
            lines = self._client.ndjson("get", [self._path], {"format": FORMAT})
            for obj in lines:
                if not self._has_first.is_set():
                    self._first = obj
                    self._has_first.set()
                elif isinstance(obj, dict) and obj.get("Done"):
                    self._done.set()  # the daemon ends the response right after this line
            if not self._done.is_set():
                self._error = "the daemon's fetch stream ended before its end line"
        except Exception as exc:  # noqa: BLE001 - reported by get() in the reading thread
            if not self._done.is_set():
                self._error = str(exc) or type(exc).__name__
        finally:
            if lines is not None:
                lines.close()
            self._has_first.set()
            self._done.set()

    def get(self, cid: CID) -> bytes:
        while True:
            done = self._done.is_set()  # read before looking: Done means the store has it all
            try:
                return self.store.get(cid)
            except NotFound:
                if done:
                    if self._error is not None:
                        from ..api.client import ApiError

                        raise ApiError(self._error) from None
                    raise
            self._done.wait(self._poll_s)

    def close(self) -> None:
        """Stop following and release the GC lock. Before Done, the connection is shut down:
        that wakes the following thread, and the daemon stops fetching when it sees it go."""
        if not self._done.is_set():
            import socket

            conn = getattr(self._client, "_conn", None)
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._thread.join()
            self._client.close()
        self._thread.join()
        self._stack.close()

    def __enter__(self) -> DaemonFetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
