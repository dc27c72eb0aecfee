"""Placing many provider records with few lookups: a sweep over the keyspace. Pure.

A lookup for key `x` returns the true k closest peers to `x`; call `R` the distance from `x` to
the k-th of them. Every peer within `R` of `x` has then answered (or was tried). For another key
`y`, let `r` be the distance to its k-th closest among the peers that answered. XOR distance
obeys the triangle inequality (`a ^ c <= (a ^ b) + (b ^ c)`), so any peer `p` closer to `y` than
`r` satisfies `d(p, x) <= r + d(x, y)`; if `r + d(x, y) <= R`, every such peer was seen, and the
k closest among those that answered ARE `y`'s k closest. Keys are swept in keyspace order; a key
the current lookup does not cover starts the next lookup. With lookups that wait for the
`lookup_k = 2k` nearest (R is then the distance to the 2k-th), a lookup covers the keys of about
half a k-neighbourhood: n keys on N peers need about min(n, 2N / k) lookups instead of n, with
exactly the placement per-key lookups would give (boxo's "sweeping" provider rests on the same
idea).

    sw = Sweep(keys, k=20)
    while (key := sw.step()) is not None:
        lk = <lookup key until its sw.lookup_k nearest answered>
        sw.on_lookup(key, lk.answered())
    sw.assigned        # peer -> [keys to announce to it]
"""

from __future__ import annotations

from ...config import DHT_LIMITS
from .keys import kad_int, peer_kad


class Sweep:
    def __init__(self, keys: list[bytes], *, k: int = DHT_LIMITS.k) -> None:
        self.k = k
        self.lookup_k = 2 * k
        self._items = sorted((kad_int(key), key) for key in keys)
        self._i = 0
        self._cover: tuple[int, list[tuple[int, str]], int | None] | None = None
        self.assigned: dict[str, list[bytes]] = {}
        self.lookups = 0

    def step(self) -> bytes | None:
        """Assign keys while the last lookup covers them; the next key that needs a lookup of
        its own, or None once every key is assigned."""
        while self._i < len(self._items):
            y, key = self._items[self._i]
            dests = self._covered(y)
            if dests is None:
                return key
            for p in dests:
                self.assigned.setdefault(p, []).append(key)
            self._i += 1
        return None

    def on_lookup(self, key: bytes, answered: list[str]) -> None:
        """The peers that answered a lookup for `key` (which `step` returned)."""
        self.lookups += 1
        x = kad_int(key)
        peers = [(int.from_bytes(peer_kad(p), "big"), p) for p in dict.fromkeys(answered)]
        dists = sorted(pi ^ x for pi, _ in peers)
        # fewer than lookup_k answered: everyone the lookup could reach (R = unbounded)
        radius = dists[self.lookup_k - 1] if len(dists) >= self.lookup_k else None
        self._cover = (x, peers, radius)

    def _covered(self, y: int) -> list[str] | None:
        if self._cover is None:
            return None
        x, peers, radius = self._cover
        ranked = sorted((pi ^ y, p) for pi, p in peers)[: self.k]
        if radius is None:
            return [p for _, p in ranked]
        if len(ranked) < self.k or ranked[-1][0] + (x ^ y) > radius:
            return None
        return [p for _, p in ranked]
