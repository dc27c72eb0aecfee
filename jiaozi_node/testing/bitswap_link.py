"""A fake network joining bitswap cores in memory, for tests (h11's "fake link" idea).

    a, b = CoreNode("A", store_a), CoreNode("B", store_b)
    link = BitswapLink([a, b])
    link.connect("A", "B")
    a.client.want([cid.buffer], link.now)
    link.run_until_idle()
    assert a.store.has(cid)

Every message goes through the real wire path: `message.encode` for the link's protocol, framing,
`FrameDecoder`, `message.decode`. A node's accepted blocks are verified with `ipld.block.verify`,
stored and announced to its engine, as `bitswap.service` does. `now` is a virtual clock the test
advances with `advance()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..bitswap import message as bsmsg
from ..bitswap.client import Client
from ..bitswap.engine import Engine
from ..config import BITSWAP_LIMITS, BitswapLimits
from ..errors import LimitExceeded, RemoteProtocolError
from ..ipld.block import verify
from ..ipld.cid import CID
from ..ipld.framing import FrameDecoder, encode_frame
from ..store.base import MemoryBlockstore


class CoreNode:
    """One node's cores: a server engine and a client over a store."""

    def __init__(self, name: str, store: MemoryBlockstore | None = None, *,
                 limits: BitswapLimits = BITSWAP_LIMITS) -> None:
        self.name = name
        self.store = store if store is not None else MemoryBlockstore()
        self.limits = limits
        self.engine = Engine(self.store, limits=limits)
        self.client = Client(limits=limits)
        self.received: list[CID] = []
        self.errors: list[str] = []
        self.on_block: Callable[[CID, bytes], None] | None = None

    def accept(self, cid_bytes: bytes, data: bytes) -> None:
        cid = CID.from_bytes(cid_bytes)
        verify(cid, data)
        self.store.put(cid, data)
        self.received.append(cid)
        self.engine.notify_new_blocks([cid])
        if self.on_block is not None:
            self.on_block(cid, data)


class BitswapLink:
    def __init__(self, nodes: Sequence[CoreNode], *, protocol: str = bsmsg.PROTOCOL_120) -> None:
        self.nodes = {n.name: n for n in nodes}
        self.protocol = protocol
        self.now = 0.0
        self.links: set[frozenset[str]] = set()
        self.delivered = 0
        self.wire_bytes = 0
        # Intercepts: a test may replace a message's bytes in flight (hostile peer simulation).
        self.tamper: Callable[[str, str, bytes], bytes] | None = None

    def connect(self, a: str, b: str) -> None:
        self.links.add(frozenset((a, b)))
        for x, y in ((a, b), (b, a)):
            self.nodes[x].engine.peer_connected(y)
            self.nodes[x].client.add_peer(y, self.now)

    def disconnect(self, a: str, b: str) -> None:
        self.links.discard(frozenset((a, b)))
        for x, y in ((a, b), (b, a)):
            self.nodes[x].engine.peer_disconnected(y)
            self.nodes[x].client.remove_peer(y, self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for n in self.nodes.values():
            n.client.tick(self.now)

    def send_raw(self, src: str, dst: str, wire: bytes) -> None:
        """Deliver framed bytes from src to dst as the service would (decode, then both cores)."""
        node = self.nodes[dst]
        self.wire_bytes += len(wire)
        try:
            frames = FrameDecoder(max_message_bytes=node.limits.max_message_bytes,
                                  what="bitswap").feed(wire)
            for frame in frames:
                msg = bsmsg.decode(frame, max_message_bytes=node.limits.max_message_bytes,
                                   max_block_bytes=node.limits.max_block_bytes,
                                   max_entries=node.limits.max_wantlist_entries_per_message)
                self.delivered += 1
                node.engine.receive_message(src, msg)
                for block in node.client.receive_message(src, msg, self.now):
                    cid_bytes, data = block.cid_bytes, block.data
                    node.accept(cid_bytes, data)
        except (RemoteProtocolError, LimitExceeded) as exc:
            node.errors.append(str(exc))
            node.engine.penalise(src, node.limits.penalty_bad_message, str(exc))
            node.client.penalise(src, node.limits.penalty_bad_message, str(exc))

    def step(self) -> int:
        """Deliver every message currently queued by any core; returns how many were sent."""
        sent = 0
        for name, node in list(self.nodes.items()):
            outgoing = list(node.client.outgoing())
            while (env := node.engine.next_envelope()) is not None:
                outgoing.append(env)
            for peer, msg in outgoing:
                if frozenset((name, peer)) not in self.links:
                    continue
                wire = encode_frame(bsmsg.encode(msg, protocol=self.protocol))
                if self.tamper is not None:
                    wire = self.tamper(name, peer, wire)
                self.send_raw(name, peer, wire)
                sent += 1
        return sent

    def run_until_idle(self, *, max_steps: int = 100_000) -> int:
        """Step until no core has anything to send; returns the number of steps."""
        for i in range(max_steps):
            if not self.step():
                return i
        raise AssertionError("bitswap link did not go idle")
