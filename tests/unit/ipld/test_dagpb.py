import pytest

from jiaozi_node.errors import CodecError
from jiaozi_node.ipld import CID, RAW, dagpb

C = CID.of(b"leaf", codec=RAW)


def test_roundtrip_links_before_data():
    node = dagpb.PBNode((dagpb.PBLink(C, "a", 4), dagpb.PBLink(C, "", 4)), b"\x08\x01")
    raw = dagpb.encode(node)
    assert raw[0] == 0x12  # Links first
    assert dagpb.decode(raw) == node


def test_empty_node_and_data_only():
    assert dagpb.decode(b"") == dagpb.PBNode()
    assert dagpb.decode(dagpb.encode(dagpb.PBNode((), b""))) == dagpb.PBNode((), b"")


def test_known_empty_directory_cid():
    # the unixfs empty directory, as Kubo produces it
    raw = dagpb.encode(dagpb.PBNode((), b"\x08\x01"))
    assert str(CID.of(raw, codec=0x70, version=0)) == "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"


@pytest.mark.parametrize(
    "raw",
    [
        b"\x0a\x00\x12\x00",  # Data before Links
        b"\x0a\x00\x0a\x00",  # duplicate Data
        b"\x1a\x00",  # unknown field 3
        b"\x12\x02\x12\x00",  # link without Hash
        b"\x12\x05\x0a\x10abc",  # truncated
        b"\x08\x01",  # wrong wire type
        b"\x0a\x05ab",  # truncated Data
    ],
)
def test_rejects_non_canonical(raw):
    with pytest.raises(CodecError):
        dagpb.decode(raw)
    with pytest.raises(CodecError):  # the links-only walk is as strict
        dagpb.link_cids(raw)


def test_link_cids_skips_data_and_keeps_link_order():
    other = CID.of(b"other", codec=RAW)
    node = dagpb.PBNode((dagpb.PBLink(C, "a", 4), dagpb.PBLink(other, "", 5)), b"\x08\x02" + b"x" * 300_000)
    assert dagpb.link_cids(dagpb.encode(node)) == [C, other]
    assert dagpb.link_cids(dagpb.encode(dagpb.PBNode((), b"leaf"))) == []


@pytest.mark.parametrize("n", [0, 1, 2, 174])
@pytest.mark.parametrize("data", [b"", b"\x08\x02\x18\x80\x80\x10", bytes(300)])
def test_encode_unnamed_is_encode_with_empty_names(n, data):
    cids = [CID.of(bytes([i % 256, i // 256]), codec=RAW) if i % 2 else
            CID.of(bytes([i % 256]), codec=0x70, version=0) for i in range(n)]
    tsizes = [0, 1, 127, 128, 262158, 2**40][:n] + [262158 * i for i in range(max(0, n - 6))]
    links = tuple(dagpb.PBLink(c, "", t) for c, t in zip(cids, tsizes, strict=True))
    fast = dagpb.encode_unnamed([(c.buffer, t) for c, t in zip(cids, tsizes, strict=True)], data)
    assert fast == dagpb.encode(dagpb.PBNode(links, data))
    assert dagpb.decode(fast) == dagpb.PBNode(links, data)
