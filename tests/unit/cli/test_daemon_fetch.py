"""cli/daemon_fetch.py: the CLI reads the blocks a daemon fetches from the repo's store."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiaozi_node.api.client import ApiError
from jiaozi_node.cli.daemon_fetch import DaemonFetch
from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.errors import NotFound
from jiaozi_node.node import Node
from jiaozi_node.node.files_read import FilesReader
from jiaozi_node.unixfs.importer import import_bytes

DATA = hashlib.shake_128(b"daemon-fetch").digest(3 * 1024 * 1024 + 7)


class FakeClient:
    """Stands for ApiClient: `ndjson` yields the daemon's lines; `gate` holds back the rest."""

    def __init__(self, first: dict[str, Any], rest: list[Any], gate: threading.Event | None = None) -> None:
        self.first, self.rest, self.gate = first, rest, gate
        self.asked: list[tuple[str, list[str], dict[str, Any]]] = []
        self.closed = False
        self._conn = None

    def ndjson(self, command: str, args: list[str], params: dict[str, Any]) -> Iterator[Any]:
        self.asked.append((command, list(args), dict(params)))
        yield self.first
        if self.gate is not None:
            self.gate.wait(10)
        for obj in self.rest:
            if isinstance(obj, Exception):
                raise obj
            yield obj

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    with Node.open(tmp_path / "repo"):
        pass
    return tmp_path / "repo"


def _store_dir(repo: Path) -> str:
    with Node.open(repo, create=False) as node:
        return str(Path(node.blocks.root).resolve())


def test_reads_blocks_as_the_daemon_stores_them(repo: Path) -> None:
    root, blocks, _ = import_bytes(DATA, UNIXFS_V0_2015)
    gate = threading.Event()
    client = FakeClient({"Cid": str(root), "Store": _store_dir(repo)}, [{"Done": True}], gate)

    def daemon() -> None:  # another store object on the same files, batch by batch
        with Node.open(repo, create=False) as node:
            for i in range(0, len(blocks), 3):
                node.blocks.put_many(blocks[i:i + 3])
                time.sleep(0.002)
        gate.set()

    fetch = DaemonFetch.start(client, repo, f"/ipfs/{root}")
    assert fetch is not None and fetch.cid == root
    assert client.asked == [("get", [f"/ipfs/{root}"], {"format": "jzfs-fetch"})]
    writer = threading.Thread(target=daemon)
    writer.start()
    with fetch:
        got = b"".join(FilesReader(fetch).cat(root))
    writer.join()
    assert got == DATA


def test_holds_the_gc_lock_shared_until_closed(repo: Path) -> None:
    root, blocks, _ = import_bytes(b"small", UNIXFS_V0_2015)
    with Node.open(repo, create=False) as node:
        node.blocks.put_many(blocks)
    client = FakeClient({"Cid": str(root), "Store": _store_dir(repo)}, [{"Done": True}])

    def gc_could_run() -> bool:
        fd = os.open(repo / "gc.lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    fetch = DaemonFetch.start(client, repo, str(root))
    assert fetch is not None
    with fetch:
        assert not gc_could_run()
        assert b"".join(FilesReader(fetch).cat(root)) == b"small"
    assert gc_could_run()


def test_the_daemons_refusal_before_its_first_line_is_the_error(repo: Path) -> None:
    class Refusing(FakeClient):
        def ndjson(self, command: str, args: list[str], params: dict[str, Any]) -> Iterator[Any]:
            raise ApiError("no link named \"nope\" under bafy...")
            yield  # a generator, as ApiClient.ndjson

    with pytest.raises(ApiError, match="no link named"):
        DaemonFetch.start(Refusing({}, []), repo, "/ipfs/bafy.../nope")
    gc = os.open(repo / "gc.lock", os.O_RDWR)
    try:
        fcntl.flock(gc, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the GC lock was released
    finally:
        os.close(gc)


def test_a_daemon_from_before_the_format_means_over_http(repo: Path) -> None:
    class Old(FakeClient):
        def ndjson(self, command: str, args: list[str], params: dict[str, Any]) -> Iterator[Any]:
            self.asked.append((command, list(args), dict(params)))
            raise ApiError("unknown get format 'jzfs-fetch' (tar | jzfs-tree)")
            yield

    old = Old({}, [])
    assert DaemonFetch.start(old, repo, "bafkqaaa") is None
    assert old.asked and old.closed


def test_the_daemons_error_is_the_error(repo: Path) -> None:
    root, _, _ = import_bytes(DATA, UNIXFS_V0_2015)
    msg = f"block {root} not found: no source (bitswap) provided it within 1s"
    client = FakeClient({"Cid": str(root), "Store": _store_dir(repo)}, [ApiError(msg)])
    fetch = DaemonFetch.start(client, repo, str(root))
    assert fetch is not None
    with fetch, pytest.raises(ApiError) as err:
        FilesReader(fetch).stat(root)
    assert str(err.value) == msg


def test_a_block_still_missing_after_done_is_the_stores_not_found(repo: Path) -> None:
    root, _, _ = import_bytes(DATA, UNIXFS_V0_2015)  # never stored
    client = FakeClient({"Cid": str(root), "Store": _store_dir(repo)}, [{"Done": True}])
    fetch = DaemonFetch.start(client, repo, str(root))
    assert fetch is not None
    with fetch, pytest.raises(NotFound) as err:
        fetch.get(root)
    assert str(err.value) == f"block {root} not found"
    client = FakeClient({"Cid": str(root), "Store": _store_dir(repo)}, [])  # cut short
    fetch = DaemonFetch.start(client, repo, str(root))
    assert fetch is not None
    with fetch, pytest.raises(ApiError, match="ended before its end line"):
        fetch.get(root)


def test_not_the_same_store_or_no_repo_means_over_http(repo: Path, tmp_path: Path) -> None:
    root, _, _ = import_bytes(b"x", UNIXFS_V0_2015)
    client = FakeClient({"Cid": str(root), "Store": str(tmp_path / "elsewhere")}, [{"Done": True}])
    assert DaemonFetch.start(client, repo, str(root)) is None
    assert client.closed  # the daemon stops fetching; the next request reconnects
    only_api = tmp_path / "only-api"
    only_api.mkdir()
    (only_api / "api").write_text("/ip4/127.0.0.1/tcp/5001")
    client = FakeClient({"Cid": str(root), "Store": "x"}, [])
    assert DaemonFetch.start(client, only_api, str(root)) is None
    assert client.asked == [] and sorted(os.listdir(only_api)) == ["api"]  # nothing created


def test_another_engine_means_over_http(tmp_path: Path) -> None:
    from jiaozi_node.repo import Repo

    Repo.init(tmp_path / "sq").set_config("Datastore.Engine", "sqlite")
    client = FakeClient({"Cid": "bafkqaaa", "Store": "x"}, [{"Done": True}])
    assert DaemonFetch.start(client, tmp_path / "sq", "bafkqaaa") is None
    assert client.closed  # asked while the store was opened; then dropped


def test_closing_mid_fetch_hangs_up_on_the_daemon(repo: Path) -> None:
    """The CLI stops early (a refused tree, Ctrl-C): closing shuts the connection, which wakes
    the thread following the daemon's lines and tells the daemon to stop fetching."""
    import http.server
    import json

    from jiaozi_node.api.client import ApiClient

    root, _, _ = import_bytes(DATA, UNIXFS_V0_2015)
    hung_up = threading.Event()
    first = json.dumps({"Cid": str(root), "Store": _store_dir(repo)}).encode() + b"\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
            self.wfile.flush()
            if self.rfile.read(1) == b"":  # blocks until the client hangs up
                hung_up.set()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ApiClient(f"http://127.0.0.1:{server.server_address[1]}")
        fetch = DaemonFetch.start(client, repo, str(root))
        assert fetch is not None
        closer = threading.Thread(target=fetch.close)
        closer.start()
        closer.join(30)
        assert not closer.is_alive()
        assert hung_up.wait(30)
    finally:
        server.shutdown()
        server.server_close()
