"""Delegated Routing V1 values on the wire (pure: no I/O, no clock).

Peer IDs, IPNS names, multiaddrs and peer records as the spec
(https://specs.ipfs.tech/routing/http-routing-v1/) writes them, parsed strictly and written
canonically. Everything that comes from a remote router goes through `parse_record`; a record
that does not pass is dropped by the caller (counted, logged), never half-used:

* `ID` must be a peer ID (base58btc multihash, or CIDv1 with the libp2p-key codec in any
  multibase) whose multihash is identity (an inlined key of at most 42 bytes, as libp2p inlines)
  or sha2-256; it is handed on as base58btc (`12D3KooW…`, `Qm…`), as `Libp2pHost` uses them.
* `Addrs`: each must parse as a multiaddr (maddr.py: every value checked, unknown protocols
  refused) and is handed on in canonical text; a trailing `/p2p/<same ID>` is removed (the
  routing contract hands addresses without it). Bad, over-long or surplus addresses are dropped one by one.
* `Protocols`: strings of bounded length; others dropped.
* `Schema`: `peer`, or the legacy `bitswap` schema (read as `peer` with its `Protocol`, as the
  spec allows). Unknown schemas are ignored, as the spec says clients must.

Answers are `{"Providers": [...]}` / `{"Peers": [...]}` (application/json) or one record per line
(application/x-ndjson); `NdjsonSplitter` cuts a byte stream into lines with a bound on each.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import base58

from ...config import DELEGATED_ROUTING_LIMITS, DelegatedRoutingLimits
from ...errors import CodecError, InvalidInput, RemoteProtocolError
from ...ipld import multihash
from ...ipld.cid import CID, LIBP2P_KEY
from ..base import PeerRecord
from .maddr import parse as parse_multiaddr

JSON_MEDIA = "application/json"
NDJSON_MEDIA = "application/x-ndjson"
IPNS_RECORD_MEDIA = "application/vnd.ipfs.ipns-record"
SCHEMA_PEER = "peer"
LEGACY_SCHEMA_BITSWAP = "bitswap"
BITSWAP_PROTOCOL = "transport-bitswap"
IPNS_PREFIX = b"/ipns/"
# libp2p inlines public keys of at most 42 bytes in the peer ID (identity multihash).
MAX_INLINE_KEY_BYTES = 42


# ------------------------------------------------------------------------------ peer IDs


def check_peer_multihash(mh: bytes) -> bytes:
    """`mh` if it is a valid peer-ID multihash (identity <= 42 bytes, or sha2-256)."""
    try:
        code, digest = multihash.decode(bytes(mh))
    except (CodecError, ValueError) as exc:
        raise InvalidInput(f"peer ID is not a multihash: {exc}") from None
    if code == multihash.IDENTITY:
        if not 0 < len(digest) <= MAX_INLINE_KEY_BYTES:
            raise InvalidInput("peer ID inlines a key of the wrong size")
    elif code == multihash.SHA2_256:
        if len(digest) != 32:
            raise InvalidInput("peer ID sha2-256 digest is not 32 bytes")
    else:
        raise InvalidInput(f"peer ID uses hash function 0x{code:x} (identity or sha2-256 only)")
    return bytes(mh)


def parse_peer_id(text: str) -> bytes:
    """A peer ID string (base58btc multihash, or CIDv1 libp2p-key in any multibase) -> its
    multihash bytes. Raises InvalidInput."""
    if not isinstance(text, str) or not text:
        raise InvalidInput("empty peer ID")
    if len(text) > 200:
        raise InvalidInput("peer ID string too long")
    if text[0] in "1Q":  # base58btc multihash: identity (12D3KooW…/1…) or sha2-256 (Qm…)
        try:
            mh = base58.b58decode(text)
        except ValueError:
            raise InvalidInput(f"invalid peer ID {text!r}: not base58btc") from None
        return check_peer_multihash(mh)
    try:
        cid = CID.decode(text)
    except InvalidInput:
        raise InvalidInput(f"invalid peer ID {text!r}: neither base58btc nor a CID") from None
    if cid.codec != LIBP2P_KEY:
        raise InvalidInput(f"invalid peer ID {text!r}: CID codec is not libp2p-key")
    return check_peer_multihash(cid.multihash)


def peer_id_str(mh: bytes) -> str:
    """Multihash bytes -> the base58btc peer ID string."""
    return base58.b58encode(bytes(mh)).decode()


def peer_id_cid_str(mh: bytes) -> str:
    """Multihash bytes -> CIDv1 libp2p-key in base32 (the form the spec puts in URLs)."""
    return CID(1, LIBP2P_KEY, bytes(mh)).encode("base32")


def canonical_peer_id(text: str) -> str:
    return peer_id_str(parse_peer_id(text))


def ipns_key(name_mh: bytes) -> bytes:
    """The routing key of an IPNS name: `/ipns/` + the binary peer ID."""
    return IPNS_PREFIX + check_peer_multihash(name_mh)


def ipns_name_of_key(key: bytes) -> bytes:
    """`/ipns/<binary peer ID>` -> the peer ID multihash; InvalidInput for any other key."""
    if not isinstance(key, (bytes, bytearray)) or not bytes(key).startswith(IPNS_PREFIX):
        raise InvalidInput("not an /ipns/ routing key")
    return check_peer_multihash(bytes(key)[len(IPNS_PREFIX):])


# ------------------------------------------------------------------------------ multiaddrs


def addr_protocols(addr: str) -> list[str]:
    """Protocol names of a multiaddr string (maddr.py); InvalidInput if it is not one."""
    return parse_multiaddr(addr)[0]


def clean_addr(addr: object, peer_id: str, limits: DelegatedRoutingLimits) -> str | None:
    """A valid multiaddr in canonical text, without a trailing `/p2p/<peer_id>`, or None to
    drop it."""
    if not isinstance(addr, str) or not addr or len(addr) > limits.max_addr_chars:
        return None
    try:
        names, text = parse_multiaddr(addr)
    except InvalidInput:
        return None
    suffix = f"/p2p/{peer_id}"
    if names[-1] == "p2p" and text.endswith(suffix):
        text = text[: -len(suffix)]
        if not text:
            return None
    return text


# ------------------------------------------------------------------------------ records


def parse_record(obj: object, limits: DelegatedRoutingLimits = DELEGATED_ROUTING_LIMITS) -> PeerRecord:
    """One record object of an answer -> PeerRecord. Raises InvalidInput (the caller drops it)."""
    if not isinstance(obj, Mapping):
        raise InvalidInput("record is not a JSON object")
    schema = obj.get("Schema")
    protocols_in: list[object] = []
    if schema == LEGACY_SCHEMA_BITSWAP:
        protocols_in.append(obj.get("Protocol") or BITSWAP_PROTOCOL)
    elif schema != SCHEMA_PEER:
        raise InvalidInput(f"unknown record schema {str(schema)[:40]!r}")
    peer_id = obj.get("ID")
    if not isinstance(peer_id, str):
        raise InvalidInput("record has no string ID")
    pid = canonical_peer_id(peer_id)
    addrs_in = obj.get("Addrs")
    if addrs_in is None:
        addrs_in = []
    if not isinstance(addrs_in, list):
        raise InvalidInput("record Addrs is not a list")
    protos = obj.get("Protocols")
    if protos is None:
        protos = []
    if not isinstance(protos, list):
        raise InvalidInput("record Protocols is not a list")
    protocols_in.extend(protos)
    addrs: list[str] = []
    for raw in addrs_in[: 4 * limits.max_addrs_per_record]:
        addr = clean_addr(raw, pid, limits)
        if addr is not None and addr not in addrs:
            addrs.append(addr)
            if len(addrs) >= limits.max_addrs_per_record:
                break
    protocols: list[str] = []
    for p in protocols_in[: 4 * limits.max_protocols_per_record]:
        if (isinstance(p, str) and p and len(p) <= limits.max_protocol_chars
                and p.isprintable() and p not in protocols):
            protocols.append(p)
            if len(protocols) >= limits.max_protocols_per_record:
                break
    return PeerRecord(pid, tuple(addrs), tuple(protocols))


def record_json(rec: PeerRecord) -> dict[str, Any]:
    """PeerRecord -> a `peer` schema object (ID as base58btc, as Kubo and Helia write it)."""
    return {"Schema": SCHEMA_PEER, "ID": rec.peer_id, "Addrs": list(rec.addrs),
            "Protocols": list(rec.protocols)}


def encode_json_answer(field: str, records: Iterable[PeerRecord]) -> bytes:
    return json.dumps({field: [record_json(r) for r in records]},
                      separators=(",", ":")).encode()


def encode_ndjson_record(rec: PeerRecord) -> bytes:
    return json.dumps(record_json(rec), separators=(",", ":")).encode() + b"\n"


def loads(data: bytes | str) -> Any:
    """json.loads that turns every failure (syntax, nesting, huge numbers) into RemoteProtocolError."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise RemoteProtocolError(f"router sent invalid JSON: {str(exc)[:120]}") from None


def records_of_json_answer(body: bytes, field: str) -> list[object]:
    """The record objects of an application/json answer (`field` = Providers or Peers)."""
    doc = loads(body)
    if not isinstance(doc, dict):
        raise RemoteProtocolError(f"router answer is not a JSON object with {field}")
    items = doc.get(field)
    if items is None:
        return []
    if not isinstance(items, list):
        raise RemoteProtocolError(f"router answer {field} is not a list")
    return items


class NdjsonSplitter:
    """Cuts an NDJSON byte stream into lines (h11 style: feed bytes, get complete lines).

    A line longer than `max_line` is skipped whole (`dropped` counts it) without being kept in
    memory; blank lines are ignored."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buf = bytearray()
        self._skipping = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            self._take(data[start:nl], out, end=True)
            start = nl + 1
        self._take(data[start:], out, end=False)
        return out

    def close(self) -> list[bytes]:
        """The last line if the stream did not end with a newline."""
        out: list[bytes] = []
        self._take(b"", out, end=True)
        return out

    def _take(self, piece: bytes, out: list[bytes], *, end: bool) -> None:
        if not self._skipping:
            self._buf += piece
            if len(self._buf) > self.max_line:
                self._skipping = True
                self.dropped += 1
                self._buf = bytearray()
        if end:
            if not self._skipping:
                line = bytes(self._buf).strip()
                if line:
                    out.append(line)
            self._buf = bytearray()
            self._skipping = False


def parse_ndjson_line(line: bytes, limits: DelegatedRoutingLimits = DELEGATED_ROUTING_LIMITS) -> PeerRecord:
    """One NDJSON line -> PeerRecord (raises InvalidInput or RemoteProtocolError: drop it)."""
    return parse_record(loads(line), limits)


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json` (lower case, '' when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def dedupe(records: Sequence[PeerRecord]) -> list[PeerRecord]:
    """First record per peer ID, in order."""
    seen: set[str] = set()
    out = []
    for r in records:
        if r.peer_id not in seen:
            seen.add(r.peer_id)
            out.append(r)
    return out
