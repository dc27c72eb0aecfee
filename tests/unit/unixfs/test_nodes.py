"""Leaves and interior file nodes: exact bytes and sizes."""

from __future__ import annotations

from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.cid import DAG_PB, RAW
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.nodes import file_node, pb_leaf, raw_leaf


def test_raw_leaf_is_cidv1_raw() -> None:
    block, link = raw_leaf(b"hello")
    assert block.cid.version == 1 and block.cid.codec == RAW
    assert str(block.cid) == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
    assert (link.filesize, link.tsize) == (5, 5)


def test_pb_leaf_bytes_equal_generic_encoding() -> None:
    for chunk in (b"", b"x", b"y" * 300, b"z" * 70000):
        for t in (pb.DataType.File, pb.DataType.Raw):
            block, link = pb_leaf(chunk, cid_version=0, leaf_type=t)
            msg = pb.UnixFSData(t, data=chunk or None, filesize=len(chunk))
            assert block.data == dagpb.encode(dagpb.PBNode((), pb.encode(msg)))
            assert block.cid.codec == DAG_PB and block.cid.version == 0
            assert (link.filesize, link.tsize) == (len(chunk), len(block.data))
            block.verify()


def test_kubo_single_chunk_leaf() -> None:
    # Kubo `ipfs add` of the single byte content(1) (tests/vectors/kubo_vectors.json f_1).
    import hashlib

    block, _ = pb_leaf(hashlib.shake_128(b"jzfs-vectors-v1").digest(1), cid_version=0)
    assert str(block.cid) == "QmQZB77BYQzhAqzEMCfj5DUk32iHKgL8xMMSg3NqJZ1Pbr"


def test_file_node_sizes() -> None:
    a = raw_leaf(b"a" * 10)[1]
    b = pb_leaf(b"b" * 5, cid_version=1)[1]
    block, link = file_node([a, b], cid_version=1)
    node = dagpb.decode(block.data)
    assert [(x.cid, x.name, x.tsize) for x in node.links] == [(a.cid, "", 10), (b.cid, "", b.tsize)]
    assert node.data is not None
    fs = pb.decode(node.data)
    assert fs.blocksizes == (10, 5) and fs.filesize == 15 and fs.data is None
    assert link.filesize == 15 and link.tsize == len(block.data) + 10 + b.tsize


def test_leaf_link_matches_built_leaves() -> None:
    from jiaozi_node.ipld import multihash
    from jiaozi_node.unixfs.nodes import leaf_link

    for n in (0, 1, 127, 128, 300, 16384, 262144):
        chunk = bytes(range(256)) * (n // 256) + bytes(n % 256)
        view = memoryview(bytearray(chunk))
        for code in (multihash.SHA2_256, multihash.code_of("sha2-512")):
            _, link = raw_leaf(chunk, hash_code=code)
            assert leaf_link(view, raw=True, cid_version=1, hash_code=code) == link
            for version in (0, 1):
                if version == 0 and code != multihash.SHA2_256:
                    continue
                for t in (pb.DataType.File, pb.DataType.Raw):
                    _, link = pb_leaf(chunk, cid_version=version, leaf_type=t, hash_code=code)
                    assert leaf_link(view, raw=False, cid_version=version, leaf_type=t, hash_code=code) == link


def test_framed_leaf_built_in_place_equals_pb_leaf_and_raw_leaf() -> None:
    from jiaozi_node.ipld import multihash
    from jiaozi_node.unixfs.nodes import (
        PB_LEAF_HEAD_ROOM,
        PB_LEAF_TAIL_ROOM,
        framed_leaf,
        pb_leaf_frame,
    )

    for n in (1, 127, 128, 300, 16383, 16384, 262144, 1 << 20, (1 << 21) + 1):
        chunk = bytes(i % 251 for i in range(n))
        for t in (pb.DataType.File, pb.DataType.Raw):
            head, tail = pb_leaf_frame(n, t)
            assert len(head) <= PB_LEAF_HEAD_ROOM and len(tail) <= PB_LEAF_TAIL_ROOM
            buf = bytearray(PB_LEAF_HEAD_ROOM + n + PB_LEAF_TAIL_ROOM)
            off = PB_LEAF_HEAD_ROOM
            buf[off: off + n] = chunk
            buf[off - len(head): off] = head
            buf[off + n: off + n + len(tail)] = tail
            frame = memoryview(buf)[off - len(head): off + n + len(tail)]
            for version, code in ((0, multihash.SHA2_256), (1, multihash.SHA2_256), (1, 0x13)):
                block, link = framed_leaf(frame, n, raw=False, cid_version=version, hash_code=code)
                want, want_link = pb_leaf(chunk, cid_version=version, leaf_type=t, hash_code=code)
                assert block.cid == want.cid and bytes(block.data) == want.data and link == want_link
                assert block.data is frame  # no copy
        block, link = framed_leaf(memoryview(chunk), n, raw=True, cid_version=1)
        want, want_link = raw_leaf(chunk)
        assert block.cid == want.cid and link == want_link
