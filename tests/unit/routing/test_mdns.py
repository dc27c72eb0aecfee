"""mDNS sightings -> peer store and dials (fakes, virtual clock); TXT parsing of the host adapter."""

from __future__ import annotations

from dataclasses import replace

import trio

from jiaozi_node.config import ROUTING_LIMITS
from jiaozi_node.net.libp2p_host import _txt_strings
from jiaozi_node.routing.mdns import MdnsDiscovery


class Host:
    def __init__(self) -> None:
        self.connected: set[str] = set()
        self.on_peer = None
        self.stopped = False

    def is_connected(self, peer: str) -> bool:
        return peer in self.connected

    async def start_mdns(self, on_peer):
        self.on_peer = on_peer
        return lambda: setattr(self, "stopped", True)


class Dialer:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.dials: list[str] = []

    async def connect(self, rec):
        self.dials.append(rec.peer_id)
        self.host.connected.add(rec.peer_id)
        return rec.peer_id


class Store:
    def __init__(self) -> None:
        self.added: list[tuple[str, list[str], str]] = []

    def add(self, peer, addrs, *, ttl_s, now, source):
        self.added.append((peer, list(addrs), source))


async def test_sighting_stored_dialled_once_per_window(autojump_clock):
    host, store = Host(), Store()
    dialer = Dialer(host)
    svc = MdnsDiscovery(host, dialer, store, limits=replace(ROUTING_LIMITS, mdns_redial_s=60))
    async with trio.open_nursery() as nursery:
        await nursery.start(svc.run)
        host.on_peer("P1", ["/ip4/127.0.0.1/tcp/1"])
        await trio.sleep(1)
        assert dialer.dials == ["P1"] and store.added == [("P1", ["/ip4/127.0.0.1/tcp/1"], "mdns")]
        host.connected.clear()  # it went away, announces itself again at once: not redialled yet
        host.on_peer("P1", ["/ip4/127.0.0.1/tcp/1"])
        await trio.sleep(1)
        assert dialer.dials == ["P1"]
        await trio.sleep(60)
        host.on_peer("P1", ["/ip4/127.0.0.1/tcp/1"])
        await trio.sleep(1)
        assert dialer.dials == ["P1", "P1"] and svc.stats["sightings"] == 3
        nursery.cancel_scope.cancel()
    assert host.stopped  # zeroconf closed on the way out


def test_txt_strings():
    raw = b"\x05abcde\x00\x03xyz"
    assert _txt_strings(raw) == [b"abcde", b"", b"xyz"]
    assert _txt_strings(b"\x09short") == [b"short"]  # truncated: what is there
