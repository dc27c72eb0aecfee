"""bitswap/service.py wiring that needs no network: the node's limits reach the decoder."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from jiaozi_node.bitswap import message as m
from jiaozi_node.bitswap.service import BitswapService, start_online
from jiaozi_node.config import BitswapLimits, Defaults, IpldLimits
from jiaozi_node.errors import RemoteProtocolError
from jiaozi_node.ipld.cid import CID, RAW

CID_BYTES = CID.of(b"hello", codec=RAW).buffer


class _Nursery:
    def __init__(self) -> None:
        self.started: list[object] = []

    async def start(self, fn: object) -> None:
        self.started.append(fn)


async def test_start_online_passes_the_nodes_limits():
    defaults = replace(Defaults(), ipld=IpldLimits(max_cid_bytes=len(CID_BYTES) - 1),
                       bitswap=BitswapLimits(max_wantlist_entries_per_message=7))
    online = SimpleNamespace(host=object(), node=SimpleNamespace(blocks=object(), defaults=defaults),
                             services={}, nursery=_Nursery())
    await start_online(online)
    svc = online.services["bitswap"]
    assert svc.limits is defaults.bitswap and svc.max_cid_bytes == len(CID_BYTES) - 1
    assert online.nursery.started == [svc.run]
    with pytest.raises(RemoteProtocolError, match="CID too long"):
        svc._on_frame("peer", m.encode(m.Message(wants=[m.Entry(CID_BYTES)])))


def test_service_default_cid_bound_is_ipld_default():
    assert BitswapService(object(), object()).max_cid_bytes == IpldLimits().max_cid_bytes
