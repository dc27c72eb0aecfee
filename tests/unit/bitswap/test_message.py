"""Bitswap message codec: round trips, cross-check against google.protobuf, hostile input."""

import hashlib

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from jiaozi_node.bitswap import message as m
from jiaozi_node.errors import LimitExceeded, RemoteProtocolError
from jiaozi_node.ipld.cid import CID, DAG_PB, RAW

V1 = CID.of(b"hello", codec=RAW).buffer
V0 = CID.of(b"node", codec=DAG_PB, version=0).buffer


def _reference_class():
    """The boxo schema built with google.protobuf: an independent encoder/decoder."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="bs_test.proto", package="bstest", syntax="proto3")
    msg = fdp.message_type.add(name="Message")
    wl = msg.nested_type.add(name="Wantlist")
    wt = wl.enum_type.add(name="WantType")
    wt.value.add(name="Block", number=0)
    wt.value.add(name="Have", number=1)
    entry = wl.nested_type.add(name="Entry")
    entry.field.add(name="block", number=1, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    entry.field.add(name="priority", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    entry.field.add(name="cancel", number=3, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL)
    entry.field.add(name="wantType", number=4, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL,
                    type_name=".bstest.Message.Wantlist.WantType")
    entry.field.add(name="sendDontHave", number=5, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL)
    wl.field.add(name="entries", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                 type_name=".bstest.Message.Wantlist.Entry")
    wl.field.add(name="full", number=2, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL)
    blk = msg.nested_type.add(name="Block")
    blk.field.add(name="prefix", number=1, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    blk.field.add(name="data", number=2, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    pt = msg.enum_type.add(name="BlockPresenceType")
    pt.value.add(name="Have", number=0)
    pt.value.add(name="DontHave", number=1)
    bp = msg.nested_type.add(name="BlockPresence")
    bp.field.add(name="cid", number=1, type=F.TYPE_BYTES, label=F.LABEL_OPTIONAL)
    bp.field.add(name="type", number=2, type=F.TYPE_ENUM, label=F.LABEL_OPTIONAL,
                 type_name=".bstest.Message.BlockPresenceType")
    msg.field.add(name="wantlist", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                  type_name=".bstest.Message.Wantlist")
    msg.field.add(name="blocks", number=2, type=F.TYPE_BYTES, label=F.LABEL_REPEATED)
    msg.field.add(name="payload", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                  type_name=".bstest.Message.Block")
    msg.field.add(name="blockPresences", number=4, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                  type_name=".bstest.Message.BlockPresence")
    msg.field.add(name="pendingBytes", number=5, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("bstest.Message"))


Ref = _reference_class()


def test_roundtrip_all_fields_12():
    msg = m.Message(
        wants=[m.Entry(V1, 7, False, m.WANT_HAVE, True), m.Entry(V0, -3, True)],
        full=True,
        blocks=[(V1, b"hello")],
        presences=[(V0, m.DONT_HAVE), (V1, m.HAVE)],
        pending_bytes=1234,
    )
    d = m.decode(m.encode(msg))
    assert d.wants == msg.wants and d.full
    assert d.presences == msg.presences and d.pending_bytes == 1234
    (prefix, data), = d.blocks
    assert data == b"hello" and m.block_cid(prefix, data) == V1


def test_our_encoding_parses_with_google_protobuf():
    msg = m.Message(wants=[m.Entry(V1, -1, False, m.WANT_HAVE, True)],
                    blocks=[(V0, b"node")], presences=[(V1, m.DONT_HAVE)], pending_bytes=-5)
    ref = Ref()
    ref.ParseFromString(m.encode(msg))
    e = ref.wantlist.entries[0]
    assert (e.block, e.priority, e.wantType, e.sendDontHave) == (V1, -1, 1, True)
    assert ref.payload[0].prefix == b"\x00\x70\x12\x20" and ref.payload[0].data == b"node"
    assert ref.blockPresences[0].cid == V1 and ref.blockPresences[0].type == 1
    assert ref.pendingBytes == -5


def test_google_protobuf_encoding_parses_with_ours():
    ref = Ref()
    e = ref.wantlist.entries.add()
    e.block, e.priority, e.cancel, e.wantType, e.sendDontHave = V1, -2147483648, True, 1, True
    ref.blocks.append(b"node")
    p = ref.payload.add()
    p.prefix, p.data = m.cid_prefix(V1), b"hello"
    ref.pendingBytes = 99
    d = m.decode(ref.SerializeToString())
    assert d.wants == [m.Entry(V1, -2147483648, True, m.WANT_HAVE, True)]
    assert [m.block_cid(p, x) for p, x in d.blocks] == [V0, V1]
    assert d.pending_bytes == 99


def test_legacy_protocols_use_blocks_field_and_drop_presences_and_want_have():
    msg = m.Message(wants=[m.Entry(V1, 1, False, m.WANT_HAVE, True), m.Entry(V0, 1)],
                    blocks=[(V0, b"node")], presences=[(V1, m.HAVE)])
    ref = Ref()
    ref.ParseFromString(m.encode(msg, protocol=m.PROTOCOL_100))
    assert list(ref.blocks) == [b"node"] and not ref.payload and not ref.blockPresences
    assert [e.block for e in ref.wantlist.entries] == [V0]
    ref.ParseFromString(m.encode(msg, protocol=m.PROTOCOL_110))
    assert ref.payload[0].data == b"node" and not ref.blockPresences


def test_unknown_fields_are_skipped():
    extra = b"\x30\x05" + b"\x3a\x02hi" + b"\x45\x00\x00\x00\x00" + b"\x49" + b"\x00" * 8
    d = m.decode(m.encode(m.Message(presences=[(V1, m.HAVE)])) + extra)
    assert d.presences == [(V1, m.HAVE)]


def test_cid_prefix():
    assert m.cid_prefix(V0) == b"\x00\x70\x12\x20"
    assert m.cid_prefix(V1) == b"\x01\x55\x12\x20"
    big = CID(1, 0x0129, b"\x13\x40" + hashlib.sha512(b"x").digest()).buffer
    assert m.cid_prefix(big) == b"\x01\xa9\x02\x13\x40"
    assert m.block_cid(m.cid_prefix(big), b"x") == big


@pytest.mark.parametrize("bad", [
    b"\x0a",                        # truncated length
    b"\x0a\x05\x0a\x03",            # wantlist shorter than announced
    b"\x0a\x02\x0a\x00",            # entry without CID
    b"\x22\x02\x10\x01",            # presence without CID
    b"\x1a\x02\x12\x00",            # payload without prefix
    b"\x0f",                        # wire type 7
    b"\x10\x01",                    # field 2 as varint (must be bytes)
    b"\xff" * 11,                   # varint longer than 10 bytes
    b"\x0a\x04\x0a\x02\x20\x05",    # want type 5
    b"\x22\x05\x0a\x01\x01\x10\x07",  # presence type 7
])
def test_malformed_messages_are_refused(bad):
    with pytest.raises((RemoteProtocolError, LimitExceeded)):
        m.decode(bad)


def test_oversized_message_and_block_are_refused():
    with pytest.raises(LimitExceeded):
        m.decode(b"\x00" * (4 * 1024 * 1024 + 1))
    big = b"x" * (2 * 1024 * 1024 + 1)
    with pytest.raises(LimitExceeded):
        m.decode(m.encode(m.Message(blocks=[(V1, big)])))
    with pytest.raises(LimitExceeded):
        m.decode(m.encode(m.Message(blocks=[(V1, big)]), protocol=m.PROTOCOL_100))


def test_100000_entry_wantlist_is_refused():
    msg = m.Message(wants=[m.Entry(CID.of(i.to_bytes(4, "big"), codec=DAG_PB, version=0).buffer, 0)
                          for i in range(100_000)])
    wire = m.encode(msg)
    assert len(wire) < 4 * 1024 * 1024
    with pytest.raises(LimitExceeded, match="1024"):
        m.decode(wire)


def test_oversized_cid_in_wantlist_is_refused():
    with pytest.raises(RemoteProtocolError):
        m.decode(m.encode(m.Message(wants=[m.Entry(b"\x01" * 200)])))


def test_cid_bound_is_passed_in_for_wants_and_presences():
    wants = m.encode(m.Message(wants=[m.Entry(V1)]))
    presences = m.encode(m.Message(presences=[(V1, m.HAVE)]))
    assert m.decode(wants, max_cid_bytes=len(V1)).wants[0].cid == V1
    assert m.decode(presences, max_cid_bytes=len(V1)).presences == [(V1, m.HAVE)]
    for wire in (wants, presences):
        with pytest.raises(RemoteProtocolError, match="too long"):
            m.decode(wire, max_cid_bytes=len(V1) - 1)


def test_block_cid_refuses_what_it_cannot_compute():
    with pytest.raises(RemoteProtocolError):
        m.block_cid(b"\x01\x55\x16\x20", b"x")  # sha3-256: not supported
    with pytest.raises(RemoteProtocolError):
        m.block_cid(b"\x01\x55\x12\x10", b"x")  # truncated digest
    with pytest.raises(RemoteProtocolError):
        m.block_cid(b"\x00\x55\x12\x20", b"x")  # CIDv0 must be dag-pb
    with pytest.raises(RemoteProtocolError):
        m.block_cid(b"\x02\x55\x12\x20", b"x")
    with pytest.raises(RemoteProtocolError):
        m.block_cid(b"\x01\x55\x12\x20\x00", b"x")


def test_encode_bytearray_is_encode_without_the_copy():
    msg = m.Message(wants=[m.Entry(V1, 7, False, m.WANT_HAVE, True)], blocks=[(V0, b"x" * 70000)],
                    presences=[(V1, m.HAVE)])
    for proto in m.PROTOCOLS:
        buf = m.encode_bytearray(msg, protocol=proto)
        assert isinstance(buf, bytearray) and bytes(buf) == m.encode(msg, protocol=proto)
