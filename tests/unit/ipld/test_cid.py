import pytest
from cid import make_cid  # py-cid: an independent implementation to cross-check against
from multiformats import CID as MfCID

from jiaozi_node.errors import CodecError, InvalidInput
from jiaozi_node.ipld.cid import CID, DAG_PB, RAW

V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


def test_v0_roundtrip_and_v1_conversion():
    c = CID.decode(V0)
    assert c.version == 0 and c.codec == DAG_PB
    assert str(c) == V0
    v1 = c.to_v1()
    assert bytes(v1) == make_cid(V0).to_v1().buffer
    assert v1.to_v0() == c
    assert CID.decode(str(v1)) == v1


def test_of_matches_multiformats_and_pycid():
    c = CID.of(b"hello", codec=RAW)
    mf = MfCID.decode(str(c))
    assert bytes(mf) == bytes(c)
    assert make_cid(str(c)).buffer == bytes(c)
    assert c.digest == mf.digest[2:] or c.multihash == bytes(mf.digest)


@pytest.mark.parametrize("base", ["base32", "base58btc", "base36", "base64", "base16"])
def test_multibases_roundtrip(base):
    c = CID.of(b"x" * 100, codec=RAW)
    assert CID.decode(c.encode(base)) == c


@pytest.mark.parametrize("bad", ["", "Qm", "bafy", "zzzz", "b" + "a" * 60, "Qm" + "0" * 44, "notacid", "f01"])
def test_invalid_strings_raise_invalid_input(bad):
    with pytest.raises(InvalidInput):
        CID.decode(bad)


def test_binary_read_and_trailing_bytes():
    c = CID.of(b"abc", codec=RAW)
    got, end = CID.read(c.buffer + b"tail", 0)
    assert got == c and end == len(c.buffer)
    with pytest.raises(CodecError):
        CID.from_bytes(c.buffer + b"x")


def test_v0_needs_dag_pb_sha256():
    with pytest.raises(InvalidInput):
        CID(0, RAW, CID.of(b"a").multihash)
    with pytest.raises(InvalidInput):
        CID.decode("z" + "1" * 10)


def test_prefix_and_immutability():
    c = CID.decode(V0).to_v1()
    assert c.prefix() == bytes([1, 0x70, 0x12, 0x20])
    with pytest.raises(AttributeError):
        c.version = 0  # type: ignore[misc]
    assert {c: 1}[CID.decode(str(c))] == 1


def test_mf_roundtrip():
    c = CID.of(b"q", codec=0x71)
    assert CID.from_mf(c.to_mf()) == c


def test_base32_is_strict_one_string_per_cid():
    """Multibase `b`: lowercase RFC 4648 without padding; unused bits of the last character
    must be zero (else several strings name one CID)."""
    c = CID.of(b"hello")
    text = str(c)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    assert (len(text) - 1) * 5 % 8  # this form has unused bits
    for bit in (1, 2):
        bad = text[:-1] + alphabet[alphabet.index(text[-1]) | bit]
        with pytest.raises(InvalidInput, match="padding bits"):
            CID.decode(bad)
    for bad in ("b" + text[1:].upper(), text + "=", text[:-1], text[:-2] + "1" + text[-1]):
        with pytest.raises(InvalidInput):
            CID.decode(bad)
    assert CID.decode("B" + text[1:].upper()) == c  # base32upper is its own multibase


def test_multiformats_cid_made_once_and_kept():
    """`to_mf` parses once per CID (the library's parse costs ~0.2 ms, and checking a commit's
    signature re-encodes its links); a CID made by `from_mf` keeps the object it came from."""
    import pickle

    c = CID.of(b"x", codec=0x71)
    mf = c.to_mf()
    assert c.to_mf() is mf and bytes(mf) == bytes(c)
    back = CID.from_mf(mf)
    assert back == c and hash(back) == hash(c) and back.to_mf() is mf
    assert pickle.loads(pickle.dumps(c)) == c
    with pytest.raises(AttributeError):
        c._mf = None  # still immutable
