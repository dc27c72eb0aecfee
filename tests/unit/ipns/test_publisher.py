"""Publisher: value normalisation, durations, sequence numbers (persist; same value keeps the
sequence; a cached higher sequence from elsewhere is continued)."""

from __future__ import annotations

import time

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.keystore import Keystore
from jiaozi_node.ipns.publisher import make_record, normalize_value, parse_duration
from jiaozi_node.ipns.record import NS, create_record, validate_record
from jiaozi_node.ipns.store import IpnsStore

CID = "bafkqaaa"


def test_parse_duration():
    assert parse_duration("48h") == 172800 and parse_duration("1h30m") == 5400
    assert parse_duration("500ms") == 0.5 and parse_duration("90s") == 90
    with pytest.raises(InvalidInput):
        parse_duration("2 days")


def test_normalize_value():
    assert normalize_value(CID) == f"/ipfs/{CID}"
    assert normalize_value(f"/ipfs/{CID}/a") == f"/ipfs/{CID}/a"
    assert normalize_value("/ipns/example.org") == "/ipns/example.org"
    for bad in ("/foo/bar", "notacid", "/ipns/"):
        with pytest.raises(InvalidInput):
            normalize_value(bad)


def test_sequences(tmp_path):
    key = PrivateKey.generate()
    ks = Keystore(tmp_path / "ks", key)
    now = time.time()

    def pub(value: str) -> int:
        store = IpnsStore(tmp_path / "ipns.db")  # reopened each time: persists across restarts
        try:
            return make_record(ks, store, "self", value, lifetime_s=60, ttl_s=1, v2_only=False,
                               now=now)[1].sequence
        finally:
            store.close()

    assert pub(CID) == 0
    assert pub(CID) == 0
    assert pub("/ipfs/bafkreiey5jxe6ilpf62lnh77tm5ejbbmhbugzjuf6p2v3remlu73ced34q") == 1
    assert pub(CID) == 2
    # the same key used elsewhere reached sequence 10: we continue after it
    store = IpnsStore(tmp_path / "ipns.db")
    name = ks.info("self").id
    other = create_record(key, b"/ipfs/bafkqaaa", seq=10, eol_ns=int((now + 60) * NS), ttl_ns=0)
    store.put_cache(name, validate_record(name, other, now=now), now=now, source="t", max_entries=4)
    store.close()
    assert pub(CID) == 11
