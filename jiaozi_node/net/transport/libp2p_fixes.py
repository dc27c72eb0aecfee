"""Fixes we carry for py-libp2p 0.8.1 (pinned), applied by `libp2p_host` before a host is built.

Each fix names the upstream file/function it changes and why. `apply()` is idempotent and carries
no per-host value: what differs between hosts (muxer limits, agent version) lives on the host's
own objects, so two hosts in one process keep their own settings.
tests/unit/net/transport/test_upstream_pins.py fails when any function named here changes upstream.

1. Agent version: libp2p/identity/identify/identify.py `_mk_identify_protobuf` sends the module
   global AGENT_VERSION ("py-libp2p/<version>"); we wrap it to send the host's own
   `jzfs_agent_version` attribute (set by `libp2p_host`; hosts without one keep upstream's).
2. Yamux: libp2p/stream_muxer/muxer_multistream.py `MuxerMultistream.new_conn` constructs the
   module-global `Yamux` class whatever muxer was registered for /yamux/1.0.0; we make it call
   the registered muxer, as it does for every other protocol. Each host registers its own
   factory (`muxer_options(limits)`) of our muxer, `net.transport.yamux` (see its docstring
   for the measured reasons: per-read window updates, polling, per-frame logging, one send per
   frame).
3. Stream notifications: libp2p/network/swarm.py `Swarm._notify` opens a nursery and spawns
   one task per notifee for every stream opened and closed, although every notifee the host
   registers (identify's, the tag store's, ours) does nothing on stream events. We skip those
   known no-op notifees for stream events (any other notifee still gets them). Two nurseries and
   six tasks less per stream; Kubo opens one stream per bitswap message.
4. Host shutdown: libp2p/network/connection/swarm_connection.py `SwarmConn._cleanup` sleeps
   a fixed 100 ms ("force context switch for stream handlers") after resetting the streams,
   before the disconnect notification; every host shutdown paid it per connection (a
   `jzfs get --peer` of 100 MiB takes ~0.7 s). While the whole swarm closes (`Swarm._closing`)
   a few checkpoints replace it; a single disconnect keeps upstream's timing (with a live
   Kubo it decides whether the peer's redial of queued replies lands before we drop it).
5. The 250 ms dial delay of libp2p/network/swarm.py `Swarm.dial_peer` is avoided in the adapter
   (it dials with `Swarm.dial_addr`), not patched here; so is the resource manager (the adapter
   detaches it: its per-stream `ID.from_string` + lock cost more than the stream itself; our
   Yamux stream limits and NetLimits.max_connections bound the same resources).
6. Inbound streams: libp2p/network/connection/swarm_connection.py `SwarmConn._handle_muxed_stream`
   wraps every accepted stream in a NetStream (a logger lookup, a state lock taken per state
   change, the swarm's stream set and notifications) before the swarm's handler runs. On our
   Yamux, when the swarm's handler is `transport/inbound.py`'s, the protocol is negotiated first
   and our own handlers get a `DirectStream` (no NetStream); py-libp2p's handlers (identify,
   ping) and other muxers go the upstream way. Kubo opens one stream per bitswap reply.
"""

from __future__ import annotations

from typing import Any

from ...config import NetLimits


def apply() -> None:
    """Apply every fix (idempotent; nothing host-specific)."""
    _host_agent_version()
    _registered_muxer()
    _skip_noop_stream_notifees()
    _no_close_sleep()
    _direct_inbound_streams()


def _host_agent_version() -> None:
    from libp2p.identity.identify import identify

    if getattr(identify._mk_identify_protobuf, "_jzfs_patched", False):
        return
    original = identify._mk_identify_protobuf

    def _mk_identify_protobuf(host: Any, observed_multiaddr: Any) -> Any:
        msg = original(host, observed_multiaddr)
        agent = getattr(host, "jzfs_agent_version", None)
        if agent:
            msg.agent_version = agent
        return msg

    _mk_identify_protobuf._jzfs_patched = True  # type: ignore[attr-defined]
    identify._mk_identify_protobuf = _mk_identify_protobuf


def _registered_muxer() -> None:
    from libp2p.stream_muxer.muxer_multistream import MuxerMultistream

    if getattr(MuxerMultistream.new_conn, "_jzfs_patched", False):
        return

    async def new_conn(self: MuxerMultistream, conn: Any, peer_id: Any) -> Any:
        protocol, transport_class = await self._selector.select(
            conn, conn.is_initiator, self.negotiate_timeout)
        return self._annotate_connection(transport_class(conn, peer_id), conn, protocol)

    new_conn._jzfs_patched = True  # type: ignore[attr-defined]
    MuxerMultistream.new_conn = new_conn  # type: ignore[method-assign]


def _skip_noop_stream_notifees() -> None:
    from libp2p.host.basic_host import _IdentifyNotifee
    from libp2p.network.swarm import Swarm
    from libp2p.network.tag_store import TagStoreNotifee

    if getattr(Swarm._notify, "_jzfs_patched", False):
        return
    from ..libp2p_host import _Notifee

    noop = (_IdentifyNotifee, TagStoreNotifee, _Notifee)
    original = Swarm._notify

    async def _notify(self: Swarm, method: str, *args: Any) -> None:
        if method in ("opened_stream", "closed_stream") and all(
                isinstance(n, noop) for n in self.notifees):
            return
        await original(self, method, *args)

    _notify._jzfs_patched = True  # type: ignore[attr-defined]
    Swarm._notify = _notify  # type: ignore[method-assign]


def _no_close_sleep() -> None:
    import logging

    import trio
    from libp2p.network.connection.swarm_connection import SwarmConn

    if getattr(SwarmConn._cleanup, "_jzfs_patched", False):
        return

    async def _cleanup(self: SwarmConn) -> None:  # upstream body; no 0.1 s sleep at shutdown
        self.swarm.remove_conn(self)
        if not getattr(self, "_shared_muxed_conn", False):
            try:
                if not self.muxed_conn.is_closed:
                    await self.muxed_conn.close()
            except Exception as e:  # noqa: BLE001 - as upstream
                logging.warning(f"Error closing muxed connection: {e}")
        for stream in self.streams.copy():
            try:
                await stream.reset()
            except Exception as e:  # noqa: BLE001 - as upstream
                logging.warning(f"Error resetting stream: {e}")
        if getattr(self.swarm, "_closing", False):  # host shutdown: nobody waits on handlers
            for _ in range(3):
                await trio.lowlevel.checkpoint()
        else:
            await trio.sleep(0.1)  # upstream: let stream handlers see the reset first
        await self._notify_disconnected()

    _cleanup._jzfs_patched = True  # type: ignore[attr-defined]
    SwarmConn._cleanup = _cleanup  # type: ignore[method-assign]


def _direct_inbound_streams() -> None:
    from libp2p.network.connection.swarm_connection import SwarmConn

    if getattr(SwarmConn._handle_muxed_stream, "_jzfs_patched", False):
        return
    from .yamux import YamuxStream

    original = SwarmConn._handle_muxed_stream

    async def _handle_muxed_stream(self: SwarmConn, muxed_stream: Any) -> None:
        direct = getattr(self.swarm.common_stream_handler, "direct", None)
        if direct is None or not isinstance(muxed_stream, YamuxStream):
            await original(self, muxed_stream)
            return
        await direct(self, muxed_stream, original)

    _handle_muxed_stream._jzfs_patched = True  # type: ignore[attr-defined]
    SwarmConn._handle_muxed_stream = _handle_muxed_stream  # type: ignore[method-assign]


def muxer_options(limits: NetLimits) -> dict[Any, Any]:
    """One host's muxers, in preference order: our Yamux with that host's limits, then
    py-libp2p's mplex."""
    from libp2p.custom_types import TProtocol
    from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID, Mplex

    from . import yamux

    factory = yamux.yamux_factory(yamux.YamuxSettings.from_limits(limits))
    return {TProtocol(yamux.PROTOCOL_ID): factory, TProtocol(MPLEX_PROTOCOL_ID): Mplex}
