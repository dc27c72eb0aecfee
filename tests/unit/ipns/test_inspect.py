"""`name inspect`: fields, verification with an embedded key or --verify NAME."""

from __future__ import annotations

import time

from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.inspect import inspect_record
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, create_record


def test_inspect():
    key = PrivateKey.generate()
    name = IpnsName.from_public_key(key.public_key)
    raw = create_record(key, b"/ipfs/bafkqaaa", seq=4, eol_ns=int((time.time() + 60) * NS), ttl_ns=NS)
    res = inspect_record(raw)
    assert res["Entry"]["Sequence"] == 4 and res["Validation"]["Valid"] is False  # no key to check
    assert inspect_record(raw, verify=str(name))["Validation"]["Valid"] is True
    other = IpnsName.from_public_key(PrivateKey.generate().public_key)
    bad = inspect_record(raw, verify=str(other))["Validation"]
    assert bad["Valid"] is False and "signatureV2" in bad["Reason"]
    emb = create_record(key, b"/ipfs/bafkqaaa", seq=1, eol_ns=int((time.time() + 60) * NS),
                        ttl_ns=0, embed_public_key=True)
    assert inspect_record(emb)["Validation"] == {"Valid": True, "Reason": "", "Name": str(name)}
