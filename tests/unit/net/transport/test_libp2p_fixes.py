"""net/transport/libp2p_fixes.py: fixes are class-level and idempotent; every per-host value
(muxer limits, agent version) stays with its host."""

from __future__ import annotations

from dataclasses import replace

import trio

from jiaozi_node.config import NET_LIMITS
from jiaozi_node.identity import Identity
from jiaozi_node.net.libp2p_host import Libp2pHost
from jiaozi_node.net.transport import libp2p_fixes, yamux

LOOP = "/ip4/127.0.0.1/tcp/0"


def test_one_max_streams_value():
    """YamuxSettings has no defaults of its own: NetLimits is the only place of each value."""
    s = yamux.YamuxSettings.from_limits(NET_LIMITS)
    assert s.max_streams == NET_LIMITS.yamux_max_streams
    assert s.window == NET_LIMITS.yamux_window_bytes
    assert s.max_queued_out == NET_LIMITS.yamux_max_queued_out_bytes
    assert yamux.YamuxSettings.from_limits() == s
    assert not hasattr(yamux, "DEFAULT_SETTINGS")  # a connection is always handed its host's


def test_apply_leaves_py_libp2p_module_globals_alone():
    from libp2p.identity.identify import identify
    from libp2p.stream_muxer import muxer_multistream
    from libp2p.stream_muxer.yamux.yamux import Yamux as UpstreamYamux

    before = identify.AGENT_VERSION
    libp2p_fixes.apply()
    libp2p_fixes.apply()  # idempotent
    Libp2pHost(Identity.generate(), listen=[LOOP], agent_version="jzfs/other")
    assert identify.AGENT_VERSION == before
    assert muxer_multistream.Yamux is UpstreamYamux


def test_each_host_gets_its_own_muxer_settings():
    small = replace(NET_LIMITS, yamux_max_streams=7, yamux_window_bytes=512 * 1024)
    a = libp2p_fixes.muxer_options(small)[yamux.PROTOCOL_ID]
    b = libp2p_fixes.muxer_options(NET_LIMITS)[yamux.PROTOCOL_ID]
    ma = a(_FakeSecured(), None)
    mb = b(_FakeSecured(), None)
    assert ma.settings.max_streams == 7 and ma._max_streams == 7
    assert mb.settings.max_streams == NET_LIMITS.yamux_max_streams


async def test_two_hosts_in_one_process_keep_their_own_limits_and_agent(nursery):
    a = Libp2pHost(Identity.generate(), listen=[LOOP], agent_version="jzfs/a",
                   limits=replace(NET_LIMITS, yamux_max_streams=5))
    b = Libp2pHost(Identity.generate(), listen=[LOOP], agent_version="jzfs/b")
    await nursery.start(a.run)
    await nursery.start(b.run)
    await a.connect(b.addrs()[0])
    with trio.fail_after(10):
        assert (await a.identify(b.peer_id))["AgentVersion"] == "jzfs/b"
        assert (await b.identify(a.peer_id))["AgentVersion"] == "jzfs/a"
    conn_a = a._host.get_network().get_connections(b._host.get_id())[0].muxed_conn
    conn_b = b._host.get_network().get_connections(a._host.get_id())[0].muxed_conn
    assert isinstance(conn_a, yamux.Yamux) and isinstance(conn_b, yamux.Yamux)
    assert conn_a.settings.max_streams == 5
    assert conn_b.settings.max_streams == NET_LIMITS.yamux_max_streams


class _FakeSecured:
    is_initiator = True
