"""IpnsService: publish through the router (or --allow-offline), republish with a fresh EOL and
the same sequence, Kubo's config keys."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import validate_record
from jiaozi_node.ipns.service import IpnsService, limits_from_config
from jiaozi_node.node import Node
from jiaozi_node.routing.base import RoutingUnsupported


class Clock:
    t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


class Router:
    def __init__(self, fail: bool = False) -> None:
        self.puts: list[tuple[bytes, bytes]] = []
        self.fail = fail

    async def put_value(self, key: bytes, value: bytes) -> None:
        if self.fail:
            raise RoutingUnsupported("no peers")
        self.puts.append((key, value))


@pytest.fixture
def node(tmp_path):
    n = Node.open(tmp_path / "repo")
    yield n
    n.close()


async def test_publish_and_republish(node):
    router, clock = Router(), Clock()
    with IpnsService(node, router=lambda: router, gateways=[], clock=clock) as svc:
        name, value = await svc.publish("bafkqaaa", lifetime_s=3600)
        assert value == "/ipfs/bafkqaaa" and len(router.puts) == 1
        key, raw = router.puts[0]
        assert key == IpnsName.parse(str(name)).routing_key
        first = validate_record(name, raw, now=clock.t)
        clock.t += 1800
        assert await svc.republish_all() == 1
        again = validate_record(name, router.puts[-1][1], now=clock.t)
        assert again.sequence == first.sequence and again.validity_ns > first.validity_ns
        assert await svc.resolve(f"/ipns/{name}") == "/ipfs/bafkqaaa"


async def test_publish_without_router(node):
    with IpnsService(node, router=lambda: None, gateways=[]) as svc:
        with pytest.raises(InvalidInput, match="allow-offline"):
            await svc.publish("bafkqaaa")
        await svc.publish("bafkqaaa", allow_offline=True)
    with IpnsService(node, router=lambda: Router(fail=True), gateways=[]) as svc:
        with pytest.raises(NotFound, match="no router accepted"):
            await svc.publish("bafkqaaa")
        await svc.publish("bafkqaaa", allow_offline=True)


def test_kubo_config_keys(node):
    node.repo.set_config("Ipns.RepublishPeriod", "1h")
    node.repo.set_config("Ipns.RecordLifetime", "24h")
    limits = limits_from_config(node)
    assert limits.republish_period_s == 3600 and limits.record_lifetime_s == 86400
