"""Announcing provider records: per key (a lookup, then k ADD_PROVIDER streams) or in bulk by a
keyspace sweep (sweep.py: a lookup per k-peer neighbourhood, each peer's records batched on one
stream). The
DHT's `provide` picks the path (`DhtLimits.provide_batch_threshold`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ...errors import JzfsError
from . import message as m
from .keys import kad_int
from .sweep import Sweep

if TYPE_CHECKING:
    from .service import DhtRouter

logger = logging.getLogger(__name__)


async def provide_one(dht: DhtRouter, key: bytes) -> int:
    """One lookup for the k closest, then an ADD_PROVIDER stream to each; records delivered."""
    lk = await dht.lookup(key, m.FIND_NODE)
    frame = m.add_provider_frame(key, dht.provider_peer)
    ok = 0

    async def send(peer: str) -> None:
        nonlocal ok
        try:
            await dht.transport.send_frames(peer, [frame])
            ok += 1
        except (JzfsError, trio.TooSlowError) as exc:
            logger.debug("dht: ADD_PROVIDER to %s failed: %s", peer, exc)

    async with trio.open_nursery() as nursery:
        for peer in lk.closest():
            nursery.start_soon(send, peer)
    return ok


async def provide_bulk(dht: DhtRouter, keys: list[bytes]) -> int:
    """Announce many keys: a keyspace sweep (sweep.py) finds every key's k closest peers with
    about one lookup per k-peer neighbourhood, then each peer gets all of its records on one
    stream. The keys are split into `provide_concurrency` contiguous slices swept at once."""
    keys = sorted(keys, key=kad_int)
    n = max(1, dht.limits.provide_concurrency)
    size = -(-len(keys) // n)
    sweeps = [Sweep(keys[i : i + size], k=dht.limits.k) for i in range(0, len(keys), size)]

    async def run(sw: Sweep) -> None:
        while (key := sw.step()) is not None:
            lk = await dht.lookup(key, m.FIND_NODE, k=sw.lookup_k)
            sw.on_lookup(key, lk.answered())

    async with trio.open_nursery() as nursery:
        for sw in sweeps:
            nursery.start_soon(run, sw)
    dht.counters["provide_lookups"] = dht.counters.get("provide_lookups", 0) + sum(
        sw.lookups for sw in sweeps)
    per_peer: dict[str, list[bytes]] = {}
    for sw in sweeps:
        for peer, pkeys in sw.assigned.items():
            per_peer.setdefault(peer, []).extend(
                m.add_provider_frame(k, dht.provider_peer) for k in pkeys)
    sent = 0
    limiter = trio.CapacityLimiter(n)

    async def deliver(peer: str, frames: list[bytes]) -> None:
        nonlocal sent
        async with limiter:
            try:
                await dht.transport.send_frames(peer, frames)
                sent += len(frames)
            except (JzfsError, trio.TooSlowError) as exc:
                logger.info("dht: announcing %d records to %s failed: %s", len(frames), peer, exc)

    async with trio.open_nursery() as nursery:
        for peer, frames in per_peer.items():
            nursery.start_soon(deliver, peer, frames)
    return sent
