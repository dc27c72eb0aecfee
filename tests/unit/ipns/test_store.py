"""ipns.db: published records, bounded cache with freshness, seen dataset heads."""

from __future__ import annotations

import time

from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import NS, create_record, validate_record
from jiaozi_node.ipns.store import IpnsStore


def test_cache_bound_and_freshness(tmp_path):
    store = IpnsStore(tmp_path / "ipns.db")
    now = time.time()
    names = []
    for i in range(5):
        key = PrivateKey.generate()
        name = IpnsName.from_public_key(key.public_key)
        raw = create_record(key, b"/ipfs/bafkqaaa", seq=i, eol_ns=int((now + 100 + i) * NS),
                            ttl_ns=int((10 + i) * NS))
        store.put_cache(name, validate_record(name, raw, now=now), now=now, source="t", max_entries=3)
        names.append(name)
    kept = [n for n in names if store.cached(n) is not None]
    assert len(kept) == 3 and kept == names[2:]  # the freshest stay
    assert store.cached(names[4])[1] == now + 14
    store.set_seen_head("k51x", "main", "bafyA", now=now)
    assert store.seen_head("k51x", "main") == "bafyA" and store.seen_head("k51x", "dev") is None
    store.close()
