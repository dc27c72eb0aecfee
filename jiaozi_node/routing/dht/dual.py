"""Two DHTs as one Router, as Kubo's dual DHT: WAN (`/ipfs/kad/1.0.0`) and LAN
(`/ipfs/lan/kad/1.0.0`) on the same host, each with its own table and stores
(`Routing.DHT.Protocol = "dual"`).

Both are asked at once: providers are streamed from both and de-duplicated, `provide` and
`put_value` succeed if either DHT took the records, `find_peer` takes the first answer,
`get_value` selects the best valid record of the two answers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import trio

from ...errors import JzfsError, NetworkError, NotFound
from ..base import PeerRecord
from .service import DhtRouter

logger = logging.getLogger(__name__)


class DualDht:
    name = "dht"

    def __init__(self, wan: DhtRouter, lan: DhtRouter) -> None:
        self.wan = wan
        self.lan = lan
        self.routers = (wan, lan)

    @property
    def state(self) -> Any:  # the WAN DHT's, for code that inspects one table
        return self.wan.state

    @property
    def peer_id(self) -> str:
        return self.wan.peer_id

    async def bootstrap(self, addrs: Sequence[str] = ()) -> int:
        sizes = [await r.bootstrap(addrs) for r in self.routers]
        return sum(sizes)

    async def find_providers(self, cid: Any, *, limit: int = 20) -> AsyncIterator[PeerRecord]:
        nursery = self.wan._nursery
        if nursery is None:
            raise NetworkError("the DHT is not running")
        send, recv = trio.open_memory_channel[PeerRecord](math.inf)
        scope = trio.CancelScope()

        async def pump(router: DhtRouter, out: trio.MemorySendChannel[PeerRecord]) -> None:
            async with out, aclosing(router.find_providers(cid, limit=limit)) as found:
                async for rec in found:
                    try:
                        out.send_nowait(rec)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return

        async def both() -> None:
            with scope:
                async with send, trio.open_nursery() as n:
                    for r in self.routers:
                        n.start_soon(pump, r, send.clone())

        nursery.start_soon(both)
        seen: set[str] = set()
        try:
            async with recv:
                async for rec in recv:
                    if rec.peer_id in seen:
                        continue
                    seen.add(rec.peer_id)
                    yield rec
                    if len(seen) >= limit:
                        return
        finally:
            scope.cancel()

    async def _both(self, op: str, *args: Any) -> list[Any]:
        """Run `op` on both DHTs; their results or exceptions, in router order."""
        out: list[Any] = [None, None]

        async def one(i: int, r: DhtRouter) -> None:
            try:
                out[i] = await getattr(r, op)(*args)
            except JzfsError as exc:
                out[i] = exc

        async with trio.open_nursery() as n:
            for i, r in enumerate(self.routers):
                n.start_soon(one, i, r)
        return out

    @staticmethod
    def _one_ok(results: list[Any]) -> None:
        errs = [r for r in results if isinstance(r, BaseException)]
        if len(errs) == len(results):
            raise errs[0]

    async def provide(self, cids: Sequence[Any]) -> None:
        self._one_ok(await self._both("provide", cids))

    async def put_value(self, key: bytes, value: bytes) -> None:
        self._one_ok(await self._both("put_value", key, value))

    async def find_peer(self, peer_id: str) -> PeerRecord:
        results = await self._both("find_peer", peer_id)
        found = [r for r in results if isinstance(r, PeerRecord)]
        if not found:
            raise NotFound(f"peer {peer_id} not found in the DHT")
        return PeerRecord(peer_id, tuple(dict.fromkeys(a for r in found for a in r.addrs)))

    async def get_value(self, key: bytes) -> bytes:
        results = await self._both("get_value", key)
        values = [r for r in results if isinstance(r, bytes)]
        if not values:
            raise NotFound("no record for that key in the DHT")
        validators = self.wan.state.records.validators
        return values[validators.select(key, values, now=self.wan.clock())]

    def stats(self) -> dict[str, Any]:
        """The WAN DHT's stats, with the LAN DHT's under "Lan"."""
        return {**self.wan.stats(), "Lan": self.lan.stats()}
