"""What every RPC handler shares: the context, argument parsing and Kubo-shaped output helpers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

from ..config import HttpLimits
from ..errors import InvalidInput
from ..gateway.asgi import Request, Response
from ..gateway.http_common import ContentPath, parse_arg_path
from ..gateway.server import Fetch, _Getter

if TYPE_CHECKING:
    from ..ipld.cid import CID
    from ..node.core import Node
    from ..node.online import OnlineNode
    from ..node.retrieval import Retrieval

log = logging.getLogger(__name__)


@dataclass
class ApiContext:
    """Handed to every handler. `online` is None when the API runs without a network (tests).
    `limits`: the node's HTTP limits (`node.defaults.http`) unless given."""

    node: Node
    online: OnlineNode | None = None
    fetch: Fetch | None = None
    limits: HttpLimits = None  # type: ignore[assignment]  # set in __post_init__
    # The node's retrieval path when online: whole DAGs are fetched through it with many blocks
    # in flight (`Retrieval.fetch_dag`), not one block per getter call.
    retrieval: Retrieval | None = None

    def __post_init__(self) -> None:
        if self.limits is None:
            self.limits = self.node.defaults.http

    async def fetch_dag(self, root: CID) -> bool:
        """Make the whole DAG under `root` local, many blocks in flight. False (nothing done)
        when there is nothing to fetch from (offline, or no sources)."""
        if self.retrieval is None or not self.retrieval.sources:
            return False
        await self.retrieval.fetch_dag(root)
        return True

    async def fetch_children(self, parent: CID) -> None:
        """Fetch the blocks `parent` links to (a directory's entries), many in flight, so a
        listing that reads each child's root block (`ls` with types and sizes) finds them local.
        Best effort: a failure is left to the reader, which reports its own error."""
        if self.retrieval is None or not self.retrieval.sources:
            return
        from ..ipld import codecs

        retrieval = self.retrieval
        try:
            links = codecs.links(parent, await retrieval.get(parent))
        except Exception as exc:  # the reader's own get raises the error the user sees
            log.info("prefetch of %s stopped: %s", parent, exc)
            return
        slots = trio.Semaphore(max(1, retrieval.concurrency))

        async def one(cid: CID) -> None:
            async with slots:
                try:
                    await retrieval.get(cid)
                except Exception as exc:
                    log.info("prefetch of %s stopped: %s", cid, exc)

        async with trio.open_nursery() as nursery:
            for cid in links:
                nursery.start_soon(one, cid)

    def prefetching(self, root: CID) -> AbstractAsyncContextManager[None]:
        """While the body streams `root` through the (one block at a time) getter, fetch its DAG
        ahead in the background (see `prefetching`)."""
        return prefetching(self.retrieval, root)

    @property
    def getter(self) -> _Getter:
        return _Getter(self.node.blocks, self.fetch)

    def resolve_cid(self, arg: str) -> CID:
        """The CID `arg` names (`CID`, `CID/path`, `/ipfs/CID/path`), its path resolved through
        the getter. Sync: call it in a worker thread from a handler (`in_thread`)."""
        from ..unixfs.resolve import resolve

        cp = parse_arg_path(arg)
        if not cp.segments:
            return cp.cid
        return resolve(self.getter, cp.cid, list(cp.segments))

    def make_dag_local(self, root: CID) -> int:
        """Read every block of the DAG under `root` through the getter, one block at a time, so
        each is local afterwards (online, a missing block is fetched, verified and stored; offline,
        NotFound names the first missing one). Returns the number of blocks walked (identity CIDs
        not counted). Sync (worker thread). Online, `fetch_dag` is the fast path: many blocks in
        flight; this is what runs when it has nothing to fetch from."""
        from ..car.traverse import dag_blocks

        return sum(1 for _ in dag_blocks(self.getter, root))

    def require_online(self) -> OnlineNode:
        if self.online is None:
            raise InvalidInput("this command needs the node to be online (run `jzfs daemon`)")
        return self.online


Handler = Callable[[ApiContext, Request, Response], Awaitable[None]]


@asynccontextmanager
async def prefetching(retrieval: Retrieval | None, root: CID) -> AsyncIterator[None]:
    """While the body streams `root` through a (one block at a time) getter, fetch its DAG ahead
    in the background with many blocks in flight (`Retrieval.fetch_dag`), so the reader mostly
    finds its next block local. A prefetch failure is only logged: the reader fetches what it
    still needs and reports its own error. No-op without a retrieval path or sources."""
    if retrieval is None or not retrieval.sources:
        yield
        return

    async def ahead() -> None:
        try:
            await retrieval.fetch_dag(root)
        except Exception as exc:  # the reader's own get raises the error the user sees
            log.info("prefetch of %s stopped: %s", root, exc)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ahead)
            try:
                yield
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # only the body can fail (`ahead` never raises):
        if len(group.exceptions) == 1:    # its error as itself, as without a prefetch
            raise group.exceptions[0] from None
        raise


_TRUE = {"1", "t", "T", "TRUE", "true", "True", ""}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def param_bool(req: Request, name: str, default: bool) -> bool:
    """Kubo parses booleans with Go's strconv.ParseBool; a bare `?flag` means true."""
    if name not in req.query:
        return default
    v = req.query[name]
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InvalidInput(f"invalid boolean for option {name!r}: {v!r}")


def param_int(req: Request, name: str, default: int | None) -> int | None:
    if name not in req.query or req.query[name] == "":
        return default
    try:
        return int(req.query[name])
    except ValueError:
        raise InvalidInput(f"invalid integer for option {name!r}: {req.query[name]!r}") from None


def one_arg(req: Request, what: str = "argument") -> str:
    args = req.args()
    if not args:
        raise InvalidInput(f"argument {what!r} is required")
    return args[0]


def arg_path(req: Request) -> ContentPath:
    return parse_arg_path(one_arg(req, "ipfs-path"))


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, separators=(",", ":"), default=str) + "\n").encode()


async def send_json(resp: Response, value: Any) -> None:
    await resp.full(200, [("Content-Type", "application/json"), ("Vary", "Origin")], json_bytes(value))


async def send_ndjson(resp: Response, values: AsyncIterator[Any]) -> None:
    """Kubo's streaming JSON output (X-Chunked-Output): one object per line."""
    await resp.start(200, [("Content-Type", "application/json"), ("X-Chunked-Output", "1"),
                           ("Vary", "Origin")])
    async for v in values:
        await resp.chunk(json_bytes(v))
    await resp.end()


async def send_stream(resp: Response, chunks: Iterator[bytes], *, content_type: str = "text/plain",
                      length: int | None = None, batch: int = 1 << 20) -> None:
    """Kubo's byte output (X-Stream-Output): pulled from a sync iterator in worker threads."""
    headers = [("Content-Type", content_type), ("X-Stream-Output", "1"), ("Vary", "Origin")]
    if length is not None:
        headers.append(("X-Content-Length", str(length)))
    first = await in_thread(_pull, chunks, batch)
    await resp.start(200, headers)
    data = first
    while data:
        await resp.chunk(data)
        data = await in_thread(_pull, chunks, batch)
    await resp.end()


def _pull(chunks: Iterator[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    for c in chunks:
        parts.append(c)
        total += len(c)
        if total >= size:
            break
    return b"".join(parts)


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await trio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)
