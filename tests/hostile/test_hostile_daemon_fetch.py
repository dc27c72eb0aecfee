"""`get?format=jzfs-fetch` seen from the CLI (cli/daemon_fetch.py): lines no daemon of ours sends.
A first line that names no content (or not as a CID string) is one clear JzfsError and the repo's
GC lock is released; junk lines after it are ignored, and a stream that ends without its Done
line makes a missing block an ApiError at once — no hang, no other exception. The daemon side
(bad paths, a client that hangs up) is in tests/unit/api and tests/unit/cli/test_daemon_fetch.py."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiaozi_node.api.client import ApiError
from jiaozi_node.cli.daemon_fetch import DaemonFetch
from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.errors import JzfsError
from jiaozi_node.node import Node
from jiaozi_node.unixfs.importer import import_bytes

ROOT = import_bytes(b"never stored", UNIXFS_V0_2015)[0]


class Lines:
    """Stands for ApiClient: `ndjson` yields the given lines, then ends."""

    def __init__(self, lines: list[Any]) -> None:
        self.lines = lines
        self._conn = None

    def ndjson(self, command: str, args: list[str], params: dict[str, Any]) -> Iterator[Any]:
        yield from self.lines

    def close(self) -> None:
        pass


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    with Node.open(tmp_path / "repo") as node:
        store = str(Path(node.blocks.root).resolve())
    return tmp_path / "repo", store


def _gc_lock_free(repo: Path) -> bool:
    fd = os.open(repo / "gc.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


@pytest.mark.parametrize("first", [
    [1, 2], "Cid", None, 7, {},  # not a map naming content
    {"Cid": 5}, {"Cid": None}, {"Cid": ["bafy"]}, {"Cid": {"/": "bafy"}},  # not a CID string
    {"Cid": "not-a-cid"}, {"Cid": "b" + "a" * 5000},
])
def test_first_line_naming_no_content_is_a_clear_error(repo, first: Any) -> None:
    path, store = repo
    if isinstance(first, dict) and first:
        first = {**first, "Store": store}
    with pytest.raises(JzfsError):
        DaemonFetch.start(Lines([first, {"Done": True}]), path, f"/ipfs/{ROOT}")
    assert _gc_lock_free(path)


@pytest.mark.parametrize("rest", [
    [],  # ends at once
    [1, "x", None, [], {"Done": False}, {"Done": 0}, {"Type": "junk"}],  # junk, no Done line
])
def test_stream_ending_without_done_fails_a_missing_block_at_once(repo, rest: list[Any]) -> None:
    path, store = repo
    fetch = DaemonFetch.start(Lines([{"Cid": str(ROOT), "Store": store}, *rest]), path, str(ROOT))
    assert fetch is not None
    with fetch, pytest.raises(ApiError, match="end line"):
        fetch.get(ROOT)
    assert _gc_lock_free(path)
