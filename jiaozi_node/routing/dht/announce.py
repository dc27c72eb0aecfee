"""Announcing provider records: per key (a lookup, then k ADD_PROVIDER streams) or in bulk by
keyspace region (one lookup per region, then each peer's records batched on one stream). The
DHT's `provide` picks the path (`DhtLimits.provide_batch_threshold`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ...errors import JzfsError
from . import message as m
from .keys import kad_id, peer_kad

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


def region_bits(dht: DhtRouter) -> int:
    """Keyspace regions for a bulk announce: about k x 2 peers per region, estimated from
    how many leading buckets of our table are full (bucket i covers 1/2**(i+1) of the
    network, so d full buckets mean about k x 2**d peers)."""
    full = 0
    buckets = dict(dht.state.table.buckets())
    while len(buckets.get(full, ())) >= dht.limits.k:
        full += 1
    return max(0, full - 1)


async def provide_bulk(dht: DhtRouter, keys: list[bytes]) -> int:
    """Announce many keys: one lookup per keyspace region, then every peer gets all of its
    records on one stream (sweeping, as boxo's newer provider does, simplified)."""
    bits = region_bits(dht)
    regions: dict[int, list[bytes]] = {}
    for k in keys:
        regions.setdefault(int.from_bytes(kad_id(k), "big") >> (256 - bits) if bits else 0, []).append(k)
    per_peer: dict[str, list[bytes]] = {}
    limiter = trio.CapacityLimiter(dht.limits.provide_concurrency)

    async def region(rkeys: list[bytes]) -> None:
        async with limiter:
            lk = await dht.lookup(rkeys[0], m.FIND_NODE)
        cands = lk.answered()
        ints = [(int.from_bytes(peer_kad(p), "big"), p) for p in cands]
        for k in rkeys:
            t = int.from_bytes(kad_id(k), "big")
            frame = m.add_provider_frame(k, dht.provider_peer)
            for _, p in sorted((d ^ t, p) for d, p in ints)[: dht.limits.k]:
                per_peer.setdefault(p, []).append(frame)

    async with trio.open_nursery() as nursery:
        for rkeys in regions.values():
            nursery.start_soon(region, rkeys)
    sent = 0

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
