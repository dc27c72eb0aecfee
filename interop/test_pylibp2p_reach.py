"""The constraint behind the namespace design: a py-libp2p host (what jzfs builds on) running
in the TEST PROCESS under trio reaches the Kubo and Helia subprocesses, and they reach it.

Uses py-libp2p directly (not jiaozi_node), so it checks the harness, not our node.
"""

from __future__ import annotations

import multiaddr
import pytest
import trio
from libp2p import new_host
from libp2p.peer.peerinfo import info_from_p2p_addr

pytestmark = pytest.mark.trio  # also when run without the repo's setup.cfg (trio_mode)


async def test_pylibp2p_host_in_test_process_talks_to_kubo_and_helia(kubo, helia):
    listen = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")
    host = new_host(listen_addrs=[listen], muxer_preference="YAMUX")
    async with host.run(listen_addrs=[listen]):
        my_addr = f"{host.get_addrs()[0]}"
        if "/p2p/" not in my_addr:
            my_addr += f"/p2p/{host.get_id()}"
        with trio.fail_after(20):
            # py -> Kubo, py -> Helia
            await host.connect(info_from_p2p_addr(multiaddr.Multiaddr(kubo.multiaddr)))
            await host.connect(info_from_p2p_addr(multiaddr.Multiaddr(helia.multiaddr)))
            # Kubo -> py and Helia -> py: blocking harness calls run in a thread (peer.aio) so
            # this trio loop keeps serving the handshake meanwhile.
            await helia.aio.dial(my_addr)
            await kubo.aio.connect(my_addr)
        assert str(host.get_id()) in kubo.list_peer_ids()
        assert str(host.get_id()) in {p["peer_id"] for p in helia.peers()}
