"""Bitswap server core: decides what to send to whom. Pure: no sockets, no clock, no trio.

    engine = Engine(store)                         # a SYNC Blockstore (has/size/get)
    engine.peer_connected("QmPeer")
    engine.receive_message("QmPeer", message.decode(frame))
    while (env := engine.next_envelope()) is not None:
        peer, msg = env                            # the adapter encodes and sends msg to peer
    engine.notify_new_blocks([cid])                # blocks just stored: serve waiting wants

Behaviour (what Kubo/Helia expect):
- want-block for a block we have → the block; want-have → HAVE, or the block itself when it is
  at most `max_block_size_replace_has_with_block` bytes (saves a round trip, as Kubo does).
- a block we do not have → DONT_HAVE if the peer asked for it (sendDontHave); the want is kept
  and served when the block arrives (`notify_new_blocks`).
- cancel removes the want and any queued answer; `full` wantlists replace the previous one.
- peers are served round-robin, one message (≤ `target_message_bytes`) per turn.
- every peer's wants are bounded (`max_wants_per_peer`); extra wants are dropped and counted.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Container, Iterable
from typing import Protocol

from ..config import BITSWAP_LIMITS, BitswapLimits
from ..errors import CodecError, InvalidInput, NotFound
from ..ipld.cid import CID
from .ledger import SEND_BLOCK, SEND_DONT_HAVE, SEND_HAVE, Ledger
from .message import DONT_HAVE, HAVE, WANT_BLOCK, WANT_HAVE, Message
from .wantlist import Want

logger = logging.getLogger(__name__)


class BlockReader(Protocol):
    def has(self, cid: CID) -> bool: ...
    def size(self, cid: CID) -> int: ...
    def get(self, cid: CID) -> bytes: ...


def _mh_key(cid: bytes) -> bytes:
    """Index wants by multihash so a CIDv0 want is served by a block stored under CIDv1."""
    if len(cid) == 34 and cid[0] == 0x12:
        return cid
    return CID.from_bytes(cid).multihash


class Engine:
    def __init__(self, store: BlockReader, *, limits: BitswapLimits = BITSWAP_LIMITS) -> None:
        self.store = store
        self.limits = limits
        self._ledgers: dict[str, Ledger] = {}
        self._ready: deque[str] = deque()  # round-robin order of peers with tasks
        self._in_ready: set[str] = set()
        self._waiting: dict[bytes, set[str]] = {}  # multihash -> peers waiting for that block

    # ------------------------------------------------------------------ peers

    def peer_connected(self, peer: str) -> None:
        if peer not in self._ledgers:
            self._ledgers[peer] = Ledger.create(peer, max_wants=self.limits.max_wants_per_peer)

    def peer_disconnected(self, peer: str) -> None:
        ledger = self._ledgers.pop(peer, None)
        if ledger is None:
            return
        for want in ledger.wants:
            self._unwait(want.cid, peer)
        self._in_ready.discard(peer)
        # left in _ready; skipped lazily by next_envelope

    def ledger(self, peer: str) -> Ledger:
        """The peer's ledger; raises NotFound for an unknown peer."""
        try:
            return self._ledgers[peer]
        except KeyError:
            raise NotFound(f"no bitswap ledger for peer {peer}") from None

    def peers(self) -> list[str]:
        return list(self._ledgers)

    def penalise(self, peer: str, points: int, reason: str) -> bool:
        """Add misbehaviour points; True once the peer should be disconnected."""
        ledger = self._ledgers.get(peer)
        if ledger is None:
            return False
        ledger.penalty += points
        logger.warning("bitswap: peer %s penalised %d (%s), score %d", peer, points, reason, ledger.penalty)
        return ledger.penalty >= self.limits.penalty_disconnect_threshold

    def wants_of(self, peer: str) -> list[bytes]:
        return [w.cid for w in self.ledger(peer).wants]

    # ------------------------------------------------------------------ input

    def receive_message(self, peer: str, msg: Message) -> None:
        """Record a peer's wantlist changes. Invalid CIDs are skipped and penalised."""
        self.peer_connected(peer)
        ledger = self._ledgers[peer]
        ledger.messages_received += 1
        for _, data in msg.blocks:
            ledger.bytes_received += len(data)
        if msg.full:
            for want in ledger.wants:
                self._unwait(want.cid, peer)
            ledger.wants.clear()
            ledger.tasks.clear()
        bad = 0
        for e in msg.wants:
            if e.cancel:
                self._unwait(e.cid, peer)
                ledger.cancel(e.cid)
                continue
            try:
                cid = CID.from_bytes(e.cid)
            except (CodecError, InvalidInput):
                bad += 1
                continue
            want = Want(e.cid, e.want_type, e.send_dont_have, e.priority)
            if not ledger.wants.add(want):
                ledger.dropped_wants += 1
                continue
            if self.store.has(cid):
                self._queue_answer(ledger, e.cid, cid, want.want_type)
            else:
                if e.send_dont_have:
                    ledger.queue(e.cid, SEND_DONT_HAVE)
                self._waiting.setdefault(cid.multihash, set()).add(peer)
        if ledger.dropped_wants:
            logger.info("bitswap: peer %s over %d wants; %d dropped", peer,
                        self.limits.max_wants_per_peer, ledger.dropped_wants)
        if bad:
            self.penalise(peer, self.limits.penalty_bad_message, f"{bad} invalid CIDs in wantlist")
        self._mark_ready(ledger)

    def notify_new_blocks(self, cids: Iterable[CID]) -> None:
        """Blocks were just added to the store: answer every peer that was waiting for them."""
        for cid in cids:
            peers = self._waiting.pop(cid.multihash, None)
            if not peers:
                continue
            for peer in peers:
                ledger = self._ledgers.get(peer)
                if ledger is None:
                    continue
                for want in ledger.wants:  # find the peer's spelling of this CID
                    if want.cid == cid.buffer or _mh_key(want.cid) == cid.multihash:
                        self._queue_answer(ledger, want.cid, cid, want.want_type)
                        break
                self._mark_ready(ledger)

    def _queue_answer(self, ledger: Ledger, raw: bytes, cid: CID, want_type: int) -> None:
        if want_type == WANT_BLOCK:
            ledger.queue(raw, SEND_BLOCK)
            return
        try:
            small = self.store.size(cid) <= self.limits.max_block_size_replace_has_with_block
        except NotFound:
            small = False
        ledger.queue(raw, SEND_BLOCK if small else SEND_HAVE)

    def _unwait(self, raw: bytes, peer: str) -> None:
        try:
            key = _mh_key(raw)
        except (CodecError, InvalidInput):
            return
        peers = self._waiting.get(key)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self._waiting[key]

    def _mark_ready(self, ledger: Ledger) -> None:
        if ledger.tasks and ledger.peer not in self._in_ready:
            self._in_ready.add(ledger.peer)
            self._ready.append(ledger.peer)

    # ------------------------------------------------------------------ output

    def has_work(self) -> bool:
        return bool(self._in_ready)

    def next_envelope(self, ready: Container[str] | None = None) -> tuple[str, Message] | None:
        """The next message to send, round-robin over peers with queued answers.

        Args:
            ready: if given, only peers in it are considered (the adapter passes the peers whose
                sender is idle, so a slow peer does not hold up the others).

        Returns (peer, message), or None when nothing can be sent now.
        """
        for _ in range(len(self._ready)):
            peer = self._ready.popleft()
            ledger = self._ledgers.get(peer)
            if ledger is None or not ledger.tasks:
                self._in_ready.discard(peer)
                continue
            if ready is not None and peer not in ready:
                self._ready.append(peer)
                continue
            msg = self._build(ledger)
            if ledger.tasks:
                self._ready.append(peer)
            else:
                self._in_ready.discard(peer)
            if not msg.is_empty():
                return peer, msg
        return None

    def _build(self, ledger: Ledger) -> Message:
        msg = Message()
        size = 0
        target = self.limits.target_message_bytes
        while ledger.tasks and size < target:
            task = next(iter(ledger.tasks.values()))  # peek: a block that does not fit stays first
            if task.kind != SEND_BLOCK:
                ledger.pop_task()
                msg.presences.append((task.cid, HAVE if task.kind == SEND_HAVE else DONT_HAVE))
                size += len(task.cid) + 4
                if task.kind == SEND_HAVE:
                    ledger.wants.discard(task.cid)
                continue
            cid = CID.from_bytes(task.cid)
            try:
                if size and size + self.store.size(cid) > target:
                    break
                data = self.store.get(cid)
            except NotFound:  # deleted since the want arrived
                ledger.pop_task()
                if task.cid in ledger.wants and ledger.wants.get(task.cid).send_dont_have:
                    msg.presences.append((task.cid, DONT_HAVE))
                continue
            ledger.pop_task()
            msg.blocks.append((task.cid, data))
            size += len(data) + len(task.cid) + 8
            ledger.wants.discard(task.cid)
            ledger.bytes_sent += len(data)
            ledger.blocks_sent += 1
        return msg


__all__ = ["Engine", "BlockReader", "WANT_BLOCK", "WANT_HAVE"]
