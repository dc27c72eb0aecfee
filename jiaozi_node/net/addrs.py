"""Peer multiaddrs (`…/p2p/ID`) checked with py-multiaddr alone.

Commands that only check or store an address (`jzfs remote add`, `jzfs bootstrap add`) must not
import py-libp2p for it (~0.6 s of the command); `Libp2pHost` uses the same parse. Any transport
py-multiaddr knows is accepted (/ip4, /ip6, /dns*, /tcp, /udp/…/quic-v1, /p2p-circuit…), as long as
the address ends in /p2p/ID; the peer ID comes back in its base58btc form (a CIDv1 peer ID is
converted), as libp2p's `info_from_p2p_addr` gives it.
"""

from __future__ import annotations

import multiaddr

from ..errors import InvalidInput

_P2P = 421  # multicodec of /p2p


def parse_peer_multiaddr(addr: str) -> tuple[str, multiaddr.Multiaddr]:
    """Split `/ip4/…/tcp/…/p2p/ID` into (peer ID, full multiaddr); InvalidInput if malformed."""
    try:
        ma = multiaddr.Multiaddr(addr)
        if not ma:
            raise ValueError("`addr` should not be `None`")
        protocols = list(ma.protocols())
        if not protocols:
            raise ValueError("Address has no protocols")
        if protocols[-1].code != _P2P:
            raise ValueError(f"The last protocol should be `P_P2P` (421) instead of `{protocols[-1].code}`")
        peer_id = ma.get_peer_id()
        if peer_id is None:
            raise ValueError("Missing value for /p2p protocol in multiaddr")
    except Exception as exc:  # noqa: BLE001 - multiaddr raises assorted types
        raise InvalidInput(f"invalid peer multiaddr {addr!r} (need …/p2p/<peer ID>): {exc}") from None
    return peer_id, ma
