from __future__ import annotations

import pytest

from jiaozi_node.errors import CodecError, HashMismatch, LimitExceeded, NotFound, SignatureError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.block import verify as verify_block
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import Author, Commit, Tag
from jiaozi_node.versioning.verify import verify_history

A = Identity.generate()
B = Identity.generate()


class Store:
    def __init__(self):
        self.d = DagBuilder()

    def get(self, cid):
        data = self.d.store.get(cid)
        verify_block(cid, data)  # as the real store does on read
        return data

    def put_obj(self, obj):
        b = obj.block()
        self.d.store.put(b.cid, b.data)
        return b.cid


def chain(s: Store, n: int, ident=A):
    root = s.d.directory({"f": s.d.raw(b"data"), "g": s.d.chunked(b"x" * 50, chunk=10, width=3)})
    head = None
    cids = []
    for i in range(n):
        c = signing.sign(Commit(root, (head,) if head else (), Author("a", ident.peer_id), str(i), i), ident)
        head = s.put_obj(c)
        cids.append(head)
    return cids


def test_good_history_and_report():
    s = Store()
    cids = chain(s, 3)
    r = verify_history(s.get, cids[-1], trusted={A.peer_id})
    assert r.commits == 3 and r.roots == [cids[0]] and r.signers == {A.peer_id: 3}
    # each distinct block once: dir, f, and g = root + 2 interior nodes + 1 leaf (5 equal chunks)
    assert r.data_blocks == 6
    assert verify_history(s.get, cids[-1], trusted=set(), require_trusted=False).untrusted == [A.peer_id]
    with pytest.raises(SignatureError, match="untrusted"):
        verify_history(s.get, cids[-1], trusted={B.peer_id})


def test_tag_head():
    s = Store()
    cids = chain(s, 1)
    t = s.put_obj(signing.sign(Tag(cids[0], "v1", Author("b", B.peer_id), "m", 5), B))
    r = verify_history(s.get, t, trusted={A.peer_id, B.peer_id})
    assert r.tag is not None and r.signers == {A.peer_id: 1, B.peer_id: 1}


def test_failures_name_the_object():
    s = Store()
    cids = chain(s, 3)
    s.d.store.delete(cids[0])
    with pytest.raises(NotFound, match=f"commit {cids[0]} is missing"):
        verify_history(s.get, cids[-1], trusted={A.peer_id})
    s = Store()
    cids = chain(s, 2)
    data = s.d.store.get(cids[0])
    s.d.store.delete(cids[0])
    s.d.store.put(cids[0], data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(HashMismatch, match=str(cids[0])):
        verify_history(s.get, cids[-1], trusted={A.peer_id})
    s = Store()
    leaf = s.d.raw(b"not a commit")
    with pytest.raises(CodecError):
        verify_history(s.get, leaf, trusted={A.peer_id})
    s = Store()
    cids = chain(s, 6)
    with pytest.raises(LimitExceeded):
        verify_history(s.get, cids[-1], trusted={A.peer_id}, max_depth=3)
    # skip: the walk stops at commits already known to be good
    r = verify_history(s.get, cids[-1], trusted={A.peer_id}, skip={cids[3]})
    assert r.commits == 2


def test_missing_data_block():
    s = Store()
    cids = chain(s, 1)
    leaf = next(c for c in s.d.store.cids() if c.codec == 0x55)
    s.d.store.delete(leaf)
    with pytest.raises(NotFound, match="dataset of commit"):
        verify_history(s.get, cids[0], trusted={A.peer_id})
    assert verify_history(s.get, cids[0], trusted={A.peer_id}, data=False).commits == 1


def test_check_signature_the_one_status_function():
    import os

    from jiaozi_node.ipld.cid import CID
    from jiaozi_node.versioning.verify import check_signature, require_verified

    root = CID.decode("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
    good = signing.sign(Commit(root, (), Author("a", A.peer_id), "m", 1), A)
    assert check_signature(good, [A.peer_id]).status == "verified"
    untrusted = check_signature(good, [B.peer_id])
    assert untrusted.status == "untrusted" and untrusted.signer == A.peer_id
    forged = Commit(root, (), Author("a", A.peer_id), "m", 1).with_signature(os.urandom(64))
    bad = check_signature(forged, [A.peer_id])  # names a trusted key, signature random
    assert bad.status == "invalid" and bad.to_json() == {"signature": "invalid", "signer": A.peer_id}
    unsigned = check_signature(Commit(root, (), Author("a", A.peer_id), "m", 1), [A.peer_id])
    assert unsigned.status == "invalid"
    cid = good.block().cid
    require_verified(check_signature(good, [A.peer_id]), "commit", cid)
    with pytest.raises(SignatureError, match="invalid signature.*--no-verify"):
        require_verified(bad, "commit", cid)
    with pytest.raises(SignatureError, match=f"untrusted signer.*trust add {A.peer_id}") as info:
        require_verified(untrusted, "commit", cid, override=None)
    assert "--no-verify" not in str(info.value)
