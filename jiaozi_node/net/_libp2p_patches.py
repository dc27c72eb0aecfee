"""Fixes we carry for py-libp2p 0.8.1 (pinned), applied by `libp2p_host` before a host is built.

Each patch names the upstream file/function it changes and why. All are process-wide (py-libp2p
reads these as module globals) and idempotent; only `libp2p_host` may call `apply()`.
"""

from __future__ import annotations

from ..config import AGENT_VERSION, NetLimits

_applied: dict[str, object] = {}


def apply(*, limits: NetLimits, agent_version: str | None = None) -> None:
    """Apply every patch (idempotent)."""
    _agent_version(agent_version or AGENT_VERSION)


def _agent_version(agent: str) -> None:
    # libp2p/identity/identify/identify.py: `_mk_identify_protobuf` sends the module global
    # AGENT_VERSION ("py-libp2p/<version>"). Peers (and `jzfs swarm peers`) should see "jzfs/…".
    from libp2p.identity.identify import identify

    identify.AGENT_VERSION = agent
    _applied["agent_version"] = agent
