"""ipld/depth.py: nesting depth of DAG-JSON text and DAG-CBOR bytes, found before decoding."""

from __future__ import annotations

import json

import dag_cbor
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import dagcbor, dagjson
from jiaozi_node.ipld.depth import check_cbor, check_json_text, value_depth_ok

# IPLD data model values (no floats: DAG-CBOR float rules are the library's business)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5) | st.binary(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=40)


def depth(v: object) -> int:
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    return 0


def nest(levels: int, kind: str = "list") -> object:
    v: object = 1
    for _ in range(levels):
        v = [v] if kind == "list" else {"k": v}
    return v


@settings(max_examples=200)
@given(values, st.integers(0, 8))
def test_cbor_scan_agrees_with_real_depth(v: object, limit: int) -> None:
    data = dag_cbor.encode(v)
    ok = depth(v) <= limit
    if ok:
        check_cbor(data, limit)
        assert dagcbor.decode(data, max_depth=limit) == v
    else:
        with pytest.raises(CodecError, match="max_decode_depth"):
            check_cbor(data, limit)
    assert value_depth_ok(v, limit) == ok


@settings(max_examples=200)
@given(values, st.integers(0, 8))
def test_json_decode_agrees_with_real_depth(v: object, limit: int) -> None:
    data = dagjson.encode(v, max_depth=50)
    if depth(v) <= limit:
        assert dagjson.decode(data, max_depth=limit) == v
    else:
        with pytest.raises(CodecError, match="max_decode_depth"):
            dagjson.decode(data, max_depth=limit)


@given(st.binary(max_size=64))
def test_cbor_scan_never_crashes(data: bytes) -> None:
    try:
        check_cbor(data, 3)
    except CodecError:
        pass


@given(st.text(alphabet='[]{}"\\,:1 a', max_size=80))
def test_json_text_scan_never_crashes(text: str) -> None:
    try:
        check_json_text(text, 3)
    except CodecError:
        pass


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 5000 + '\\"' + "{" * 5000})
    check_json_text(text, 2)


@pytest.mark.parametrize("kind", ["list", "map"])
def test_boundary(kind: str) -> None:
    for codec in (dagjson, dagcbor):
        data = codec.encode(nest(256, kind))
        codec.decode(data)
        with pytest.raises(CodecError, match="nested deeper than 256"):
            codec.decode(codec.encode(nest(257, kind), max_depth=300))
        with pytest.raises(CodecError, match="nested deeper than 256"):
            codec.encode(nest(257, kind))


def test_links_and_bytes_at_the_deepest_level_round_trip() -> None:
    from jiaozi_node.ipld.cid import CID

    cid = CID.decode("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
    for leaf in (cid, b"\x00\x01"):
        v = nest(255)
        inner = v
        while isinstance(inner[0], list):  # type: ignore[index]
            inner = inner[0]  # type: ignore[index]
        inner[0] = [leaf]  # type: ignore[index]
        for codec in (dagjson, dagcbor):
            assert codec.decode(codec.encode(v)) == v


def test_cbor_strictness_the_scan_applies() -> None:
    for bad in (b"\x9f" + b"\x01" * 300 + b"\xff",  # indefinite array
                b"\x81" * 300 + b"\xc1\x01",  # tag 1
                b"\x81" * 300 + b"\xd8\x2a\x01",  # tag 42 on an int
                b"\x81" * 300):  # truncated
        with pytest.raises(CodecError):
            check_cbor(bad, 100)
