"""The IPNS validator as the routing layer sees it (`routing.validators.default_validators`)."""

from __future__ import annotations

import time

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, create_record
from jiaozi_node.routing.base import key_namespace
from jiaozi_node.routing.validators import default_validators


def test_ipns_validate_and_select():
    v = default_validators()
    key = PrivateKey.generate("ed25519")
    rk = IpnsName.from_public_key(key.public_key).routing_key
    now = time.time()
    recs = [create_record(key, b"/ipfs/bafkqaaa", seq=s, eol_ns=int((now + 60) * NS), ttl_ns=0)
            for s in (1, 3, 2)]
    assert key_namespace(rk) == "ipns"
    for r in recs:
        v["ipns"].validate(rk, r, now=now)
    assert v["ipns"].select(rk, recs, now=now) == 1
    with pytest.raises(InvalidInput):
        v["ipns"].validate(rk, recs[0], now=now + 120)
    with pytest.raises(InvalidInput):
        v["ipns"].validate(b"/ipns/" + b"\xff\xff", recs[0], now=now)
