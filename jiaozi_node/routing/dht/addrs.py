"""Multiaddrs between their text form (what the host and users see) and binary form (what DHT
messages carry). Pure (py-multiaddr only parses). Unparseable addresses are dropped, not errors:
peers announce transports we do not know.
"""

from __future__ import annotations

from collections.abc import Iterable

import multiaddr


def to_bytes(addrs: Iterable[str]) -> list[bytes]:
    out = []
    for a in addrs:
        try:
            out.append(multiaddr.Multiaddr(a).to_bytes())
        except Exception:  # noqa: BLE001 - py-multiaddr raises several unrelated types
            continue
    return out


def to_text(addrs: Iterable[bytes], *, peer_id: str | None = None) -> list[str]:
    """Text forms, without a trailing `/p2p/<peer_id>` (the PeerRecord convention)."""
    out = []
    for b in addrs:
        try:
            s = str(multiaddr.Multiaddr(b))
        except Exception:  # noqa: BLE001
            continue
        if peer_id is not None and s.endswith(f"/p2p/{peer_id}"):
            s = s[: -len(f"/p2p/{peer_id}")]
        if "/p2p/" in s and "/p2p-circuit" not in s:
            continue  # someone else's ID inside: not an address of this peer
        out.append(s)
    return out


def dialable(addrs: Iterable[str]) -> list[str]:
    """The addresses our host can dial (TCP over IPv4/IPv6), in order."""
    out = []
    for a in addrs:
        parts = a.split("/")
        if len(parts) == 5 and parts[1] in ("ip4", "ip6") and parts[3] == "tcp":
            out.append(a)
    return out
