import hashlib
import os

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.identity import Identity
from jiaozi_node.routing.dht import keys


def test_kad_id_is_sha256_and_distance_is_xor():
    assert keys.kad_id(b"abc") == hashlib.sha256(b"abc").digest()
    a, b = keys.kad_id(b"a"), keys.kad_id(b"b")
    assert keys.distance(a, b) == keys.distance(b, a) > 0
    assert keys.distance(a, a) == 0
    assert keys.common_prefix_len(a, a) == 256
    x = bytes(31) + b"\x01"
    assert keys.common_prefix_len(bytes(32), x) == 255
    assert keys.common_prefix_len(bytes(32), b"\x80" + bytes(31)) == 0


def test_peer_id_round_trip_and_checks():
    pid = Identity.generate().peer_id
    raw = keys.peer_bytes(pid)
    assert raw[:2] == b"\x00\x24" and keys.peer_str(raw) == pid
    assert keys.peer_str(b"\x12\x20" + bytes(32)).startswith("Qm")
    for bad in [b"", b"\x00", b"\x00\x05ab", b"\x13\x20" + bytes(32), b"\x12\x20" + bytes(31)]:
        with pytest.raises(InvalidInput):
            keys.peer_str(bad)
    with pytest.raises(InvalidInput):
        keys.peer_bytes("not-base58-0OIl")


@pytest.mark.parametrize("cpl", [0, 1, 5, 9])
def test_refresh_key_lands_in_the_bucket(cpl):
    local = keys.kad_id(os.urandom(8))
    k = keys.refresh_key(local, cpl, os.urandom(32))
    assert keys.common_prefix_len(keys.kad_id(k), local) == cpl
    with pytest.raises(InvalidInput):
        keys.refresh_key(local, 16, b"")
