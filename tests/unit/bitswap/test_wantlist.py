from jiaozi_node.bitswap.message import WANT_BLOCK, WANT_HAVE
from jiaozi_node.bitswap.wantlist import Want, Wantlist


def test_bounded_and_ordered():
    wl = Wantlist(max_entries=2)
    assert wl.add(Want(b"a", priority=1)) and wl.add(Want(b"b", priority=5))
    assert not wl.add(Want(b"c"))
    assert [w.cid for w in wl] == [b"a", b"b"]
    assert [w.cid for w in wl.sorted_entries()] == [b"b", b"a"]
    assert wl.add(Want(b"a", priority=9))  # update of an existing entry is always accepted
    assert len(wl) == 2 and b"a" in wl


def test_want_block_never_degrades_to_have():
    wl = Wantlist(max_entries=4)
    wl.add(Want(b"a", WANT_BLOCK))
    wl.add(Want(b"a", WANT_HAVE))
    assert wl.get(b"a").want_type == WANT_BLOCK
    wl.add(Want(b"h", WANT_HAVE))
    wl.add(Want(b"h", WANT_BLOCK))
    assert wl.get(b"h").want_type == WANT_BLOCK


def test_discard_and_clear():
    wl = Wantlist(max_entries=4)
    wl.add(Want(b"a"))
    assert wl.discard(b"a") and not wl.discard(b"a")
    wl.add(Want(b"b"))
    wl.clear()
    assert len(wl) == 0
