"""Every decoder that reads bytes from outside, fed generated garbage and mutations of valid
input (hypothesis): the only way out is a value or a JzfsError (CodecError, InvalidInput,
LimitExceeded, ProtocolError) — never another exception, a hang or a crash. Where the codec is
canonical, whatever decodes re-encodes to the same bytes (one byte string per value), and CAR
sections are hash-checked (a wrong block never comes out)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaozi_node.bitswap import message as bsmsg
from jiaozi_node.car.reader import CarDecoder
from jiaozi_node.car.writer import encode_header, encode_section
from jiaozi_node.errors import HashMismatch, JzfsError
from jiaozi_node.ipld import dagcbor, dagjson, dagpb, framing, multihash, varint
from jiaozi_node.ipld.cid import CID, DAG_CBOR, DAG_PB
from jiaozi_node.unixfs import pb as unixfs_pb
from jiaozi_node.versioning.objects import decode_object

# Modest and deterministic: the suite runs in CI on every push (whole file: a few seconds).
FUZZ = settings(max_examples=100, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CIDS = [CID.of(bytes([i])) for i in range(4)] + [CID.of(b"pb", codec=DAG_PB, version=0),
                                                  CID.of(b"cbor", codec=DAG_CBOR)]


def ipld_values(*, floats: bool = True) -> st.SearchStrategy:
    leaves = (st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64 - 1)
              | st.text(max_size=20) | st.binary(max_size=20) | st.sampled_from(CIDS))
    if floats:
        leaves = leaves | st.floats(allow_nan=False, allow_infinity=False)
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """`valid` with a few bytes flipped, inserted, removed or the tail cut."""
    out = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        i = draw(st.integers(0, max(0, len(out) - 1)))
        if op == "flip" and out:
            out[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            out[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and out:
            del out[i]
        elif op == "truncate":
            del out[i:]
        elif op == "dup":
            out[i:i] = out[i:i + draw(st.integers(1, 16))]
    return bytes(out)


def only_jzfs_errors(fn, *args, **kw):  # type: ignore[no-untyped-def]
    try:
        return fn(*args, **kw)
    except JzfsError:
        return None


# ------------------------------------------------------------------ dag-cbor


@FUZZ
@given(ipld_values())
def test_dagcbor_roundtrip(value) -> None:  # type: ignore[no-untyped-def]
    data = dagcbor.encode(value)
    assert dagcbor.encode(dagcbor.decode(data)) == data


@FUZZ
@given(st.data())
def test_dagcbor_garbage_and_mutations(data) -> None:  # type: ignore[no-untyped-def]
    valid = dagcbor.encode(data.draw(ipld_values()))
    for raw in (data.draw(st.binary(max_size=300)), data.draw(mutated(valid))):
        value = only_jzfs_errors(dagcbor.decode, raw)
        if value is not None:
            assert dagcbor.encode(value) == raw  # strict: only canonical bytes decode


# ------------------------------------------------------------------ dag-json


@FUZZ
@given(ipld_values(floats=False))
def test_dagjson_roundtrip(value) -> None:  # type: ignore[no-untyped-def]
    data = dagjson.encode(value)
    assert dagjson.encode(dagjson.decode(data)) == data


@FUZZ
@given(st.data())
def test_dagjson_garbage_and_mutations(data) -> None:  # type: ignore[no-untyped-def]
    valid = dagjson.encode(data.draw(ipld_values(floats=False)))
    for raw in (data.draw(st.binary(max_size=300)), data.draw(mutated(valid)),
                data.draw(st.text(alphabet='{}[]":,/0123456789eE.-+ tfnrul\\bytes', max_size=200))):
        only_jzfs_errors(dagjson.decode, raw)


# ------------------------------------------------------------------ dag-pb and UnixFS


pb_nodes = st.builds(
    lambda links, data: dagpb.PBNode(tuple(links), data),
    st.lists(st.builds(dagpb.PBLink, st.sampled_from(CIDS), st.none() | st.text(max_size=10),
                       st.none() | st.integers(0, 2**40)), max_size=5),
    st.none() | st.binary(max_size=40))


@FUZZ
@given(st.data())
def test_dagpb_garbage_mutations_and_canonical_bytes(data) -> None:  # type: ignore[no-untyped-def]
    node = data.draw(pb_nodes)
    valid = dagpb.encode(node)
    assert dagpb.decode(valid) == dagpb.decode(dagpb.encode(dagpb.decode(valid)))
    for raw in (data.draw(st.binary(max_size=300)), data.draw(mutated(valid))):
        only_jzfs_errors(dagpb.decode, raw)


@FUZZ
@given(st.data())
def test_unixfs_data_garbage_and_mutations(data) -> None:  # type: ignore[no-untyped-def]
    valid = data.draw(st.sampled_from([unixfs_pb.file_node([10, 20], data=b"x"), unixfs_pb.directory(),
                                       unixfs_pb.hamt_shard(b"\x01\x02", fanout=16),
                                       unixfs_pb.file_leaf(b"leaf")]))
    for raw in (data.draw(st.binary(max_size=200)), data.draw(mutated(valid))):
        only_jzfs_errors(unixfs_pb.decode, raw)


# ------------------------------------------------------------------ CIDs, multihashes, varints


@FUZZ
@given(st.data())
def test_cid_multihash_varint_garbage(data) -> None:  # type: ignore[no-untyped-def]
    raw = data.draw(st.binary(max_size=80) | mutated(bytes(data.draw(st.sampled_from(CIDS)))))
    cid = only_jzfs_errors(CID.from_bytes, raw)
    if cid is not None:
        assert bytes(cid) == raw
    only_jzfs_errors(multihash.read, raw, 0)
    only_jzfs_errors(varint.decode, raw, 0)
    text = data.draw(st.text(max_size=70) | st.sampled_from([str(c) for c in CIDS]).map(
        lambda s: s[:-1] + data.draw(st.characters(codec="ascii"))))
    parsed = only_jzfs_errors(CID.decode, text)
    if parsed is not None and text[0] == "b":
        assert str(parsed) == text  # base32 is canonical: one string per CID


# ------------------------------------------------------------------ CAR


def _car() -> tuple[bytes, list[bytes]]:
    blocks = [(CID.of(bytes([i]) * 50), bytes([i]) * 50) for i in range(4)]
    car = encode_header([blocks[0][0]]) + b"".join(encode_section(c, d) for c, d in blocks)
    return car, [d for _, d in blocks]


@FUZZ
@given(st.data())
def test_car_garbage_mutations_and_chunking(data) -> None:  # type: ignore[no-untyped-def]
    valid, payloads = _car()
    raw = data.draw(st.binary(max_size=300) | mutated(valid))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    dec = CarDecoder()
    try:
        events = []
        prev = 0
        for cut in [*cuts, len(raw)]:
            events += dec.feed(raw[prev:cut])
            prev = cut
        dec.close()
    except JzfsError:
        return
    for ev in events:
        if hasattr(ev, "cid"):
            assert hashlib.sha256(ev.data).digest() == ev.cid.digest  # hash-checked on the way out


def test_car_with_a_lying_section_is_refused() -> None:
    good = CID.of(b"good")
    car = encode_header([good]) + encode_section(good, b"evil")
    with pytest.raises(HashMismatch):
        dec = CarDecoder()
        dec.feed(car)
        dec.close()


# ------------------------------------------------------------------ Bitswap wire and versioning objects


@FUZZ
@given(st.data())
def test_bitswap_frames_and_messages_garbage(data) -> None:  # type: ignore[no-untyped-def]
    msg = bsmsg.Message()
    msg.blocks.append((bytes(CIDS[0].prefix()), b"\x00"))
    valid = bsmsg.encode(msg)
    raw = data.draw(st.binary(max_size=300) | mutated(valid))
    only_jzfs_errors(bsmsg.decode, raw)
    dec = framing.FrameDecoder(max_message_bytes=1 << 16, what="bitswap")
    for frame in only_jzfs_errors(dec.feed, raw) or []:
        only_jzfs_errors(bsmsg.decode, frame)


@FUZZ
@given(st.data())
def test_versioning_objects_garbage(data) -> None:  # type: ignore[no-untyped-def]
    value = data.draw(ipld_values() | st.fixed_dictionaries(
        {"type": st.sampled_from(["commit", "tag"]), "root": st.sampled_from(CIDS),
         "parents": st.lists(st.sampled_from(CIDS), max_size=2), "message": st.text(max_size=10)}))
    raw = data.draw(st.just(dagcbor.encode(value)) | mutated(dagcbor.encode(value)))
    only_jzfs_errors(decode_object, CID.of(raw, codec=DAG_CBOR), raw)
