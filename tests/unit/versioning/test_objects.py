from __future__ import annotations

import pytest

from jiaozi_node.errors import CodecError, LimitExceeded
from jiaozi_node.identity import Identity
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipld.cid import CID, DAG_CBOR, DAG_PB
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import (
    COMMIT_DOMAIN,
    Author,
    Commit,
    Input,
    Provenance,
    Tag,
    decode_commit,
    decode_object,
)

ROOT = CID.of(b"root", codec=DAG_PB)
IDENT = Identity.from_config(Identity.generate().to_config())


def make_commit(**kw) -> Commit:
    fields = dict(root=ROOT, parents=(), author=Author("Ada", IDENT.peer_id, "ada@example.org"),
                  message="first", timestamp=1_700_000_000)
    fields.update(kw)
    return signing.sign(Commit(**fields), IDENT)


def test_commit_roundtrip_and_cid_kind():
    prov = Provenance(inputs=(Input(cid=ROOT), Input(ref="raw@main")), command="clean.py --x",
                      params=(("a", "1"), ("b", "2")))
    c = make_commit(provenance=prov)
    block = c.block()
    assert block.cid.codec == DAG_CBOR and block.cid.version == 1
    assert str(block.cid).startswith("bafyrei")
    back = decode_commit(block.cid, block.data)
    assert back == c
    assert back.provenance.params == (("a", "1"), ("b", "2"))
    node = dagcbor.decode(block.data)
    assert set(node) == {"type", "v", "root", "parents", "author", "message", "timestamp", "provenance", "sig"}
    assert node["type"] == "jzfs/commit" and node["v"] == 1


def test_signing_payload_is_domain_separated_and_excludes_sig():
    c = make_commit()
    payload = c.signing_payload()
    assert payload.startswith(COMMIT_DOMAIN)
    node = dagcbor.decode(payload[len(COMMIT_DOMAIN):])
    assert "sig" not in node
    assert signing.verify(c) == IDENT.peer_id


def test_unsigned_commit_cannot_be_encoded():
    c = Commit(ROOT, (), Author("a", IDENT.peer_id), "m", 1)
    with pytest.raises(CodecError, match="unsigned"):
        c.encode()


def test_empty_provenance_is_omitted():
    c = make_commit(provenance=Provenance())
    assert "provenance" not in dagcbor.decode(c.encode())


def test_tag_roundtrip():
    target = make_commit().block().cid
    t = signing.sign(Tag(target, "v1", Author("Ada", IDENT.peer_id), "release", 5), IDENT)
    b = t.block()
    back = decode_object(b.cid, b.data)
    assert isinstance(back, Tag) and back == t
    assert signing.verify(back) == IDENT.peer_id
    with pytest.raises(CodecError, match="is a tag"):
        decode_commit(b.cid, b.data)


def _reencode(c: Commit, **changes) -> bytes:
    node = c.unsigned_node()
    node["sig"] = c.signature
    node.update(changes)
    return dagcbor.encode(node)


@pytest.mark.parametrize("changes,match", [
    ({"extra": 1}, "unknown keys"),
    ({"v": 2}, "format version"),
    ({"type": "other"}, "not a commit"),
    ({"root": "bafy"}, "root must be a link"),
    ({"parents": [ROOT]}, "dag-cbor links"),
    ({"timestamp": -1}, "timestamp"),
    ({"timestamp": 1.5}, "timestamp"),
    ({"sig": b"short"}, "64 bytes"),
    ({"author": {"name": "x"}}, "author lacks"),
    ({"message": 5}, "message must be a string"),
])
def test_strict_schema(changes, match):
    data = _reencode(make_commit(), **changes)
    with pytest.raises(CodecError, match=match):
        Commit.decode(data)


def test_repeated_parents_rejected():
    p = CID.of(b"p", codec=DAG_CBOR)
    data = _reencode(make_commit(), parents=[p, p])
    with pytest.raises(CodecError, match="repeat"):
        Commit.decode(data)


def test_non_canonical_cbor_rejected():
    data = make_commit().encode()
    canonical_ts = b"\x1a" + (1_700_000_000).to_bytes(4, "big")
    assert data.count(canonical_ts) == 1
    overlong = data.replace(canonical_ts, b"\x1b" + (1_700_000_000).to_bytes(8, "big"))
    with pytest.raises(CodecError):
        Commit.decode(overlong)
    with pytest.raises(CodecError):
        Commit.decode(data + b"\x00")


def test_size_limit():
    c = make_commit(message="x" * 2000)
    with pytest.raises(LimitExceeded):
        Commit.decode(c.encode(), max_bytes=1000)


def test_decode_object_rejects_other_codecs_and_types():
    with pytest.raises(CodecError, match="not a dag-cbor"):
        decode_object(ROOT, b"")
    data = dagcbor.encode({"hello": 1})
    with pytest.raises(CodecError, match="not a jzfs commit"):
        decode_object(CID.of(data, codec=DAG_CBOR), data)


def test_input_exactly_one_of_cid_ref():
    with pytest.raises(CodecError):
        Input()
    with pytest.raises(CodecError):
        Input(cid=ROOT, ref="x")
    assert str(Input(ref="a@b")) == "a@b"


def test_author_str():
    assert str(Author("A", "12D3", "a@x")) == "A <a@x> [12D3]"
