import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import CID, RAW, dagcbor


def test_roundtrip_with_links_and_bytes():
    v = {"b": b"\x00\x01", "a": CID.of(b"x", codec=RAW), "n": [1, "two", None, True]}
    assert dagcbor.decode(dagcbor.encode(v)) == v


def test_rejects_non_canonical_key_order():
    # {"b":1,"a":2} encoded with keys out of canonical order
    raw = bytes([0xA2, 0x61, ord("b"), 0x01, 0x61, ord("a"), 0x02])
    with pytest.raises(CodecError):
        dagcbor.decode(raw)


def test_rejects_garbage():
    with pytest.raises(CodecError):
        dagcbor.decode(b"\xff\xff")


# ------------------------------------------------------------------------------------------
# Our codec against the `dag-cbor` library (which jiaozi_node used before; test dependency):
# the same bytes for the same values, the same values back, the same refusals.

import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402

import dag_cbor  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from multiformats import CID as MfCID  # noqa: E402


def _lib(value):  # our value -> the library's
    if isinstance(value, CID):
        return MfCID.decode(value.buffer)
    if isinstance(value, dict):
        return {k: _lib(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lib(v) for v in value]
    return value


def _ours(value):  # the library's value -> ours
    if isinstance(value, MfCID):
        return CID.from_bytes(bytes(value))
    if isinstance(value, dict):
        return {k: _ours(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ours(v) for v in value]
    return value


_CIDS = st.sampled_from([CID.of(b"a", codec=RAW), CID.of(b"b", codec=0x71), CID.of(b"c", codec=0x70).to_v0(),
                         CID.of(b"d", codec=0x70)])
_SCALARS = (st.none() | st.booleans() | st.integers(-(1 << 64), (1 << 64) - 1)
            | st.integers(-300, 300) | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=20) | st.binary(max_size=40) | _CIDS)
_VALUES = st.recursive(_SCALARS, lambda kids: st.lists(kids, max_size=5)
                       | st.dictionaries(st.text(max_size=6), kids, max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_same_bytes_and_values_as_the_library(value) -> None:
    ours = dagcbor.encode(value)
    assert ours == dag_cbor.encode(_lib(value))
    back = dagcbor.decode(ours)
    assert back == _ours(dag_cbor.decode(ours))
    assert dagcbor.encode(back) == ours


def _verdict(fn, data):
    try:
        fn(data)
        return "ok"
    except Exception:  # noqa: BLE001 - any refusal
        return "refused"


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.data())
def test_same_refusals_as_the_library_on_mutated_bytes(value, data) -> None:
    raw = bytearray(dagcbor.encode(value))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "cut", "add"]))
        if kind == "flip" and raw:
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
        elif kind == "cut" and raw:
            del raw[data.draw(st.integers(0, len(raw) - 1)):]
        else:
            raw += bytes([data.draw(st.integers(0, 255))])
    raw = bytes(raw)
    lib = _verdict(dag_cbor.decode, raw)
    if lib == "refused" or (lib == "ok" and _links_all_known(dag_cbor.decode(raw))):
        assert _verdict(dagcbor.decode, raw) == lib, raw.hex()
    if _verdict(dagcbor.decode, raw) == "ok":
        assert _ours(dag_cbor.decode(raw)) == dagcbor.decode(raw) if lib == "ok" else True


def _links_all_known(value) -> bool:
    """Our CID parser refuses what the library may accept in a mutated CID (e.g. a CID over
    IpldLimits.max_cid_bytes); compare verdicts only where every link also parses as ours."""
    if isinstance(value, MfCID):
        try:
            CID.from_bytes(bytes(value))
            return True
        except Exception:  # noqa: BLE001
            return False
    if isinstance(value, dict):
        return all(_links_all_known(v) for v in value.values())
    if isinstance(value, list):
        return all(_links_all_known(v) for v in value)
    return True


@pytest.mark.parametrize("raw", [
    "f97c00", "fa7f800000", "fbfff8000000000000", "fb7ff0000000000000",  # half/single floats, NaN, Inf
    "1817", "190017", "1a0000ffff", "1b00000000ffffffff",  # non-minimal integers
    "5f41ff", "9fff", "bf61610161ff",  # indefinite lengths
    "f7", "f0", "f818",  # undefined, unassigned and one-byte simple values
    "c11a00000000", "d82b4100", "d82a6161", "d82a4101",  # tags other than 42, CID not bytes / no 0x00
    "a20101", "a2616101616101", "a2616201616101",  # non-string key, repeated key, key order
    "62c328", "a162c32801",  # invalid UTF-8 in a string and in a key
    "0000", "", "81",  # trailing bytes, nothing, truncated
])
def test_refuses_like_the_library(raw: str) -> None:
    data = bytes.fromhex(raw)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the library raises its own types
        dag_cbor.decode(data)
    with pytest.raises(CodecError, match="invalid dag-cbor"):
        dagcbor.decode(data)


def test_encoding_refusals() -> None:
    for bad in ({1: 2}, math.nan, math.inf, -math.inf, 1 << 64, -(1 << 64) - 1, object(), bytearray(b"x"),
                "\ud800"):
        with pytest.raises(CodecError, match="cannot encode as dag-cbor"):
            dagcbor.encode(bad)
        with pytest.raises(Exception):  # noqa: B017, PT011
            dag_cbor.encode(_lib(bad))
    assert dagcbor.encode((1, 2)) == dagcbor.encode([1, 2])


def test_commits_and_trees_of_many_links_match_the_library() -> None:
    rng = random.Random(7)
    tree = {f"file-{i:05d}.csv": {"cid": CID.of(os.urandom(8), codec=RAW), "size": rng.randrange(1 << 40),
                                  "mode": 0o100644} for i in range(2000)}
    raw = dagcbor.encode({"entries": tree, "version": 1})
    assert raw == dag_cbor.encode(_lib({"entries": tree, "version": 1}))
    assert dagcbor.decode(raw) == {"entries": tree, "version": 1}
