"""Keep configured peers connected (`Peering.Peers`, like Kubo's peering service).

The backoff schedule is a pure function (`next_backoff`); `PeeringService` is the trio loop that
dials each peer's addresses, waits for a disconnect, and redials with jittered exponential backoff.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from typing import Any, Protocol

import trio

from ..config import NET_LIMITS, NetLimits
from ..errors import InvalidInput, JzfsError
from ..frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeeringPeer:
    peer_id: str
    addrs: tuple[str, ...]

    def dial_addrs(self) -> list[str]:
        """Addresses with /p2p/<ID> appended where missing."""
        suffix = f"/p2p/{self.peer_id}"
        return [a if a.endswith(suffix) else a + suffix for a in self.addrs]


def parse_peering_config(value: Any) -> list[PeeringPeer]:
    """`Peering.Peers` from the config: a list of {"ID": str, "Addrs": [str]} (Kubo's shape)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("Peering.Peers must be a list of {ID, Addrs}")
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("ID"), str):
            raise InvalidInput(f"Peering.Peers entry {entry!r} needs an ID")
        addrs = entry.get("Addrs") or []
        if not isinstance(addrs, list) or not all(isinstance(a, str) for a in addrs):
            raise InvalidInput(f"Peering.Peers entry for {entry['ID']}: Addrs must be strings")
        out.append(PeeringPeer(entry["ID"], tuple(addrs)))
    return out


def next_backoff(previous: float | None, *, limits: NetLimits, rand: float) -> float:
    """Delay before the next redial: min on the first failure, then doubling up to max.

    `rand` in [0, 1) adds up to ±20 % jitter so many peers do not redial in lockstep.
    """
    base = limits.peering_backoff_min_s if previous is None else min(
        previous * 2, limits.peering_backoff_max_s)
    return max(limits.peering_backoff_min_s * 0.5, base * (0.8 + 0.4 * rand))


class _Host(Protocol):
    def is_connected(self, peer_id: str) -> bool: ...
    async def connect(self, addr: str) -> str: ...
    def on_disconnected(self, callback: Any) -> None: ...


class PeeringService:
    """Dials every peering peer and redials it whenever it disconnects, until cancelled."""

    def __init__(self, host: _Host, peers: Iterable[PeeringPeer], *,
                 limits: NetLimits = NET_LIMITS) -> None:
        self.host = host
        self.peers = {p.peer_id: p for p in peers}
        self.limits = limits
        self._wake: dict[str, trio.Event] = {pid: trio.Event() for pid in self.peers}
        host.on_disconnected(self._disconnected)

    def _disconnected(self, peer_id: str) -> None:
        ev = self._wake.get(peer_id)
        if ev is not None:
            ev.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for peer in self.peers.values():
                nursery.start_soon(self._keep, peer)
            task_status.started()

    async def _keep(self, peer: PeeringPeer) -> None:
        backoff: float | None = None
        while True:
            if not self.host.is_connected(peer.peer_id):
                ok = False
                for addr in peer.dial_addrs():
                    try:
                        await self.host.connect(addr)
                        ok = True
                        break
                    except JzfsError as exc:
                        logger.info("peering: dial %s failed: %s", addr, exc)
                if not ok:
                    backoff = next_backoff(backoff, limits=self.limits, rand=random.random())
                    await trio.sleep(backoff)
                    continue
            backoff = None
            self._wake[peer.peer_id] = ev = trio.Event()
            if self.host.is_connected(peer.peer_id):
                await ev.wait()
                # A peer that accepts and then drops us at once must not cause a dial storm.
                await trio.sleep(next_backoff(None, limits=self.limits, rand=random.random()))
