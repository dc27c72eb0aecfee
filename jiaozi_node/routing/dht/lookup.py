"""The iterative Kademlia lookup as a state machine. Pure: the adapter sends the queries.

    lk = Lookup(target_kad, seeds=table.closest(target_kad, k), k=20, alpha=3)
    while not lk.finished:
        for peer in lk.next_queries(): start a query to peer
        on each answer:  lk.on_response(peer, closer_peers)   # or lk.on_failure(peer)

At most `alpha` queries are in flight; the nearest not-yet-queried candidate goes next. The
lookup ends when the `k` nearest candidates that did not fail have all answered (nothing nearer
can still be learned from them), when no candidate is left, when `stop()` was called (the caller
has what it wanted), or after `max_queries`.

Hops: the seeds (from our own table) are hop 1; a peer first learned from an answer of a hop-`h`
peer is hop `h + 1`. `hops` is the largest hop among the peers that answered — the number of
rounds a strictly round-by-round lookup would have needed; `queries` counts every query sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ...config import DHT_LIMITS
from .keys import peer_kad

NEW, WAITING, ANSWERED, FAILED = 0, 1, 2, 3


@dataclass(slots=True)
class _Cand:
    dist: int
    hop: int
    state: int = NEW


class Lookup:
    def __init__(self, target: bytes, seeds: Iterable[str], *, k: int = DHT_LIMITS.k,
                 alpha: int = DHT_LIMITS.alpha, max_queries: int = DHT_LIMITS.max_lookup_queries,
                 local_peer: str | None = None) -> None:
        self.target = target
        self._t = int.from_bytes(target, "big")
        self.k = k
        self.alpha = alpha
        self.max_queries = max_queries
        self.local_peer = local_peer
        self._cands: dict[str, _Cand] = {}
        self.in_flight = 0
        self.queries = 0
        self.hops = 0
        self.stopped = False
        for p in seeds:
            self._add(p, 1)

    def _add(self, peer: str, hop: int) -> None:
        if peer == self.local_peer:
            return
        c = self._cands.get(peer)
        if c is None:
            self._cands[peer] = _Cand(int.from_bytes(peer_kad(peer), "big") ^ self._t, hop)
        elif c.state == NEW and hop < c.hop:
            c.hop = hop

    def add_seeds(self, peers: Iterable[str]) -> None:
        for p in peers:
            self._add(p, 1)

    def _ranked(self) -> list[tuple[int, str]]:
        return sorted((c.dist, p) for p, c in self._cands.items() if c.state != FAILED)

    def next_queries(self) -> list[str]:
        """Peers to query now (marked in flight); empty while alpha queries are outstanding."""
        if self.finished:
            return []
        out: list[str] = []
        for _, p in self._ranked():
            if self.in_flight >= self.alpha or self.queries >= self.max_queries:
                break
            c = self._cands[p]
            if c.state == NEW:
                c.state = WAITING
                self.in_flight += 1
                self.queries += 1
                out.append(p)
        return out

    def on_response(self, peer: str, closer: Iterable[str]) -> None:
        c = self._cands.get(peer)
        if c is None or c.state != WAITING:
            return
        c.state = ANSWERED
        self.in_flight -= 1
        self.hops = max(self.hops, c.hop)
        for p in closer:
            self._add(p, c.hop + 1)

    def on_failure(self, peer: str) -> None:
        c = self._cands.get(peer)
        if c is None or c.state != WAITING:
            return
        c.state = FAILED
        self.in_flight -= 1

    def stop(self) -> None:
        self.stopped = True

    @property
    def finished(self) -> bool:
        if self.stopped:
            return True
        ranked = self._ranked()
        if all(self._cands[p].state == ANSWERED for _, p in ranked[: self.k]):
            return True  # the k nearest all answered (or there are no candidates at all)
        if self.queries >= self.max_queries and self.in_flight == 0:
            return True
        return self.in_flight == 0 and not any(self._cands[p].state == NEW for _, p in ranked)

    def closest(self, n: int | None = None) -> list[str]:
        """The nearest peers that answered, nearest first (default: k of them)."""
        n = self.k if n is None else n
        return [p for _, p in self._ranked() if self._cands[p].state == ANSWERED][:n]

    def answered(self) -> list[str]:
        return [p for p, c in self._cands.items() if c.state == ANSWERED]

    def hop_of(self, peer: str) -> int:
        return self._cands[peer].hop
