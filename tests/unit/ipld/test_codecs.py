from jiaozi_node.ipld import CID, DAG_CBOR, DAG_PB, RAW, codecs, dagcbor, dagpb


def test_links_of_each_codec():
    a, b = CID.of(b"a", codec=RAW), CID.of(b"b", codec=RAW)
    pb = dagpb.encode(dagpb.PBNode((dagpb.PBLink(a, "x", 1), dagpb.PBLink(b, "y", 1)), b"\x08\x01"))
    assert codecs.links(CID.of(pb, codec=DAG_PB), pb) == [a, b]
    cb = dagcbor.encode({"l": [a, {"k": b}]})
    assert codecs.links(CID.of(cb, codec=DAG_CBOR), cb) == [a, b]
    assert codecs.links(a, b"a") == []
