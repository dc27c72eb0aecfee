from __future__ import annotations

import pytest

from jiaozi_node.errors import SignatureError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipld.cid import CID, DAG_PB
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import Author, Commit, Tag

ROOT = CID.of(b"root", codec=DAG_PB)
A = Identity.generate()
B = Identity.generate()


def unsigned(ident=A, **kw) -> Commit:
    return Commit(ROOT, (), Author("a", ident.peer_id), kw.get("message", "m"), 10)


def test_sign_and_verify():
    c = signing.sign(unsigned(), A)
    assert signing.verify(c) == A.peer_id


def test_sign_refuses_other_key():
    with pytest.raises(SignatureError, match="names signer"):
        signing.sign(unsigned(A), B)


def test_every_changed_byte_is_detected():
    c = signing.sign(unsigned(), A)
    data = c.encode()
    detected = 0
    for i in range(len(data)):
        tampered = bytearray(data)
        tampered[i] ^= 0x01
        try:
            back = Commit.decode(bytes(tampered))
            signing.verify(back)
        except Exception:
            detected += 1
    assert detected == len(data)


def test_field_swap_detected():
    c = signing.sign(unsigned(), A)
    forged = Commit.decode(c.encode()).__class__(ROOT, (), c.author, "other message", 10, None, c.signature)
    with pytest.raises(SignatureError, match="bad signature"):
        signing.verify(forged)


def test_signature_not_replayable_as_tag():
    c = signing.sign(unsigned(), A)
    t = Tag(CID.of(b"x", codec=0x71), "v", Author("a", A.peer_id), "m", 10, c.signature)
    with pytest.raises(SignatureError):
        signing.verify(t)


def test_unsigned_and_bad_signer():
    with pytest.raises(SignatureError, match="not signed"):
        signing.verify(unsigned())
    c = signing.sign(unsigned(), A)
    node = c.unsigned_node()
    node["author"] = {"name": "a", "peer": "QmNotAnEd25519Key"}
    node["sig"] = c.signature
    bad = Commit.decode(dagcbor.encode(node))
    with pytest.raises(SignatureError, match="not an Ed25519 peer ID"):
        signing.verify(bad)


def test_impersonation_detected():
    # B signs but names A as author: verification uses A's key from the object, so it fails
    c = unsigned(A)
    forged = c.with_signature(B.sign(c.signing_payload()))
    with pytest.raises(SignatureError):
        signing.verify(forged)


def test_trust():
    signing.check_trusted(A.peer_id, {A.peer_id})
    with pytest.raises(SignatureError, match="not a trusted key"):
        signing.check_trusted(B.peer_id, {A.peer_id})
