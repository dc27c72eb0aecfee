"""The bitswap trio service: the ONLY part of bitswap that does I/O.

    svc = BitswapService(host, node.blocks)
    await nursery.start(svc.run)
    block = await svc.fetch(cid)       # BlockSource: a VerifiedBlock some peer sent (its CID
                                       # computed from its bytes); the caller stores it, then calls
    svc.notify_new_blocks([cid])       # this, so peers waiting for it are served)

Wire behaviour (measured against Kubo 0.22 and Helia 7, see interop/README.md): inbound streams are read message after message until the peer closes
them (Kubo opens one per reply, newer Kubo and Helia reuse one); we never answer on an inbound
stream. To each connected peer WE open (lazily, re-opened once if it breaks) one stream for our
wants/cancels (one stream keeps them in order) and up to `outbound_streams_per_peer` streams for
blocks; messages are encoded for the protocol each stream negotiated.

Tasks (all in the nursery `run` owns): 1 + outbound_streams_per_peer writers per connected
peer, one dispatcher that pulls
envelopes from the engine round-robin for peers whose writer is idle, one ticker that drives the
client's stall/rebroadcast timers. Hostile input (malformed frames, over-limit messages, streams
beyond the per-peer limit) is refused with a log line and penalised; a peer over the threshold
is disconnected. Nothing received is stored here: `fetch` hands bytes to the retrieval path,
which verifies them in one place.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from ..config import BITSWAP_LIMITS, IPLD_LIMITS, BitswapLimits
from ..errors import JzfsError, LimitExceeded, RemoteProtocolError
from ..ipld.block import VerifiedBlock
from ..ipld.cid import CID
from ..ipld.framing import FrameDecoder, encode_frame
from . import message as bsmsg
from .client import Client
from .engine import BlockReader, Engine
from .session import current_session, current_want_order

if TYPE_CHECKING:
    from ..net.host import Host

logger = logging.getLogger(__name__)


@dataclass
class _Waiter:
    event: trio.Event = field(default_factory=trio.Event)
    block: VerifiedBlock | None = None
    count: int = 0


_Item = tuple[bsmsg.Message, bool]


@dataclass
class _PeerOut:
    ctrl: trio.MemorySendChannel[_Item]  # our wants/cancels: one stream, so they stay in order
    data: trio.MemorySendChannel[_Item]  # engine envelopes: shared by the data writers
    busy: int = 0  # engine envelopes handed to data writers and not yet written


class BitswapService:
    name = "bitswap"

    def __init__(self, host: Host, store: BlockReader, *, limits: BitswapLimits = BITSWAP_LIMITS,
                 max_cid_bytes: int = IPLD_LIMITS.max_cid_bytes) -> None:
        self.host = host
        self.limits = limits
        self.max_cid_bytes = max_cid_bytes  # IpldLimits.max_cid_bytes: CIDs in wants/presences
        self.engine = Engine(store, limits=limits)
        self.client = Client(limits=limits)
        self._waiters: dict[bytes, _Waiter] = {}
        self._out: dict[str, _PeerOut] = {}
        self._idle: set[str] = set()
        self._inbound: dict[str, int] = {}
        self._dispatch_wake = trio.Event()
        self._tick_wake = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.stats: dict[str, int] = {"messages_in": 0, "messages_out": 0, "bad_messages": 0,
                                      "refused_streams": 0, "streams_in": 0, "streams_out": 0}

    # ------------------------------------------------------------------ lifecycle

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self.host.set_stream_handler(list(bsmsg.PROTOCOLS), self._handle_stream)
            self.host.on_connected(self._peer_connected)
            self.host.on_disconnected(self._peer_disconnected)
            for peer in self.host.peers():
                self._peer_connected(peer)
            nursery.start_soon(self._dispatcher)
            nursery.start_soon(self._ticker)
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self.host.remove_stream_handler(list(bsmsg.PROTOCOLS))

    def _now(self) -> float:
        return trio.current_time()

    # ------------------------------------------------------------------ peers

    def _peer_connected(self, peer: str) -> None:
        if peer in self._out or self._nursery is None:
            return
        ctrl_send, ctrl_recv = trio.open_memory_channel[_Item](math.inf)
        data_send, data_recv = trio.open_memory_channel[_Item](math.inf)
        self._out[peer] = _PeerOut(ctrl_send, data_send)
        self._idle.add(peer)
        self.engine.peer_connected(peer)
        self._nursery.start_soon(self._writer, peer, ctrl_recv)
        with data_recv:
            for _ in range(max(1, self.limits.outbound_streams_per_peer)):
                self._nursery.start_soon(self._writer, peer, data_recv.clone())
        self.client.add_peer(peer, self._now())
        self._flush_client()

    def add_peer(self, peer: str) -> None:
        """Start exchanging with a peer we just connected to, without waiting for the host's
        connection notification (py-libp2p delivers it ~100 ms later). Idempotent."""
        self._peer_connected(peer)

    def _peer_disconnected(self, peer: str) -> None:
        out = self._out.pop(peer, None)
        if out is not None:
            out.ctrl.close()
            out.data.close()
        self._idle.discard(peer)
        self.engine.peer_disconnected(peer)
        self.client.remove_peer(peer, self._now())
        self._flush_client()

    def peers(self) -> list[str]:
        return list(self._out)

    # ------------------------------------------------------------------ BlockSource

    async def fetch(self, cid: CID) -> VerifiedBlock:
        """The block some peer sent for `cid`: the client computed its CID by hashing the bytes
        (`ipld.block.hash_block`), so Retrieval takes it without hashing it again.

        Waits until a peer delivers; the caller bounds the wait (`trio.fail_after`). Cancelling
        withdraws the want from every peer once no other caller waits for the same CID.
        """
        key = cid.buffer
        w = self._waiters.get(key)
        if w is None:
            w = self._waiters[key] = _Waiter()
            self.client.want([key], self._now(), session=current_session(), order=current_want_order())
            self._flush_client()
        w.count += 1
        try:
            await w.event.wait()
            if w.block is None:  # the event is set only with a block
                raise RemoteProtocolError(f"bitswap: no block for {cid}")
            return w.block
        finally:
            w.count -= 1
            if w.count == 0 and not w.event.is_set() and self._waiters.get(key) is w:
                del self._waiters[key]
                self.client.cancel([key], self._now())
                self._flush_client()

    def notify_new_blocks(self, cids: list[CID]) -> None:
        """Blocks just stored locally: serve peers that wanted them."""
        self.engine.notify_new_blocks(cids)
        self._dispatch_wake.set()

    # ------------------------------------------------------------------ inbound

    async def _handle_stream(self, stream: Any) -> None:
        peer = stream.remote_peer
        open_now = self._inbound.get(peer, 0)
        if open_now >= self.limits.max_inbound_streams_per_peer:
            self.stats["refused_streams"] += 1
            logger.warning("bitswap: refusing stream from %s: %d already open", peer, open_now)
            await stream.reset()
            return
        self._inbound[peer] = open_now + 1
        self.stats["streams_in"] += 1
        if peer not in self._out:
            self._peer_connected(peer)
        decoder = FrameDecoder(max_message_bytes=self.limits.max_message_bytes, what="bitswap")
        # Views of what arrived where the host offers them (Libp2pHost on our Yamux): each
        # message is then copied once, when its frame is cut out, not also joined per read.
        read_views = getattr(stream, "read_views", None)
        try:
            if read_views is not None:
                while views := await read_views():
                    for view in views:
                        for frame in decoder.feed(view, keep=True):
                            self._on_frame(peer, frame)
            else:
                while data := await stream.read():
                    for frame in decoder.feed(data):
                        self._on_frame(peer, frame)
        except (RemoteProtocolError, LimitExceeded) as exc:
            self.stats["bad_messages"] += 1
            logger.warning("bitswap: bad input from %s: %s", peer, exc)
            await stream.reset()
            self._penalise(peer, self.limits.penalty_bad_message, str(exc))
        except JzfsError as exc:  # stream reset / network error: the peer went away
            logger.debug("bitswap: stream from %s ended: %s", peer, exc)
        finally:
            n = self._inbound.get(peer, 1) - 1
            if n > 0:
                self._inbound[peer] = n
            else:
                self._inbound.pop(peer, None)

    def _on_frame(self, peer: str, frame: bytes) -> None:
        msg = bsmsg.decode(frame, max_message_bytes=self.limits.max_message_bytes,
                           max_block_bytes=self.limits.max_block_bytes,
                           max_entries=self.limits.max_wantlist_entries_per_message,
                           max_cid_bytes=self.max_cid_bytes)
        self.stats["messages_in"] += 1
        if msg.wants or msg.full:
            self.engine.receive_message(peer, msg)
            self._dispatch_wake.set()
        if msg.blocks or msg.presences:
            for block in self.client.receive_message(peer, msg, self._now()):
                w = self._waiters.pop(block.cid_bytes, None)
                if w is not None:
                    w.block = block
                    w.event.set()
            self._flush_client()
        self._check_penalty(peer)

    def _score(self, peer: str) -> int:
        """Misbehaviour points from both cores (bad wants count at the engine, bad blocks at
        the client, bad framing here)."""
        try:
            server = self.engine.ledger(peer).penalty
        except JzfsError:
            server = 0
        return server + self.client.penalty(peer)

    def _penalise(self, peer: str, points: int, reason: str) -> None:
        self.client.penalise(peer, points, reason)
        self._check_penalty(peer)

    def _check_penalty(self, peer: str) -> None:
        self.client.to_disconnect.discard(peer)
        if self._score(peer) >= self.limits.penalty_disconnect_threshold and peer in self._out:
            self._disconnect_soon(peer)

    def _disconnect_soon(self, peer: str) -> None:
        logger.warning("bitswap: disconnecting misbehaving peer %s", peer)
        if self._nursery is not None:
            self._nursery.start_soon(self._disconnect, peer)

    async def _disconnect(self, peer: str) -> None:
        try:
            await self.host.disconnect(peer)
        except JzfsError as exc:
            logger.debug("bitswap: disconnect %s: %s", peer, exc)
        self._peer_disconnected(peer)

    # ------------------------------------------------------------------ outbound

    def _send(self, peer: str, msg: bsmsg.Message, from_engine: bool) -> bool:
        """Queue a message for the peer's writer; False if the peer (or its writer) is gone."""
        out = self._out.get(peer)
        if out is None:
            return False
        try:
            (out.data if from_engine else out.ctrl).send_nowait((msg, from_engine))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False  # writer ended (disconnect or shutdown): nothing to deliver to
        if from_engine:
            out.busy += 1
            if out.busy >= max(1, self.limits.outbound_streams_per_peer):
                self._idle.discard(peer)
        return True

    def _flush_client(self) -> None:
        """Our wants/cancels go out from the ticker task, once per scheduling round: the wants
        of every fetch started in this round share one message (a 100 MiB fetch otherwise sends
        ~400 one-want messages, each a Noise frame and a syscall)."""
        self._tick_wake.set()

    async def _writer(self, peer: str, recv: trio.MemoryReceiveChannel[_Item]) -> None:
        """Owns one outbound stream to `peer` (opened on first use, re-opened once on error)."""
        stream = None
        try:
            async with recv:
                async for msg, from_engine in recv:
                    sent = False
                    for attempt in (1, 2):
                        try:
                            if stream is None:
                                stream = await self.host.new_stream(peer, list(bsmsg.PROTOCOLS))
                                self.stats["streams_out"] += 1
                            await stream.write(encode_frame(bsmsg.encode_bytearray(msg, protocol=stream.protocol)))
                            self.stats["messages_out"] += 1
                            sent = True
                            break
                        except JzfsError as exc:
                            logger.debug("bitswap: send to %s failed (attempt %d): %s", peer, attempt, exc)
                            if stream is not None:
                                await stream.reset()
                            stream = None
                    if not sent:
                        # No bitswap stream to this peer (gone, or it does not speak bitswap):
                        # stop exchanging with it, so our wants move to other peers now rather
                        # than after a stall. A bitswap stream it opens later brings it back.
                        logger.info("bitswap: cannot send to %s; dropping it from bitswap", peer)
                        self._peer_disconnected(peer)
                        return
                    out = self._out.get(peer)
                    if from_engine and out is not None:
                        out.busy -= 1
                        self._idle.add(peer)
                        self._dispatch_wake.set()
        finally:
            if stream is not None:
                with trio.CancelScope(shield=True):
                    await stream.close()

    async def _dispatcher(self) -> None:
        while True:
            env = self.engine.next_envelope(ready=self._idle)
            if env is None:
                await self._dispatch_wake.wait()
                self._dispatch_wake = trio.Event()
                continue
            peer, msg = env
            self._send(peer, msg, True)
            await trio.lowlevel.checkpoint()

    async def _ticker(self) -> None:
        while True:
            deadline = self.client.next_deadline()
            with trio.move_on_at(deadline if deadline is not None else math.inf):
                await self._tick_wake.wait()
            self._tick_wake = trio.Event()
            now = self._now()
            if deadline is not None and now >= deadline:
                self.client.tick(now)
            for peer, msg in self.client.outgoing():
                self._send(peer, msg, False)


async def start_online(online: Any) -> None:
    """Hook for `node.online()`: start bitswap over the node's blockstore."""
    defaults = online.node.defaults
    svc = BitswapService(online.host, online.node.blocks, limits=defaults.bitswap,
                         max_cid_bytes=defaults.ipld.max_cid_bytes)
    online.services["bitswap"] = svc
    await online.nursery.start(svc.run)
