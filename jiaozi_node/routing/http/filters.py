"""IPIP-484 filters of Delegated Routing V1: `?filter-addrs=` and `?filter-protocols=` (pure).

The server applies them to what it answers; the client sends them and applies them again to
what comes back (a server may ignore them), so both ends have the same semantics:

`filter-addrs` (network transports, multiaddr protocol names, case-insensitive):
  * no filter: addresses unchanged;
  * a record with no addresses is kept only when `unknown` is among the filters;
  * an address is kept when it contains none of the `!name` protocols and, if any positive
    names are given, at least one of them (logical OR). `unknown` counts as a positive name that
    matches no address (boxo's reading, the reference server): `filter-addrs=unknown` keeps only
    providers whose addresses are unknown;
  * a record left without addresses is omitted.

`filter-protocols` (transfer protocols such as `transport-bitswap`, opaque, case-insensitive):
  * no filter: record kept;
  * a record is omitted when it lists one of the `!name` protocols;
  * with positive names, it is kept when it lists one of them, or lists no protocol at all and
    `unknown` is given; it is returned unchanged (all its protocols).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ...config import DELEGATED_ROUTING_LIMITS
from ...errors import InvalidInput
from ..base import PeerRecord
from .records import addr_protocols

UNKNOWN = "unknown"
# IPIP-484: transfer protocol names are at most 63 characters; multiaddr names are shorter.
MAX_FILTER_NAME = 63


@dataclass(frozen=True)
class Filters:
    addrs: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.addrs and not self.protocols


def parse_filter(value: str | None, *,
                 max_names: int = DELEGATED_ROUTING_LIMITS.max_filter_names) -> tuple[str, ...]:
    """A comma-separated filter parameter -> lower-case names (empty items ignored).
    Raises InvalidInput for absurd values (too many or too long names)."""
    if not value:
        return ()
    names = [n.strip().lower() for n in value.split(",")]
    names = [n for n in names if n and n != "!"]
    if len(names) > max_names:
        raise InvalidInput(f"more than {max_names} filter names")
    for n in names:
        if len(n.lstrip("!")) > MAX_FILTER_NAME or not n.isprintable():
            raise InvalidInput(f"filter name {n[:70]!r} is not a protocol name")
    return tuple(dict.fromkeys(names))


def make_filters(addrs: Sequence[str] = (), protocols: Sequence[str] = ()) -> Filters:
    return Filters(parse_filter(",".join(addrs)), parse_filter(",".join(protocols)))


def _split(names: Sequence[str]) -> tuple[set[str], set[str]]:
    pos = {n for n in names if not n.startswith("!")}
    neg = {n[1:] for n in names if n.startswith("!")}
    return pos, neg


def keep_addr(addr: str, names: Sequence[str]) -> bool:
    """Whether one address passes `filter-addrs` (see module docstring)."""
    pos, neg = _split(names)
    try:
        protos = set(addr_protocols(addr))
    except InvalidInput:
        return False
    if protos & neg:
        return False
    return not pos or bool(protos & pos)


def protocols_pass(protocols: Sequence[str], names: Sequence[str]) -> bool:
    if not names:
        return True
    pos, neg = _split(names)
    have = {p.lower() for p in protocols}
    if have & neg:
        return False
    if not pos:
        return True
    return bool(have & pos) or (not have and UNKNOWN in pos)


def apply(rec: PeerRecord, filters: Filters) -> PeerRecord | None:
    """`rec` filtered (addresses may be removed), or None when the record is omitted."""
    if filters.empty:
        return rec
    if not protocols_pass(rec.protocols, filters.protocols):
        return None
    if not filters.addrs:
        return rec
    if not rec.addrs:
        return rec if UNKNOWN in filters.addrs else None
    kept = tuple(a for a in rec.addrs if keep_addr(a, filters.addrs))
    if not kept:
        return None
    return rec if kept == rec.addrs else replace(rec, addrs=kept)
