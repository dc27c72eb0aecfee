from __future__ import annotations

import pytest
import trio

from jiaozi_node.config import NetLimits
from jiaozi_node.errors import InvalidInput, NetworkError
from jiaozi_node.net.peering import PeeringPeer, PeeringService, next_backoff, parse_peering_config

PID = "12D3KooWJ8yqi5LjTYLHoFE7wroWZWnyANUmPNLVsNZcuYkEVXAF"


def test_parse_peering_config():
    peers = parse_peering_config([{"ID": PID, "Addrs": ["/ip4/127.0.0.1/tcp/4001"]}])
    assert peers == [PeeringPeer(PID, ("/ip4/127.0.0.1/tcp/4001",))]
    assert peers[0].dial_addrs() == [f"/ip4/127.0.0.1/tcp/4001/p2p/{PID}"]
    assert PeeringPeer(PID, (f"/ip4/1.2.3.4/tcp/1/p2p/{PID}",)).dial_addrs() == [f"/ip4/1.2.3.4/tcp/1/p2p/{PID}"]
    assert parse_peering_config(None) == [] and parse_peering_config([]) == []
    for bad in ({"ID": PID}, [{"Addrs": []}], [{"ID": PID, "Addrs": [1]}], ["x"]):
        with pytest.raises(InvalidInput):
            parse_peering_config(bad)


def test_backoff_doubles_with_jitter_and_caps():
    lim = NetLimits(peering_backoff_min_s=1.0, peering_backoff_max_s=8.0)
    assert next_backoff(None, limits=lim, rand=0.5) == pytest.approx(1.0)
    assert next_backoff(1.0, limits=lim, rand=0.5) == pytest.approx(2.0)
    assert next_backoff(8.0, limits=lim, rand=0.5) == pytest.approx(8.0)  # capped
    assert next_backoff(2.0, limits=lim, rand=0.0) == pytest.approx(3.2)  # -20 %
    assert next_backoff(2.0, limits=lim, rand=0.999) == pytest.approx(4.8, rel=1e-2)  # +20 %


class FakeHost:
    """Connects on the third dial; the test then drops the connection once."""

    def __init__(self) -> None:
        self.connected = False
        self.connected_ev = trio.Event()
        self.dials: list[str] = []
        self._cb = None

    def is_connected(self, peer_id: str) -> bool:
        return self.connected

    async def connect(self, addr: str) -> str:
        self.dials.append(addr)
        if len(self.dials) < 3:
            raise NetworkError("refused")
        self.connected = True
        self.connected_ev.set()
        return PID

    def on_disconnected(self, cb) -> None:
        self._cb = cb

    def drop(self) -> None:
        self.connected = False
        self.connected_ev = trio.Event()
        self._cb(PID)


async def test_peering_redials_with_backoff_and_after_disconnect(autojump_clock):
    host = FakeHost()
    svc = PeeringService(host, [PeeringPeer(PID, ("/ip4/127.0.0.1/tcp/1",))],
                         limits=NetLimits(peering_backoff_min_s=1.0, peering_backoff_max_s=4.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.run)
        t0 = trio.current_time()
        await host.connected_ev.wait()
        # two failures: ~1 s then ~2 s of backoff (each ±20 %, compounding) before the third dial
        assert 2.0 <= trio.current_time() - t0 <= 4.2
        assert len(host.dials) == 3
        host.drop()
        await host.connected_ev.wait()
        assert len(host.dials) == 4
        nursery.cancel_scope.cancel()
