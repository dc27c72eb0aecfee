"""Per-peer server state: what a peer wants from us, what we owe it, how it has behaved. Pure.

A `Ledger` holds the peer's wantlist (bounded), the queue of answers that are ready to send
(`tasks`, in arrival order) and counters. The engine owns one ledger per connected peer and drops
it on disconnect, so memory per peer is bounded by `max_wants_per_peer` entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .wantlist import Wantlist

# Task kinds: what we will answer for a CID.
SEND_BLOCK = 0
SEND_HAVE = 1
SEND_DONT_HAVE = 2


@dataclass(slots=True)
class Task:
    cid: bytes  # as the peer spelled it (CIDv0 or v1): answers must use the same bytes
    kind: int


@dataclass
class Ledger:
    peer: str
    wants: Wantlist
    # Ordered queue of answers; keyed by CID so a cancel or a newer want replaces the old task.
    tasks: dict[bytes, Task] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    blocks_sent: int = 0
    messages_received: int = 0
    penalty: int = 0
    dropped_wants: int = 0

    @classmethod
    def create(cls, peer: str, *, max_wants: int) -> Ledger:
        return cls(peer=peer, wants=Wantlist(max_entries=max_wants))

    def queue(self, cid: bytes, kind: int) -> None:
        self.tasks.pop(cid, None)
        self.tasks[cid] = Task(cid, kind)

    def cancel(self, cid: bytes) -> None:
        self.wants.discard(cid)
        self.tasks.pop(cid, None)

    def pop_task(self) -> Task:
        """The oldest ready task; raises KeyError if there is none."""
        if not self.tasks:
            raise KeyError("no ready task")
        cid = next(iter(self.tasks))
        return self.tasks.pop(cid)

    def has_tasks(self) -> bool:
        return bool(self.tasks)
