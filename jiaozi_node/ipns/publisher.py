"""Making our own records (no network): the next sequence number, signing, storing.

    name, rec = make_record(keystore, store, "self", "/ipfs/bafy…", lifetime_s=…, ttl_s=…,
                            v2_only=False, now=time.time())

Sequence numbers, as Kubo's publisher: the first record of a key has sequence 0; a new value gets
the stored sequence + 1; republishing the same value keeps the sequence with a later EOL (which
wins too: equal sequence -> longer validity). The stored sequence is the highest of our own
published record and any record for the name in the resolve cache (a key imported from another
node continues that node's numbering). Our own records go through `validate_record` before they
are stored, like everyone else's.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput
from ..ipld.cid import CID
from .keystore import Keystore
from .name import IpnsName
from .record import NS, IpnsEntry, IpnsRecord, create_record, parse_data, validate_record
from .store import IpnsStore

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's duration syntax as Kubo's flags take it (`48h`, `1h30m`, `90s`, `500ms`) -> seconds."""
    t = text.strip()
    if t in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    while pos < len(t):
        m = _DURATION.match(t, pos)
        if m is None:
            raise InvalidInput(f"invalid duration {text!r} (e.g. 48h, 1h30m, 90s)")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


def normalize_value(text: str) -> str:
    """What a record may point at: `/ipfs/CID[/path]` (a bare CID too) or `/ipns/NAME[/path]`."""
    t = text.strip()
    if t.startswith("/ipns/"):
        if len(t) <= len("/ipns/"):
            raise InvalidInput("empty /ipns/ path")
        return t
    if t.startswith("/ipfs/"):
        t = t[len("/ipfs/"):]
    elif t.startswith("/"):
        raise InvalidInput(f"cannot publish {text!r}: expected /ipfs/CID[/path], CID or /ipns/NAME")
    head, _, rest = t.partition("/")
    try:
        cid = CID.decode(head)
    except InvalidInput:
        raise InvalidInput(f"cannot publish {text!r}: {head!r} is not a CID") from None
    return f"/ipfs/{cid}" + (f"/{rest}" if rest else "")


def _seq_value(raw: bytes) -> tuple[int, bytes] | None:
    try:
        entry = IpnsEntry.decode(raw)
        if not entry.data:
            return None
        value, _, _, seq, _ = parse_data(entry.data)
    except InvalidInput:
        return None
    return seq, value


def next_sequence(store: IpnsStore, name: IpnsName, value: bytes) -> int:
    own_rec = store.published(name)
    own = _seq_value(own_rec.record) if own_rec is not None else None
    cached_rec = store.cached(name)
    cached = _seq_value(cached_rec[0]) if cached_rec is not None else None
    seqs = [sv[0] for sv in (own, cached) if sv is not None]
    if not seqs:
        return 0
    top = max(seqs)
    if own is not None and own[0] == top and own[1] == value:
        return top  # same value again: same sequence, later EOL
    return top + 1


def make_record(keystore: Keystore, store: IpnsStore, key_name: str, value: str, *,
                lifetime_s: float, ttl_s: float, v2_only: bool, now: float) -> tuple[IpnsName, IpnsRecord]:
    if lifetime_s <= 0:
        raise InvalidInput("--lifetime must be positive")
    if ttl_s < 0:
        raise InvalidInput("--ttl must not be negative")
    key = keystore.private_key(key_name)
    name = IpnsName.from_public_key(key.public_key)
    target = normalize_value(value).encode()
    seq = next_sequence(store, name, target)
    raw = create_record(key, target, seq=seq, eol_ns=int((now + lifetime_s) * NS),
                        ttl_ns=int(ttl_s * NS), v1_compatible=not v2_only)
    rec = validate_record(name, raw, now=now)
    store.put_published(name, key_name, rec, lifetime_s=lifetime_s, ttl_s=ttl_s, v2_only=v2_only,
                        now=now)
    return name, rec
