"""The routing table: k-buckets by common prefix length with our own kad ID. Pure.

Bucket `i` holds peers whose kad ID shares exactly `i` leading bits with ours, at most `k` of
them, and the table holds at most `max_peers` in total. Kademlia prefers old peers: a full
bucket takes a new peer only in place of one that failed to answer (long-lived peers are the
likeliest to stay). Only peers that answered as DHT servers belong here (the adapter adds a peer
after it answered a query, or when identify shows it serves our protocol).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...config import DHT_LIMITS
from .keys import KEY_BITS, common_prefix_len, distance, peer_kad


@dataclass(slots=True)
class _Entry:
    kad: bytes
    added: float
    last_useful: float
    failures: int = 0


class RoutingTable:
    def __init__(self, local_peer: str, *, k: int = DHT_LIMITS.k,
                 max_peers: int = DHT_LIMITS.max_table_peers) -> None:
        self.local_peer = local_peer
        self.local = peer_kad(local_peer)
        self.k = k
        self.max_peers = max_peers
        self._buckets: list[dict[str, _Entry]] = [{} for _ in range(KEY_BITS + 1)]
        self._size = 0
        self._refreshed: dict[int, float] = {}

    def __len__(self) -> int:
        return self._size

    def __contains__(self, peer: str) -> bool:
        return peer in self._buckets[self._cpl(peer)]

    def _cpl(self, peer: str) -> int:
        return common_prefix_len(peer_kad(peer), self.local)

    def add(self, peer: str, now: float) -> bool:
        """Add (or refresh) a peer that just proved useful; False if there is no room for it."""
        if peer == self.local_peer:
            return False
        cpl = self._cpl(peer)
        bucket = self._buckets[cpl]
        entry = bucket.get(peer)
        if entry is not None:
            entry.last_useful = now
            entry.failures = 0
            return True
        if len(bucket) >= self.k or self._size >= self.max_peers:
            # replace the worst peer that failed us, if any; otherwise keep the old ones
            victims = [p for p, e in bucket.items() if e.failures > 0]
            if not victims:
                return False
            victim = max(victims, key=lambda p: (bucket[p].failures, -bucket[p].last_useful))
            del bucket[victim]
            self._size -= 1
        bucket[peer] = _Entry(peer_kad(peer), now, now)
        self._size += 1
        return True

    def remove(self, peer: str) -> bool:
        bucket = self._buckets[self._cpl(peer)]
        if bucket.pop(peer, None) is None:
            return False
        self._size -= 1
        return True

    def failed(self, peer: str) -> None:
        """The peer did not answer: it becomes replaceable (removed after 3 failures)."""
        bucket = self._buckets[self._cpl(peer)]
        entry = bucket.get(peer)
        if entry is None:
            return
        entry.failures += 1
        if entry.failures >= 3:
            self.remove(peer)

    def peers(self) -> list[str]:
        return [p for b in self._buckets for p in b]

    def closest(self, target: bytes, n: int, *, exclude: frozenset[str] | set[str] = frozenset()
                ) -> list[str]:
        """The `n` peers nearest to kad ID `target` (nearest first)."""
        t = int.from_bytes(target, "big")
        ranked = sorted((int.from_bytes(e.kad, "big") ^ t, p)
                        for b in self._buckets for p, e in b.items() if p not in exclude)
        return [p for _, p in ranked[:n]]

    def buckets(self) -> list[tuple[int, list[tuple[str, float]]]]:
        """Non-empty buckets as (common prefix length, [(peer, last useful)]), for `stats dht`."""
        return [(i, [(p, e.last_useful) for p, e in b.items()])
                for i, b in enumerate(self._buckets) if b]

    # ------------------------------------------------------------------ refresh

    def mark_refreshed(self, cpl: int, now: float) -> None:
        self._refreshed[cpl] = now

    def stale_buckets(self, now: float, interval_s: float) -> list[int]:
        """Prefix lengths (0..15, up to the deepest non-empty bucket) not looked up recently."""
        deepest = max((i for i, b in enumerate(self._buckets) if b), default=0)
        return [c for c in range(min(deepest, 15) + 1)
                if now - self._refreshed.get(c, float("-inf")) >= interval_s]

    def distance_to(self, peer: str, target: bytes) -> int:
        return distance(peer_kad(peer), target)
