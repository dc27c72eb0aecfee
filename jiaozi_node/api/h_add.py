"""RPC handler: `add` — Kubo's multipart upload into the same importer `jzfs add` uses.

The multipart body is parsed on the trio side (streaming, bounded); the import itself runs in ONE
worker thread through `node.files.AddSession`, the same pipeline as `jzfs add` (hashing pool,
background writes, GC lock held from the first write until the roots are pinned without a DAG
walk), and pulls the body's events through `trio.from_thread`, so a 10 GiB upload
needs neither memory nor a temp file. Output lines (`{"Name","Hash","Size"}`, plus
`{"Name","Bytes"}` with `progress=true`) stream back while the upload is still running.

Parts follow Kubo's clients (kubo-rpc-client, ipfshttpclient, `ipfs` itself): the filename is a
percent-encoded relative path, `application/x-directory` parts are directories, and
`application/symlink` parts are symlinks whose body is the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import trio

from ..config import ImportProfile
from ..errors import InvalidInput
from ..gateway.asgi import Request, Response
from ..node.files import AddSession, profile_for_add
from ..unixfs.tree import TreeBuilder, split_path
from .common import ApiContext, Handler, json_bytes, param_bool, param_int
from .multipart import PartInfo, iter_parts

# Progress lines at most every this many bytes (Kubo sends one per chunk; that is noisy).


def add_profile(ctx: ApiContext, req: Request) -> ImportProfile:
    """Kubo's add options on top of the node's profile, through the same function as `jzfs add`."""
    q = req.query
    return profile_for_add(ctx.node, profile=q.get("profile") or None,
                           cid_version=param_int(req, "cid-version", None),
                           raw_leaves=param_bool(req, "raw-leaves", False) if "raw-leaves" in q else None,
                           chunker=q.get("chunker") or None, trickle=param_bool(req, "trickle", False),
                           hash_function=q.get("hash") or None)


class _PartReader:
    """File-like view of the current part's data, pulling events from the trio side."""

    def __init__(self, pull: Callable[[], tuple[str, Any] | None]) -> None:
        self._pull = pull
        self._buf = b""
        self.done = False

    def read(self, n: int = -1) -> bytes:
        while not self.done and (n < 0 or len(self._buf) < n):
            ev = self._pull()
            if ev is None or ev[0] == "end":
                self.done = True
                break
            if ev[0] == "data":
                self._buf += ev[1]
        if n < 0 or n >= len(self._buf):
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


def _run_add(ctx: ApiContext, profile: ImportProfile, opts: dict[str, bool],
             pull: Callable[[], tuple[str, Any] | None], emit: Callable[[dict[str, Any]], None]) -> None:
    """The whole import, in one worker thread."""
    node = ctx.node
    only_hash, pin, wrap, progress = opts["only_hash"], opts["pin"], opts["wrap"], opts["progress"]
    progress_every = node.defaults.io.add_progress_every_bytes
    trees: dict[str, TreeBuilder] = {}
    tops: list[tuple[str, Any, int]] = []  # (name, cid, size) of top-level files, in order
    with AddSession(node, profile=profile, only_hash=only_hash, pin=pin, tuning=node.defaults.add,
                    progress=None) as session:
        while (ev := pull()) is not None:
            kind, info = ev
            if kind != "begin":
                continue
            assert isinstance(info, PartInfo)
            parts = split_path(info.filename) if info.filename else []
            rel = "/".join(parts[1:])
            if info.is_directory:
                if not parts:
                    raise InvalidInput("a directory part needs a name")
                tb = trees.setdefault(parts[0], TreeBuilder(profile))
                if rel:
                    tb.add_dir(rel)
                _PartReader(pull).read()
                continue
            reader = _PartReader(pull)
            if info.is_symlink:
                limit = ctx.limits.max_symlink_target_bytes
                target = reader.read(limit + 1)
                if len(target) > limit:
                    raise InvalidInput(f"symlink target over {limit} bytes")
                reader.read()
                cid, size = session.symlink(target)
            else:
                name = "/".join(parts)
                seen = [0, 0]

                def on_bytes(n: int, name: str = name, seen: list[int] = seen) -> None:
                    seen[0] += n
                    if progress and seen[0] - seen[1] >= progress_every:
                        seen[1] = seen[0]
                        emit({"Name": name, "Bytes": seen[0]})

                cid, size = session.stream(reader, progress=on_bytes)  # type: ignore[arg-type]
                if progress:
                    emit({"Name": name, "Bytes": seen[0]})
            path = "/".join(parts)
            emit({"Name": path or str(cid), "Hash": str(cid), "Size": str(size)})
            if len(parts) > 1:
                trees.setdefault(parts[0], TreeBuilder(profile)).add_file(rel, cid, size)
            else:
                tops.append((path or str(cid), cid, size))
        roots: list[tuple[str, Any, int]] = list(tops)
        for top, tb in trees.items():
            dirs, blocks = tb.finish()
            session.put(blocks)
            for sub, cid, size in dirs:
                emit({"Name": f"{top}/{sub}" if sub else top, "Hash": str(cid), "Size": str(size)})
            roots.append((top, dirs[-1][1], dirs[-1][2]))
        if wrap:
            wrapper = TreeBuilder(profile)
            for name, cid, size in roots:
                wrapper.add_file(name, cid, size)
            dirs, blocks = wrapper.finish()
            session.put(blocks)
            _, cid, size = dirs[-1]
            emit({"Name": "", "Hash": str(cid), "Size": str(size)})
            roots = [("", cid, size)]
        session.finish([cid for _, cid, _ in roots])


async def add(ctx: ApiContext, req: Request, resp: Response) -> None:
    profile = add_profile(ctx, req)
    opts = {"only_hash": param_bool(req, "only-hash", False), "pin": param_bool(req, "pin", True),
            "wrap": param_bool(req, "wrap-with-directory", False),
            "progress": param_bool(req, "progress", False)}
    events = iter_parts(req, limit=ctx.limits.max_body_bytes, max_header_bytes=ctx.limits.max_part_header_bytes)
    out_send, out_recv = trio.open_memory_channel[dict[str, Any]](math.inf)
    token = trio.lowlevel.current_trio_token()

    async def next_event() -> tuple[str, Any] | None:
        try:
            return await events.__anext__()
        except StopAsyncIteration:
            return None

    def pull() -> tuple[str, Any] | None:
        return trio.from_thread.run(next_event, trio_token=token)

    def emit(obj: dict[str, Any]) -> None:
        trio.from_thread.run_sync(out_send.send_nowait, obj, trio_token=token)

    failure: list[BaseException] = []

    async def worker() -> None:
        try:
            await trio.to_thread.run_sync(_run_add, ctx, profile, opts, pull, emit)
        except BaseException as exc:  # reported in the stream / as the status below
            failure.append(exc)
        finally:
            await out_send.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(worker)
        first = await _first(out_recv)
        if first is not None or not failure:
            await _stream_out(resp, first, out_recv, failure)
    if first is None and failure:
        raise failure[0]  # nothing was sent yet: a proper error status (outside the nursery)


async def _stream_out(resp: Response, first: dict[str, Any] | None,
                      out_recv: trio.MemoryReceiveChannel[dict[str, Any]],
                      failure: list[BaseException]) -> None:
    await resp.start(200, [("Content-Type", "application/json"), ("X-Chunked-Output", "1"),
                           ("Vary", "Origin")])
    if first is not None:
        await resp.chunk(json_bytes(first))
        async for obj in out_recv:
            await resp.chunk(json_bytes(obj))
    if failure:
        # Kubo reports a failure after the 200 as an error object in the stream.
        await resp.chunk(json_bytes({"Message": str(failure[0]), "Code": 0, "Type": "error"}))
    await resp.end()


async def _first(recv: trio.MemoryReceiveChannel[dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return await recv.receive()
    except trio.EndOfChannel:
        return None


ROUTES: dict[str, Handler] = {"add": add}
