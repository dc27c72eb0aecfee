"""Balanced file layout (pure, push-style), identical to boxo `balanced.Layout` and js `balanced`.

boxo builds the tree recursively: the first leaf is the root; while data remains, the root becomes
the first child of a new root one level higher, which is then filled with full subtrees of the
level below. The result is the left-filled `max_links`-ary tree of minimal height; nodes on the
right edge may have a single child (they are not collapsed), and a file of one chunk is the leaf
itself.

Push-style equivalent: `levels[h]` holds the finished links of height h not yet under a parent. A
level reaching `max_links` links is final and becomes a node at once (so blocks leave as soon as
they are final and memory stays O(height * max_links)). At `finish`, partial levels are wrapped
bottom-up until one link is left.
"""

from __future__ import annotations

from ..ipld import multihash
from ..ipld.block import Block
from .nodes import FileLink, file_node


class BalancedLayout:
    def __init__(self, *, max_links: int, cid_version: int, hash_code: int = multihash.SHA2_256) -> None:
        if max_links < 2:
            raise ValueError("balanced layout needs max_links >= 2")
        self.max_links = max_links
        self.cid_version = cid_version
        self.hash_code = hash_code
        self._levels: list[list[FileLink]] = [[]]

    def push(self, leaf: FileLink) -> list[Block]:
        out: list[Block] = []
        self._levels[0].append(leaf)
        h = 0
        while len(self._levels[h]) == self.max_links:
            block, link = file_node(self._levels[h], cid_version=self.cid_version, hash_code=self.hash_code)
            out.append(block)
            self._levels[h] = []
            if h + 1 == len(self._levels):
                self._levels.append([])
            self._levels[h + 1].append(link)
            h += 1
        return out

    def finish(self) -> tuple[FileLink, list[Block]]:
        """Wrap the partial levels; the caller guarantees at least one leaf was pushed."""
        out: list[Block] = []
        levels = self._levels
        top = max(h for h, links in enumerate(levels) if links)
        for h in range(top):
            if levels[h]:
                block, link = file_node(levels[h], cid_version=self.cid_version, hash_code=self.hash_code)
                out.append(block)
                levels[h] = []
                levels[h + 1].append(link)
        while len(levels[top]) > 1:
            block, link = file_node(levels[top], cid_version=self.cid_version, hash_code=self.hash_code)
            out.append(block)
            levels[top] = [link]
        # An all-full tree: levels[top] holds the root alone.
        return levels[top][0], out
