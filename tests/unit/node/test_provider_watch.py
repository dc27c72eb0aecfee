"""Provider searches during `Retrieval.fetch_dag` (node/provider_watch.py), with a fake finder
and fake sources on trio's virtual clock."""

from __future__ import annotations

import math
import os

import trio

from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.ipld.cid import CID
from jiaozi_node.node.retrieval import Retrieval
from jiaozi_node.store.base import MemoryBlockstore
from jiaozi_node.unixfs.importer import import_bytes


class Source:
    name = "bitswap"

    def __init__(self, blocks: dict[CID, bytes], *, slow: set[CID] = frozenset(), delay: float = 5.0) -> None:
        self.blocks = blocks
        self.slow = slow
        self.delay = delay

    async def fetch(self, cid: CID) -> bytes:
        if cid in self.slow:
            await trio.sleep(self.delay)
        return self.blocks[cid]


class Finder:
    """Records searches: (cid, start time, end time or None while running)."""

    name = "routing"
    finds_providers = True

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.searches: list[list] = []
        self.raced = 0

    def search_delay(self) -> float:
        return self.delay

    async def fetch(self, cid: CID) -> bytes:  # the per-block race (single gets)
        self.raced += 1
        await trio.sleep(self.delay)
        return await self.find(cid)

    async def find(self, cid: CID) -> bytes:
        rec = [cid, trio.current_time(), None]
        self.searches.append(rec)
        try:
            await trio.sleep(math.inf)
        finally:
            rec[2] = trio.current_time()
        raise AssertionError("unreachable")


def _dag(mib: float = 1.5):
    root, blocks, _ = import_bytes(os.urandom(int(mib * 1024 * 1024)), UNIXFS_V0_2015)
    return root, {b.cid: b.data for b in blocks}


async def test_blocks_that_arrive_in_time_start_no_search(autojump_clock):
    root, blocks = _dag()
    finder = Finder(delay=1.0)
    r = Retrieval(MemoryBlockstore(), [Source(blocks), finder])
    assert await r.fetch_dag(root) == len(blocks)
    assert finder.searches == []
    assert finder.raced == 0  # no race task per block (the cost this watch removes)


async def test_at_the_start_of_a_retrieval_the_search_runs_at_once_and_stops_with_the_block(autojump_clock):
    root, blocks = _dag()
    finder = Finder(delay=0.0)  # nothing searched recently: search while Bitswap asks
    r = Retrieval(MemoryBlockstore(), [Source(blocks, slow={root}, delay=3.0), finder])
    t0 = trio.current_time()
    await r.fetch_dag(root)
    first = finder.searches[0]
    assert first[0] == root and first[1] == t0 and first[2] == t0 + 3.0  # cancelled on arrival
    assert all(s[2] is not None for s in finder.searches)  # nothing left running


async def test_a_block_missing_past_the_delay_gets_its_search_only_then(autojump_clock):
    root, blocks = _dag()
    slow = next(c for c in blocks if c != root)
    finder = Finder(delay=1.0)
    r = Retrieval(MemoryBlockstore(), [Source(blocks, slow={slow}, delay=4.0), finder])
    t0 = trio.current_time()
    await r.fetch_dag(root)
    assert [s[0] for s in finder.searches] == [slow]
    _, start, end = finder.searches[0]
    assert start == t0 + 1.0 and end == t0 + 4.0


async def test_single_gets_still_race_the_finder(autojump_clock):
    root, blocks = _dag(0.1)
    finder = Finder(delay=0.0)
    r = Retrieval(MemoryBlockstore(), [Source(blocks, slow={root}, delay=2.0), finder])
    assert await r.get(root) == blocks[root]
    assert [s[0] for s in finder.searches] == [root] and finder.searches[0][2] is not None
