"""Provider records: who announced that they hold a key (a CID's multihash). Pure.

Compact by design, so a million records fit well under 200 MB (bench/bench_dht.py measures it):
peers are interned once (an index in a list), and a key maps to ONE Python int when it has one
provider — `peer_index << 32 | expiry` — or to an `array('Q')` of such ints when it has several.
Expiry is kept as whole seconds since the store's epoch (the first `now` it was handed).

Bounds (config.DhtLimits): providers per key, records in total, and records per providing peer
(one peer cannot fill the store and push everyone else's records out). A refused record is not
an error for the sender: ADD_PROVIDER has no answer, the record is simply not kept.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from ...config import DHT_LIMITS

_MASK = 0xFFFFFFFF


class ProviderStore:
    def __init__(self, *, ttl_s: float = DHT_LIMITS.provider_ttl_s,
                 max_per_key: int = DHT_LIMITS.max_providers_per_key,
                 max_records: int = DHT_LIMITS.max_provider_records,
                 max_per_peer: int = DHT_LIMITS.max_provider_records_per_peer) -> None:
        self.ttl_s = ttl_s
        self.max_per_key = max_per_key
        self.max_records = max_records
        self.max_per_peer = max_per_peer
        self._epoch: float | None = None
        self._keys: dict[bytes, int | array] = {}
        self._peers: list[str | None] = []
        self._peer_idx: dict[str, int] = {}
        self._counts: list[int] = []
        self._free: list[int] = []
        self._records = 0
        self.refused = 0

    def __len__(self) -> int:
        """Number of (key, provider) records held (expired ones until the next `expire`)."""
        return self._records

    def key_count(self) -> int:
        return len(self._keys)

    def _secs(self, now: float) -> int:
        if self._epoch is None:
            self._epoch = now
        return max(0, int(now - self._epoch))

    def _intern(self, peer: str) -> int:
        idx = self._peer_idx.get(peer)
        if idx is None:
            if self._free:
                idx = self._free.pop()
                self._peers[idx] = peer
                self._counts[idx] = 0
            else:
                idx = len(self._peers)
                self._peers.append(peer)
                self._counts.append(0)
            self._peer_idx[peer] = idx
        return idx

    def _release(self, idx: int, n: int = 1) -> None:
        self._counts[idx] -= n
        self._records -= n
        if self._counts[idx] <= 0:
            peer = self._peers[idx]
            if peer is not None:
                del self._peer_idx[peer]
            self._peers[idx] = None
            self._free.append(idx)

    def add(self, key: bytes, peer: str, now: float, *, ttl_s: float | None = None) -> bool:
        """Record (or renew) `peer` as a provider of `key`; False if a limit refused it."""
        exp = self._secs(now) + int(self.ttl_s if ttl_s is None else ttl_s)
        if exp > _MASK:
            exp = _MASK
        known = self._peer_idx.get(peer)
        cur = self._keys.get(key)
        # renewal of an existing record: no limit applies
        if known is not None and cur is not None:
            if isinstance(cur, int):
                if cur >> 32 == known:
                    self._keys[key] = known << 32 | exp
                    return True
            else:
                for i, v in enumerate(cur):
                    if v >> 32 == known:
                        cur[i] = known << 32 | exp
                        return True
        if self._records >= self.max_records:
            self.refused += 1
            return False
        if known is not None and self._counts[known] >= self.max_per_peer:
            self.refused += 1
            return False
        if cur is not None and (1 if isinstance(cur, int) else len(cur)) >= self.max_per_key:
            self.refused += 1
            return False
        idx = self._intern(peer)
        entry = idx << 32 | exp
        if cur is None:
            self._keys[key] = entry
        elif isinstance(cur, int):
            self._keys[key] = array("Q", (cur, entry))
        else:
            cur.append(entry)
        self._counts[idx] += 1
        self._records += 1
        return True

    def get(self, key: bytes, now: float, *, limit: int = DHT_LIMITS.max_providers_per_answer
            ) -> list[str]:
        """Unexpired providers of `key`, most recently renewed first, at most `limit`."""
        cur = self._keys.get(key)
        if cur is None:
            return []
        t = self._secs(now)
        entries = [cur] if isinstance(cur, int) else list(cur)
        live = sorted((v for v in entries if v & _MASK > t), key=lambda v: -(v & _MASK))
        out = []
        for v in live[:limit]:
            peer = self._peers[v >> 32]
            if peer is not None:
                out.append(peer)
        return out

    def expire(self, now: float) -> int:
        """Drop every expired record; returns how many (a full pass: run it now and then)."""
        return sum(self.expire_steps(now, chunk=1 << 62))

    def expire_steps(self, now: float, *, chunk: int = 10_000) -> Iterator[int]:
        """`expire` in steps of `chunk` keys, yielding the records dropped by each step, so an
        event loop can run between steps (a million records take about a second)."""
        t = self._secs(now)
        dropped = 0
        for n, key in enumerate(list(self._keys), 1):
            if n % chunk == 0:
                yield dropped
                dropped = 0
            cur = self._keys.get(key)
            if cur is None:
                continue
            if isinstance(cur, int):
                if cur & _MASK <= t:
                    del self._keys[key]
                    self._release(cur >> 32)
                    dropped += 1
                continue
            keep = array("Q", (v for v in cur if v & _MASK > t))
            for v in cur:
                if v & _MASK <= t:
                    self._release(v >> 32)
                    dropped += 1
            if not keep:
                del self._keys[key]
            elif len(keep) == 1:
                self._keys[key] = keep[0]
            elif len(keep) != len(cur):
                self._keys[key] = keep
        yield dropped

    def records_of(self, peer: str) -> int:
        idx = self._peer_idx.get(peer)
        return 0 if idx is None else self._counts[idx]

    def keys(self) -> Iterator[bytes]:
        return iter(self._keys)
