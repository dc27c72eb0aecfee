"""A bounded wantlist: insertion-ordered wants keyed by binary CID. Pure data structure.

Used by the server for each peer's wants (`ledger.py`). Ordering is first-come first-served,
with priority as a tie-breaker only inside `sorted_entries` (Kubo and Helia send decreasing
priorities in request order, so FIFO is what they expect anyway).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .message import WANT_BLOCK


@dataclass(slots=True)
class Want:
    cid: bytes
    want_type: int = WANT_BLOCK
    send_dont_have: bool = False
    priority: int = 1


class Wantlist:
    """At most `max_entries` wants; `add` returns False when full (the caller decides what to do)."""

    def __init__(self, *, max_entries: int) -> None:
        self.max_entries = max_entries
        self._wants: dict[bytes, Want] = {}

    def add(self, want: Want) -> bool:
        """Add or update a want. A want-block never degrades to want-have (boxo's rule)."""
        old = self._wants.get(want.cid)
        if old is not None:
            if old.want_type == WANT_BLOCK:
                want.want_type = WANT_BLOCK
            self._wants[want.cid] = want
            return True
        if len(self._wants) >= self.max_entries:
            return False
        self._wants[want.cid] = want
        return True

    def discard(self, cid: bytes) -> bool:
        """Remove the want; False if it was not there (a cancel may race a send)."""
        return self._wants.pop(cid, None) is not None

    def get(self, cid: bytes) -> Want:
        """The want for `cid`; raises KeyError if absent."""
        return self._wants[cid]

    def clear(self) -> None:
        self._wants.clear()

    def __contains__(self, cid: object) -> bool:
        return cid in self._wants

    def __len__(self) -> int:
        return len(self._wants)

    def __iter__(self) -> Iterator[Want]:
        return iter(list(self._wants.values()))

    def sorted_entries(self) -> list[Want]:
        """Highest priority first; FIFO among equal priorities."""
        return sorted(self._wants.values(), key=lambda w: -w.priority)
