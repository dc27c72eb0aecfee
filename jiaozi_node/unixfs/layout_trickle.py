"""Trickle file layout (pure, push-style), identical to boxo `trickle.Layout`.

boxo (importer/trickle/trickledag.go), with m = max links and r = TRICKLE_LAYER_REPEAT (4):

    fillTrickleRec(node, maxDepth):
        add up to m leaves to node                      # FillNodeLayer
        for depth in 1, 2, ... (while depth < maxDepth, or unbounded for the root):
            if no more data: break
            repeat r times while data remains:
                node.add(fillTrickleRec(new node, depth))

The root is always an interior node (a one-chunk file is NOT collapsed to its leaf, and an empty
file is a File node with no links), and dag-pb leaves use UnixFS Type Raw (boxo passes `ft.TRaw`).

The recursion is kept as written, as a generator that asks its driver "is there more data?" and
"give me the next leaf"; the driver answers from the leaves pushed so far and suspends the
generator when it needs a leaf that has not arrived yet (or `finish` was not called yet).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator

from ..config import TRICKLE_LAYER_REPEAT
from ..ipld import multihash
from ..ipld.block import Block
from .nodes import FileLink, file_node

_PEEK = "peek"
_TAKE = "take"

_Gen = Generator[str, object, FileLink]


class TrickleLayout:
    def __init__(self, *, max_links: int, cid_version: int, hash_code: int = multihash.SHA2_256,
                 layer_repeat: int = TRICKLE_LAYER_REPEAT) -> None:
        self.max_links = max_links
        self.cid_version = cid_version
        self.hash_code = hash_code
        self.layer_repeat = layer_repeat
        self._queue: deque[FileLink] = deque()
        self._closed = False
        self._out: list[Block] = []
        self._gen = self._fill(-1)
        self._request: str | None = next(self._gen)
        self._root: FileLink | None = None

    # ------------------------------------------------------------------ the recursion

    def _node(self, children: list[FileLink]) -> FileLink:
        block, link = file_node(children, cid_version=self.cid_version, hash_code=self.hash_code)
        self._out.append(block)
        return link

    def _fill(self, max_depth: int) -> _Gen:
        children: list[FileLink] = []
        while len(children) < self.max_links and (yield _PEEK):
            leaf = yield _TAKE
            assert isinstance(leaf, FileLink)
            children.append(leaf)
        depth = 1
        while max_depth == -1 or depth < max_depth:
            if not (yield _PEEK):
                break
            repeat = 0
            while repeat < self.layer_repeat and (yield _PEEK):
                child = yield from self._fill(depth)
                children.append(child)
                repeat += 1
            depth += 1
        return self._node(children)

    # ------------------------------------------------------------------ the driver

    def _run(self) -> None:
        while self._request is not None:
            if self._request == _PEEK:
                if self._queue:
                    answer: object = True
                elif self._closed:
                    answer = False
                else:
                    return  # wait for more leaves
            else:
                answer = self._queue.popleft()
            try:
                self._request = self._gen.send(answer)
            except StopIteration as stop:
                self._root = stop.value
                self._request = None

    def push(self, leaf: FileLink) -> list[Block]:
        self._queue.append(leaf)
        self._run()
        out, self._out = self._out, []
        return out

    def finish(self) -> tuple[FileLink, list[Block]]:
        self._closed = True
        self._run()
        assert self._root is not None
        out, self._out = self._out, []
        return self._root, out
