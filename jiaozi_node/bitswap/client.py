"""Bitswap client core: which wants go to which peer, and which received blocks we accept. Pure.

    client = Client()
    client.add_peer("QmA", now)
    client.want([cid_bytes, ...], now)             # queued; at most session_max_in_flight asked at once
    for peer, msg in client.outgoing(): ...        # the adapter sends these
    blocks = client.receive_message("QmA", msg, now)   # [VerifiedBlock] wanted AND hash-matched
    client.tick(now)                                # at client.next_deadline(): stalls, rebroadcast

Strategy (after boxo's session, simplified):
- a want goes as want-block (sendDontHave) to ONE peer: the least-loaded peer that said HAVE for
  it, else the least-loaded peer that has delivered anything, else any peer — and then also as
  want-have to up to `want_have_fanout` other peers so that we learn who else has it;
- DONT_HAVE, a disconnect or a stall (`peer_stall_timeout_s` of silence with wants in flight)
  moves the want to another peer; a want no one has is parked and re-broadcast every
  `rebroadcast_interval_s`;
- a received block's CID is computed by hashing its bytes with the prefix's hash (`block_cid`):
  it is accepted only if that CID is wanted. Anything else (never asked for, or bytes that do not
  hash to what we asked) is dropped and the peer penalised; late duplicates of blocks we just
  received are dropped silently;
- once a block arrives, every other peer we asked gets a cancel.

Sessions (boxo's session peer manager, Helia's session): `want(cids, now, session=id)` tags
wants with a session (one per retrieval). The peers that deliver a session's blocks become its
preferred peers; its next wants go as want-block to the least-loaded preferred peer (after a
peer that said HAVE for that CID) and to no one else. Other peers get want-have only once the
want is `session_broadcast_delay_s` old and the session has received no block for that long
(boxo's idle tick: a busy preferred peer with a deep queue is not silent), or at once when every
preferred peer said DONT_HAVE (then the want is assigned as without a session). A CID wanted by two sessions
at once belongs to the first. Sessions are forgotten least recently used first (`max_sessions`).

Priorities: `want(..., order=n)` (a DAG fetch naming each want's place in reading order,
bitswap/session.py) gets priority MAX - n, so a server that sends higher priorities first
delivers a file in reading order however the fetching tasks were scheduled; other wants get
decreasing priorities in the order they are made.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..config import BITSWAP_LIMITS, BitswapLimits
from ..errors import RemoteProtocolError
from ..ipld.block import VerifiedBlock
from .message import DONT_HAVE, HAVE, WANT_BLOCK, WANT_HAVE, Entry, Message, received_block

logger = logging.getLogger(__name__)

_MAX_PRIORITY = 2**31 - 1  # int32, as the wire field


@dataclass(slots=True)
class _Want:
    cid: bytes
    block_peer: str | None = None
    have_sent: set[str] = field(default_factory=set)
    dont_have: set[str] = field(default_factory=set)
    haves: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)  # every peer holding a want from us: cancel them
    priority: int = 1
    session: int | None = None
    broadcast_at: float | None = None  # want-have to non-preferred peers then (session wants)


@dataclass(slots=True)
class _Peer:
    in_flight: set[bytes] = field(default_factory=set)
    delivered: int = 0
    last_heard: float = 0.0
    penalty: int = 0


class Client:
    def __init__(self, *, limits: BitswapLimits = BITSWAP_LIMITS) -> None:
        self.limits = limits
        self._peers: dict[str, _Peer] = {}
        self._wants: dict[bytes, _Want] = {}  # asked (or parked) wants
        self._queue: deque[bytes] = deque()  # wanted but not yet asked (window full)
        self._queued: dict[bytes, tuple[int | None, int | None]] = {}  # CID -> (session, order)
        # session -> its preferred peers (those that delivered its blocks), least recent first
        self._sessions: OrderedDict[int, dict[str, None]] = OrderedDict()
        self._session_last_block: dict[int, float] = {}  # session -> when it last got a block
        self._outbox: dict[str, Message] = {}
        self._recent: OrderedDict[bytes, None] = OrderedDict()
        self._last_rebroadcast = 0.0
        # Decreasing priorities in request order, as Kubo's and Helia's sessions send them: a
        # server that orders by priority (Kubo's peertaskqueue) then sends blocks in the order we
        # asked, so a file streamed while its DAG is fetched finds its next block first, instead
        # of waiting for the last of ~250 equal-priority wants.
        self._next_priority = _MAX_PRIORITY
        self.to_disconnect: set[str] = set()
        self.stats = {"blocks": 0, "bytes": 0, "unwanted": 0, "duplicates": 0}

    # ------------------------------------------------------------------ peers

    def add_peer(self, peer: str, now: float) -> None:
        if peer in self._peers:
            return
        self._peers[peer] = _Peer(last_heard=now)
        for w in self._wants.values():  # a new peer may have what no one else had
            if w.block_peer is None:
                self._assign(w, now)

    def remove_peer(self, peer: str, now: float) -> None:
        ps = self._peers.pop(peer, None)
        self._outbox.pop(peer, None)
        self.to_disconnect.discard(peer)
        if ps is None:
            return
        for w in self._wants.values():
            w.have_sent.discard(peer)
            w.haves.discard(peer)
            w.dont_have.discard(peer)
            w.asked.discard(peer)
        for served in self._sessions.values():
            served.pop(peer, None)
        for cid in ps.in_flight:
            w = self._wants.get(cid)
            if w is not None and w.block_peer == peer:
                w.block_peer = None
                self._assign(w, now)

    def peers(self) -> list[str]:
        return list(self._peers)

    def penalty(self, peer: str) -> int:
        ps = self._peers.get(peer)
        return ps.penalty if ps else 0

    def penalise(self, peer: str, points: int, reason: str) -> None:
        ps = self._peers.get(peer)
        if ps is None:
            return
        ps.penalty += points
        logger.warning("bitswap: peer %s penalised %d (%s), score %d", peer, points, reason, ps.penalty)
        if ps.penalty >= self.limits.penalty_disconnect_threshold:
            self.to_disconnect.add(peer)

    # ------------------------------------------------------------------ wants

    def want(self, cids: Iterable[bytes], now: float, *, session: int | None = None,
             order: int | None = None) -> None:
        """Ask for `cids` (tagged with `session`); `order`: their place in reading order (the
        first CID's; the others follow it), which sets their priority."""
        if session is not None:
            self._session(session)
        for i, cid in enumerate(cids):
            if cid in self._wants or cid in self._queued:
                continue
            self._queue.append(cid)
            self._queued[cid] = (session, None if order is None else order + i)
        self._pump(now)

    def _session(self, session: int) -> dict[str, None]:
        served = self._sessions.get(session)
        if served is None:
            served = self._sessions[session] = {}
            while len(self._sessions) > self.limits.max_sessions:
                old, _ = self._sessions.popitem(last=False)
                self._session_last_block.pop(old, None)
        else:
            self._sessions.move_to_end(session)
        return served

    def session_peers(self, session: int) -> list[str]:
        """The session's preferred peers: those that delivered its blocks, first first."""
        return list(self._sessions.get(session, ()))

    def cancel(self, cids: Iterable[bytes], now: float) -> None:
        """The caller gave up on these CIDs: forget them and tell the peers we asked."""
        for cid in cids:
            if cid in self._queued:
                del self._queued[cid]
                self._queue.remove(cid)
            w = self._wants.pop(cid, None)
            if w is not None:
                self._send_cancels(w, except_peer=None)
        self._pump(now)

    def is_wanted(self, cid: bytes) -> bool:
        return cid in self._wants or cid in self._queued

    @property
    def pending(self) -> int:
        return len(self._wants) + len(self._queue)

    def _pump(self, now: float) -> None:
        window = self.limits.session_max_in_flight
        while self._queue and len(self._wants) < window:
            cid = self._queue.popleft()
            session, order = self._queued.pop(cid)
            if order is not None:
                priority = max(1, _MAX_PRIORITY - order)
            else:
                priority = self._next_priority
                self._next_priority = self._next_priority - 1 if self._next_priority > 1 else _MAX_PRIORITY
            w = _Want(cid, priority=priority, session=session)
            self._wants[cid] = w
            self._assign(w, now)

    def _entry(self, peer: str, entry: Entry) -> None:
        msg = self._outbox.get(peer)
        if msg is None:
            msg = self._outbox[peer] = Message()
        msg.wants.append(entry)

    def _assign(self, w: _Want, now: float) -> None:
        """Send want-block to the best candidate (and want-have to a few others)."""
        candidates = [p for p in self._peers if p not in w.dont_have]
        if not candidates:
            w.block_peer = None  # parked until a peer joins or the next rebroadcast
            return
        peers = self._peers
        served = self._sessions.get(w.session) if w.session is not None else None
        preferred = [p for p in candidates if p in served] if served else []
        good = ([p for p in candidates if p in w.haves] or preferred
                or [p for p in candidates if peers[p].delivered])
        pool = good or candidates
        target = min(pool, key=lambda p: len(peers[p].in_flight))
        if not peers[target].in_flight:
            peers[target].last_heard = now  # the stall clock starts with the first want in flight
        w.block_peer = target
        w.asked.add(target)
        peers[target].in_flight.add(w.cid)
        self._entry(target, Entry(w.cid, w.priority, False, WANT_BLOCK, True))
        if preferred and len(preferred) < len(candidates):
            # the session's peers first; the others hear of it only if they stay silent
            if w.broadcast_at is None:
                w.broadcast_at = now + self.limits.session_broadcast_delay_s
        elif not good or (served and not preferred):
            # no one known to have it, or every preferred peer said DONT_HAVE: ask around now
            w.broadcast_at = None
            self._fan_out(w, candidates, target)

    def _fan_out(self, w: _Want, candidates: list[str], target: str | None) -> None:
        fan = 0
        for p in candidates:
            if fan >= self.limits.want_have_fanout:
                break
            if p != target and p not in w.have_sent:
                w.have_sent.add(p)
                w.asked.add(p)
                self._entry(p, Entry(w.cid, w.priority, False, WANT_HAVE, True))
                fan += 1

    def _send_cancels(self, w: _Want, except_peer: str | None) -> None:
        asked = w.asked
        if w.block_peer is not None:
            ps = self._peers.get(w.block_peer)
            if ps is not None:
                ps.in_flight.discard(w.cid)
        asked.discard(except_peer)  # type: ignore[arg-type]
        for p in asked:
            if p in self._peers:
                self._entry(p, Entry(w.cid, 0, True))

    # ------------------------------------------------------------------ input

    def receive_message(self, peer: str, msg: Message, now: float) -> list[VerifiedBlock]:
        """Apply a peer's message; returns the blocks accepted (their CIDs computed by hashing)."""
        self.add_peer(peer, now)
        ps = self._peers[peer]
        ps.last_heard = now
        accepted: list[VerifiedBlock] = []
        for prefix, data in msg.blocks:
            try:
                block = received_block(prefix, data)
                cid = block.cid_bytes
            except RemoteProtocolError as exc:
                self.stats["unwanted"] += 1
                self.penalise(peer, self.limits.penalty_unwanted_block, str(exc))
                continue
            w = self._wants.pop(cid, None)
            if w is None:
                if cid in self._recent:
                    self.stats["duplicates"] += 1
                else:
                    self.stats["unwanted"] += 1
                    self.penalise(peer, self.limits.penalty_unwanted_block,
                                  "block not wanted (or bytes not matching any wanted CID)")
                continue
            if w.block_peer is not None and w.block_peer != peer:
                bp = self._peers.get(w.block_peer)
                if bp is not None:
                    bp.in_flight.discard(cid)
            ps.in_flight.discard(cid)
            w.have_sent.discard(peer)
            if w.block_peer == peer:
                w.block_peer = None
            self._send_cancels(w, except_peer=peer)
            self._remember(cid)
            ps.delivered += 1
            if w.session is not None:
                served = self._session(w.session)
                if peer not in served and len(served) < self.limits.session_max_peers:
                    served[peer] = None
                self._session_last_block[w.session] = now
            self.stats["blocks"] += 1
            self.stats["bytes"] += len(data)
            accepted.append(block)
        for cid, kind in msg.presences:
            w = self._wants.get(cid)
            if w is None:
                continue
            if kind == HAVE:
                w.haves.add(peer)
                w.dont_have.discard(peer)
                if w.block_peer is None:
                    self._assign(w, now)
            elif kind == DONT_HAVE:
                w.dont_have.add(peer)
                w.haves.discard(peer)
                w.have_sent.discard(peer)
                if w.block_peer == peer:
                    ps.in_flight.discard(cid)
                    w.block_peer = None
                    self._assign(w, now)
        self._pump(now)
        return accepted

    def _remember(self, cid: bytes) -> None:
        self._recent[cid] = None
        if len(self._recent) > self.limits.recent_received_cids:
            self._recent.popitem(last=False)

    # ------------------------------------------------------------------ time

    def tick(self, now: float) -> None:
        """Handle stalled peers and re-broadcast parked wants. Call at `next_deadline()`."""
        stall = self.limits.peer_stall_timeout_s
        for peer, ps in list(self._peers.items()):
            if ps.in_flight and now - ps.last_heard >= stall:
                others = [p for p in self._peers if p != peer]
                logger.info("bitswap: peer %s stalled with %d wants in flight", peer, len(ps.in_flight))
                ps.last_heard = now
                if not others:  # nobody else: ask again, in case a message was lost
                    for cid in ps.in_flight:
                        pw = self._wants.get(cid)
                        self._entry(peer, Entry(cid, pw.priority if pw else 1, False, WANT_BLOCK, True))
                    continue
                for cid in list(ps.in_flight):
                    w = self._wants.get(cid)
                    ps.in_flight.discard(cid)
                    if w is None:
                        continue
                    w.dont_have.add(peer)
                    w.block_peer = None
                    self._assign(w, now)
        for w in self._wants.values():
            if w.broadcast_at is not None and now >= w.broadcast_at:
                last = self._session_last_block.get(w.session, -1.0)  # type: ignore[arg-type]
                if last + self.limits.session_broadcast_delay_s > now:
                    # its peers are still delivering (a deep pipeline, not a silent peer)
                    w.broadcast_at = last + self.limits.session_broadcast_delay_s
                    continue
                w.broadcast_at = None  # the session got nothing for the delay: ask the others
                served = self._sessions.get(w.session, {})  # type: ignore[arg-type]
                others = [p for p in self._peers if p not in w.dont_have and p not in served]
                self._fan_out(w, others, w.block_peer)
        if now - self._last_rebroadcast >= self.limits.rebroadcast_interval_s:
            self._last_rebroadcast = now
            for w in self._wants.values():
                if w.block_peer is None:
                    w.dont_have.clear()
                    w.have_sent.clear()
                    self._assign(w, now)
        self._pump(now)

    def next_deadline(self) -> float | None:
        times = [ps.last_heard + self.limits.peer_stall_timeout_s
                 for ps in self._peers.values() if ps.in_flight]
        if any(w.block_peer is None for w in self._wants.values()):
            times.append(self._last_rebroadcast + self.limits.rebroadcast_interval_s)
        times.extend(w.broadcast_at for w in self._wants.values() if w.broadcast_at is not None)
        return min(times) if times else None

    # ------------------------------------------------------------------ output

    def outgoing(self) -> list[tuple[str, Message]]:
        """Messages to send now (wants and cancels), one per peer."""
        out = [(p, m) for p, m in self._outbox.items() if p in self._peers and not m.is_empty()]
        self._outbox = {}
        return out
