"""Fixes we carry for py-libp2p 0.8.1 (pinned), applied by `libp2p_host` before a host is built.

Each patch names the upstream file/function it changes and why. They are process-wide (py-libp2p
reads these as module globals) and idempotent; only `libp2p_host` calls `apply()`.

1. Agent version: libp2p/identity/identify/identify.py `_mk_identify_protobuf` sends the module
   global AGENT_VERSION ("py-libp2p/<version>"); peers should see "jzfs/<version>".
2. Yamux: libp2p/stream_muxer/muxer_multistream.py `MuxerMultistream.new_conn` constructs the
   module-global `Yamux` class whatever muxer class was registered; we point that global (and
   our muxer options) at `jiaozi_node._patches.yamux.Yamux`, a lean implementation (see its
   docstring for the measured reasons: per-read window updates, polling, per-frame logging,
   one send per frame).
3. The 250 ms dial delay of libp2p/network/swarm.py `Swarm.dial_peer` is avoided in the adapter
   (it dials with `Swarm.dial_addr`), not patched here.
"""

from __future__ import annotations

from typing import Any

from ..config import AGENT_VERSION, NetLimits


def apply(*, limits: NetLimits, agent_version: str | None = None) -> None:
    """Apply every patch (idempotent; later calls update the settings)."""
    from libp2p.identity.identify import identify
    from libp2p.stream_muxer import muxer_multistream

    from .._patches import yamux

    identify.AGENT_VERSION = agent_version or AGENT_VERSION
    yamux.YamuxSettings.window = limits.yamux_window_bytes
    yamux.YamuxSettings.max_streams = limits.yamux_max_streams
    yamux.YamuxSettings.accept_backlog = limits.yamux_accept_backlog
    muxer_multistream.Yamux = yamux.Yamux


def muxer_options() -> dict[Any, Any]:
    """Muxers offered, in preference order: our Yamux, then py-libp2p's mplex."""
    from libp2p.custom_types import TProtocol
    from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID, Mplex

    from .._patches import yamux

    return {TProtocol(yamux.PROTOCOL_ID): yamux.Yamux, TProtocol(MPLEX_PROTOCOL_ID): Mplex}
