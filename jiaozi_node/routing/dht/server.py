"""What a DHT server answers: one function per message type, over the pure state. Pure.

`DhtState` bundles the routing table, the provider store, the record store and the address
book; `handle(state, sender, request, now)` returns the answer (None for ADD_PROVIDER, which has
none) or raises InvalidInput for a request it refuses (a record that does not validate). The
adapter decodes and encodes, and drops peers that send garbage.

Answers follow go-libp2p-kad-dht's handlers: closer peers are the k nearest we know (never the
asker, and only peers we have addresses for); asked FIND_NODE for our own ID we answer with
ourselves (Kubo checks this before it adds a peer to its routing table); ADD_PROVIDER is taken
only for the sender itself, whose addresses we remember for later GET_PROVIDERS answers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ...config import DHT_LIMITS, DhtLimits
from ...errors import InvalidInput, NotFound
from ..base import RecordValidator
from . import message as m
from .keys import kad_id, peer_bytes, peer_str
from .providers import ProviderStore
from .records import RecordStore, Validators
from .table import RoutingTable


class AddrBook:
    """peer -> binary multiaddrs, expiring, least recently used dropped past `max_peers`."""

    def __init__(self, *, max_peers: int = DHT_LIMITS.max_addr_book_peers,
                 ttl_s: float = DHT_LIMITS.addr_ttl_s,
                 max_addrs: int = DHT_LIMITS.max_addrs_per_peer) -> None:
        self.max_peers = max_peers
        self.ttl_s = ttl_s
        self.max_addrs = max_addrs
        self._book: OrderedDict[str, tuple[tuple[bytes, ...], float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._book)

    def add(self, peer: str, addrs: Iterable[bytes], now: float) -> None:
        new = tuple(dict.fromkeys(a for a in addrs if a))[: self.max_addrs]
        if not new:
            return
        old = self._book.get(peer)
        if old is not None and old[1] > now:
            new = tuple(dict.fromkeys(new + old[0]))[: self.max_addrs]
        self._book[peer] = (new, now + self.ttl_s)
        self._book.move_to_end(peer)
        while len(self._book) > self.max_peers:
            self._book.popitem(last=False)

    def get(self, peer: str, now: float) -> tuple[bytes, ...]:
        entry = self._book.get(peer)
        if entry is None:
            return ()
        if entry[1] <= now:
            del self._book[peer]
            return ()
        return entry[0]


@dataclass
class DhtState:
    local_peer: str
    limits: DhtLimits = DHT_LIMITS
    validators: Mapping[str, RecordValidator] | None = None
    local_addrs: list[bytes] = field(default_factory=list)
    table: RoutingTable = field(init=False)
    providers: ProviderStore = field(init=False)
    records: RecordStore = field(init=False)
    addrs: AddrBook = field(init=False)

    def __post_init__(self) -> None:
        lim = self.limits
        self.local_bytes = peer_bytes(self.local_peer)
        self.table = RoutingTable(self.local_peer, k=lim.k, max_peers=lim.max_table_peers)
        self.providers = ProviderStore(ttl_s=lim.provider_ttl_s, max_per_key=lim.max_providers_per_key,
                                       max_records=lim.max_provider_records,
                                       max_per_peer=lim.max_provider_records_per_peer)
        self.records = RecordStore(Validators(self.validators), max_records=lim.max_records,
                                   ttl_s=lim.record_ttl_s, max_value_bytes=lim.max_record_value_bytes)
        self.addrs = AddrBook(max_peers=lim.max_addr_book_peers, ttl_s=lim.addr_ttl_s,
                              max_addrs=lim.max_addrs_per_peer)

    def wire_peer(self, peer: str, now: float) -> m.Peer | None:
        """A peer with its addresses for an answer (None if we know no address for it)."""
        if peer == self.local_peer:
            return m.Peer(self.local_bytes, list(self.local_addrs), m.CONNECTED)
        addrs = self.addrs.get(peer, now)
        if not addrs:
            return None
        return m.Peer(peer_bytes(peer), list(addrs))

    def closer_peers(self, key: bytes, asker: str, now: float) -> list[m.Peer]:
        out = []
        for p in self.table.closest(kad_id(key), self.limits.k, exclude={asker}):
            wp = self.wire_peer(p, now)
            if wp is not None:
                out.append(wp)
        return out

    def learn(self, peers: Iterable[m.Peer], now: float) -> list[str]:
        """Remember the addresses of peers named in an answer; their base58 IDs (bad IDs skipped)."""
        out = []
        for p in peers:
            try:
                pid = peer_str(p.id)
            except InvalidInput:
                continue
            if pid != self.local_peer:
                self.addrs.add(pid, p.addrs, now)
            out.append(pid)
        return out


def handle(state: DhtState, sender: str, req: m.Message, now: float) -> m.Message | None:
    """The answer to `req` from `sender` (None: no answer is sent). InvalidInput: refuse."""
    t = req.type
    if t == m.PING:
        return m.Message(m.PING)
    if not req.key:
        raise InvalidInput(f"{m.TYPE_NAMES[t]} without a key")
    if t == m.FIND_NODE:
        if req.key == state.local_bytes:
            closer = [state.wire_peer(state.local_peer, now)]
        else:
            closer = state.closer_peers(req.key, sender, now)
            # a target we know directly goes first (go does the same for connected peers)
            try:
                target = peer_str(req.key)
            except InvalidInput:
                target = None
            if target is not None and target != sender and all(p.id != req.key for p in closer):
                wp = state.wire_peer(target, now)
                if wp is not None:
                    closer = [wp, *closer[: state.limits.k - 1]]
        return m.Message(m.FIND_NODE, key=req.key, closer_peers=[p for p in closer if p])
    if t == m.GET_PROVIDERS:
        provs = []
        for p in state.providers.get(req.key, now, limit=state.limits.max_providers_per_answer):
            wp = state.wire_peer(p, now)
            provs.append(wp if wp is not None else m.Peer(peer_bytes(p)))
        return m.Message(m.GET_PROVIDERS, key=req.key, provider_peers=provs,
                         closer_peers=state.closer_peers(req.key, sender, now))
    if t == m.ADD_PROVIDER:
        sender_bytes = peer_bytes(sender)
        for p in req.provider_peers:
            if p.id != sender_bytes:
                continue  # only the sender may announce itself (go ignores the others too)
            state.addrs.add(sender, p.addrs, now)
            state.providers.add(req.key, sender, now)
        return None
    if t == m.GET_VALUE:
        rec = None
        try:
            value = state.records.get(req.key, now)
            rec = m.Record(req.key, value)
        except NotFound:
            pass
        return m.Message(m.GET_VALUE, key=req.key, record=rec,
                         closer_peers=state.closer_peers(req.key, sender, now))
    if t == m.PUT_VALUE:
        if req.record is None or req.record.key != req.key:
            raise InvalidInput("PUT_VALUE record key does not match the message key")
        state.records.put(req.key, req.record.value, now)
        return m.Message(m.PUT_VALUE, key=req.key, record=m.Record(req.key, req.record.value))
    raise InvalidInput(f"unsupported DHT message type {t}")  # pragma: no cover (decode checks)
