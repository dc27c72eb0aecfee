import pytest

from jiaozi_node.errors import InvalidInput, LimitExceeded, NotFound
from jiaozi_node.identity import Identity
from jiaozi_node.routing.dht.keys import peer_bytes
from jiaozi_node.routing.dht.records import (
    IPNS_NOT_YET,
    PublicKeyValidator,
    RecordStore,
    Validators,
)


def _pk_record():
    ident = Identity.generate()
    return b"/pk/" + peer_bytes(ident.peer_id), ident.public_key_protobuf


def test_pk_validator():
    key, value = _pk_record()
    v = PublicKeyValidator()
    v.validate(key, value, now=0)
    other = Identity.generate().public_key_protobuf
    with pytest.raises(InvalidInput):
        v.validate(key, other, now=0)
    with pytest.raises(InvalidInput):
        v.validate(b"/pk/\x99", value, now=0)


def test_ipns_is_refused_until_a_validator_is_plugged_in():
    store = RecordStore(Validators())
    key = b"/ipns/" + peer_bytes(Identity.generate().peer_id)
    with pytest.raises(InvalidInput, match="IPNS records are not accepted yet"):
        store.put(key, b"record", 0)
    assert "IPNS" in IPNS_NOT_YET
    with pytest.raises(InvalidInput):
        store.put(b"/other/x", b"v", 0)
    with pytest.raises(InvalidInput):
        store.put(b"no-namespace", b"v", 0)


class _SeqValidator:
    """value = b'seq:<n>'; higher wins; 'bad' is invalid."""

    def validate(self, key, value, *, now):
        if not value.startswith(b"seq:"):
            raise InvalidInput("bad record")

    def select(self, key, values, *, now):
        return max(range(len(values)), key=lambda i: int(values[i][4:]))


def test_pluggable_validator_select_and_expiry():
    store = RecordStore(Validators({"ipns": _SeqValidator()}), ttl_s=100, max_records=2)
    k = b"/ipns/\x00\x01\xff"
    assert store.put(k, b"seq:2", 0)
    assert not store.put(k, b"seq:1", 1)  # worse: kept the old one
    assert store.get(k, 2) == b"seq:2"
    assert store.put(k, b"seq:3", 3)
    with pytest.raises(InvalidInput):
        store.put(k, b"bad", 4)
    with pytest.raises(NotFound):
        store.get(k, 200)  # too old
    with pytest.raises(LimitExceeded):
        RecordStore(Validators(), max_value_bytes=3).put(b"/pk/x", b"1234", 0)
    store.put(b"/ipns/a", b"seq:1", 0)
    store.put(b"/ipns/b", b"seq:1", 0)
    store.put(b"/ipns/c", b"seq:1", 0)
    assert len(store) == 2  # bounded, oldest dropped
