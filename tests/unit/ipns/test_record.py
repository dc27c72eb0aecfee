"""IPNS record core: creation, every validation rule, selection; py-libp2p's IPNSValidator as a
second oracle on the same cases."""

from __future__ import annotations

import time

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName
from jiaozi_node.ipns.record import (
    NS,
    InvalidRecord,
    IpnsEntry,
    create_record,
    format_rfc3339_ns,
    inspect_entry,
    parse_rfc3339_ns,
    select_record,
    validate_record,
)

NOW = time.time()


@pytest.fixture(autouse=True)
def _fresh_now() -> None:
    """Every test builds and checks its records against one `now` taken when it starts (a
    module-level value taken at collection goes stale in a long run)."""
    global NOW
    NOW = time.time()
VALUE = b"/ipfs/bafkqaddwgevxmmraojswg33smq"
HOUR = 3600 * NS


def _eol(seconds: float) -> int:
    return int((time.time() + seconds) * NS)  # real clock: the py-libp2p oracle reads it too


@pytest.fixture(scope="module")
def ed() -> PrivateKey:
    return PrivateKey.generate("ed25519")


@pytest.fixture(scope="module")
def rsa_key() -> PrivateKey:
    return PrivateKey.generate("rsa")


def name_of(key: PrivateKey) -> IpnsName:
    return IpnsName.from_public_key(key.public_key)


def make(key: PrivateKey, value: bytes = VALUE, **kw) -> bytes:
    args = {"seq": 1, "eol_ns": _eol(3600), "ttl_ns": HOUR, **kw}
    return create_record(key, value, **args)


def resign(key: PrivateKey, entry: IpnsEntry, **changes) -> bytes:
    """Re-encode with changes and a fresh, valid V2 signature over the (possibly new) data."""
    fields = {f: getattr(entry, f) for f in entry.__dataclass_fields__}
    fields.update(changes)
    fields["signature_v2"] = key.sign(b"ipns-signature:" + fields["data"])
    return IpnsEntry(**fields).encode()


# ------------------------------------------------------------------ time


@pytest.mark.parametrize("text,expect", [
    (b"1970-01-01T00:00:00.000000001Z", 1),
    (b"1970-01-01T00:00:01Z", NS),
    (b"2000-02-29T12:00:00.5+01:00", 951822000 * NS + NS // 2),
])
def test_rfc3339(text, expect):
    assert parse_rfc3339_ns(text) == expect


def test_rfc3339_roundtrip_and_offsets():
    for ns in (0, 1, 1_700_000_000_123_456_789, 4_102_444_800 * NS):
        assert parse_rfc3339_ns(format_rfc3339_ns(ns)) == ns
    assert parse_rfc3339_ns(b"2026-01-01T01:00:00+01:00") == parse_rfc3339_ns(b"2026-01-01T00:00:00Z")
    assert parse_rfc3339_ns(b"2026-01-01T00:00:00.25Z") == parse_rfc3339_ns(b"2026-01-01T00:00:00Z") + NS // 4
    with pytest.raises(InvalidRecord):
        parse_rfc3339_ns(b"2026-13-01T00:00:00Z")
    with pytest.raises(InvalidRecord):
        parse_rfc3339_ns(b"yesterday")


# ------------------------------------------------------------------ creation


def test_created_record_fields(ed):
    raw = make(ed, seq=7)
    entry = IpnsEntry.decode(raw)
    assert entry.value == VALUE and entry.sequence == 7 and entry.ttl == HOUR
    assert entry.validity_type == 0 and entry.signature_v1 and entry.signature_v2
    assert entry.pub_key is None  # Ed25519: inlined in the name
    doc = dagcbor.decode(entry.data)
    assert list(doc) == ["TTL", "Value", "Sequence", "Validity", "ValidityType"]
    assert doc["Validity"] == entry.validity
    # V1 signature is over value + validity + "EOL" (for legacy readers)
    ed.public_key.verify(entry.signature_v1, entry.value + entry.validity + b"EOL")
    rec = validate_record(name_of(ed), raw, now=NOW)
    assert (rec.value, rec.sequence, rec.ttl_ns, rec.has_v1) == (VALUE, 7, HOUR, True)


def test_v2_only(ed):
    raw = make(ed, v1_compatible=False)
    entry = IpnsEntry.decode(raw)
    assert entry.value is None and entry.signature_v1 is None and entry.sequence is None
    assert validate_record(name_of(ed), raw, now=NOW).has_v1 is False


@pytest.mark.parametrize("kind", ["rsa", "secp256k1", "ecdsa"])
def test_other_key_types_embed_key(kind, rsa_key):
    key = rsa_key if kind == "rsa" else PrivateKey.generate(kind)
    raw = make(key)
    name = name_of(key)
    entry = IpnsEntry.decode(raw)
    if kind == "secp256k1":  # 37-byte key protobuf: inlined in the name, nothing embedded
        assert entry.pub_key is None and name.inlined_key is not None
    else:
        assert entry.pub_key == key.public_key.protobuf and name.inlined_key is None
    assert validate_record(name, raw, now=NOW).value == VALUE


# ------------------------------------------------------------------ validation rules


def test_rsa_name_without_pubkey_is_refused(rsa_key):
    raw = make(rsa_key, embed_public_key=False)
    with pytest.raises(InvalidRecord, match="carries no pubKey"):
        validate_record(name_of(rsa_key), raw, now=NOW)


def test_size_limit_before_parsing(ed):
    with pytest.raises(InvalidRecord, match="exceeds"):
        validate_record(name_of(ed), b"\xff" * (10 * 1024 + 1), now=NOW)  # garbage: size first
    with pytest.raises(InvalidInput):
        make(ed, value=b"/ipfs/" + b"a" * 6000)  # creation refuses too


def test_truncated_and_garbage(ed):
    raw = make(ed)
    for cut in (1, 10, len(raw) // 2, len(raw) - 1):
        with pytest.raises(InvalidRecord):
            validate_record(name_of(ed), raw[:cut], now=NOW)
    with pytest.raises(InvalidRecord):
        validate_record(name_of(ed), b"", now=NOW)


def test_expired(ed):
    raw = make(ed, eol_ns=_eol(-1))
    with pytest.raises(InvalidRecord, match="expired"):
        validate_record(name_of(ed), raw, now=NOW)
    assert validate_record(name_of(ed), raw, now=NOW - 3600)  # valid earlier: `now` is handed in


def test_wrong_key(ed):
    other = PrivateKey.generate("ed25519")
    with pytest.raises(InvalidRecord, match="signatureV2"):
        validate_record(name_of(other), make(ed), now=NOW)


def test_embedded_key_must_match_name(ed, rsa_key):
    raw = make(ed, embed_public_key=True)
    assert validate_record(name_of(ed), raw, now=NOW)
    with pytest.raises(InvalidRecord, match="does not match the IPNS name"):
        validate_record(name_of(rsa_key), raw, now=NOW)


def test_bad_signature(ed):
    entry = IpnsEntry.decode(make(ed))
    bad = bytes([entry.signature_v2[0] ^ 1]) + entry.signature_v2[1:]
    raw = IpnsEntry(**{**entry.__dict__, "signature_v2": bad}).encode()
    with pytest.raises(InvalidRecord, match="signatureV2"):
        validate_record(name_of(ed), raw, now=NOW)


def test_missing_v2(ed):
    entry = IpnsEntry.decode(make(ed))
    v1_only = IpnsEntry(**{**entry.__dict__, "signature_v2": None, "data": None}).encode()
    with pytest.raises(InvalidRecord, match="signatureV2"):
        validate_record(name_of(ed), v1_only, now=NOW)


@pytest.mark.parametrize("field,value", [
    ("value", b"/ipfs/bafkqaaa"), ("validity", b"2099-01-01T00:00:00.000000000Z"),
    ("sequence", 99), ("ttl", 5), ("validity_type", 1),
])
def test_v1_v2_mismatch(ed, field, value):
    entry = IpnsEntry.decode(make(ed))
    raw = IpnsEntry(**{**entry.__dict__, field: value}).encode()  # V2 still valid
    with pytest.raises(InvalidRecord, match="does not match"):
        validate_record(name_of(ed), raw, now=NOW)


def test_data_must_be_strict(ed):
    entry = IpnsEntry.decode(make(ed))
    doc = dagcbor.decode(entry.data)
    for bad_doc in ({**doc, "Sequence": -1}, {**doc, "ValidityType": 1}, {**doc, "Value": "text"},
                    [1, 2]):
        try:
            data = dagcbor.encode(bad_doc)
        except Exception:
            continue
        raw = resign(ed, entry, data=data, value=None, signature_v1=None)
        with pytest.raises(InvalidRecord):
            validate_record(name_of(ed), raw, now=NOW)
    # non-canonical CBOR (keys out of order) is not DAG-CBOR
    import cbor2
    noncanon = cbor2.dumps({"Value": doc["Value"], "TTL": doc["TTL"], "Sequence": 1,
                            "Validity": doc["Validity"], "ValidityType": 0})
    raw = resign(ed, entry, data=noncanon, value=None, signature_v1=None)
    with pytest.raises(InvalidRecord, match="DAG-CBOR"):
        validate_record(name_of(ed), raw, now=NOW)


def test_extra_data_fields_ignored(ed):
    entry = IpnsEntry.decode(make(ed, v1_compatible=False))
    doc = dagcbor.decode(entry.data)
    raw = resign(ed, entry, data=dagcbor.encode({**doc, "_jzfs": {"x": 1}}))
    assert validate_record(name_of(ed), raw, now=NOW).value == VALUE


def test_unknown_protobuf_fields_skipped(ed):
    raw = make(ed) + b"\x50\x01" + b"\x5a\x02hi"  # fields 10 (varint) and 11 (bytes)
    assert validate_record(name_of(ed), raw, now=NOW)


# ------------------------------------------------------------------ selection


def test_select(ed):
    name = name_of(ed)
    low, high = make(ed, seq=1), make(ed, seq=2)
    assert select_record(name, [low, high], now=NOW) == 1
    assert select_record(name, [high, low], now=NOW) == 0
    short, long_ = make(ed, seq=5, eol_ns=_eol(60)), make(ed, seq=5, eol_ns=_eol(7200))
    assert select_record(name, [short, long_], now=NOW) == 1
    expired_high = make(ed, seq=9, eol_ns=_eol(-5))
    assert select_record(name, [expired_high, low], now=NOW) == 1  # invalid ones never win
    with pytest.raises(InvalidRecord):
        select_record(name, [expired_high, b"junk"], now=NOW)


def test_inspect(ed):
    info = inspect_entry(make(ed, seq=3))
    assert info["Value"] == VALUE.decode() and info["Sequence"] == 3 and info["HasV1Fields"]


# ------------------------------------------------------------------ py-libp2p as a second oracle

CASES = ["valid", "valid_v2_only", "valid_rsa", "expired", "wrong_key", "v1_v2_mismatch",
         "oversize", "bad_signature", "truncated"]


def _case(kind: str, ed: PrivateKey, rsa_key: PrivateKey) -> tuple[IpnsName, bytes]:
    name = name_of(ed)
    if kind == "valid":
        return name, make(ed)
    if kind == "valid_v2_only":
        return name, make(ed, v1_compatible=False)
    if kind == "valid_rsa":
        return name_of(rsa_key), make(rsa_key)
    if kind == "expired":
        return name, make(ed, eol_ns=int((time.time() - 10) * NS))
    if kind == "wrong_key":
        return name_of(PrivateKey.generate("ed25519")), make(ed)
    entry = IpnsEntry.decode(make(ed))
    if kind == "v1_v2_mismatch":
        return name, IpnsEntry(**{**entry.__dict__, "value": b"/ipfs/bafkqaaa"}).encode()
    if kind == "oversize":
        return name, make(ed) + b"\x5a" + bytes([0x80, 0x50]) + b"x" * (10 * 1024)
    if kind == "bad_signature":
        sig = bytes([entry.signature_v2[0] ^ 1]) + entry.signature_v2[1:]
        return name, IpnsEntry(**{**entry.__dict__, "signature_v2": sig}).encode()
    return name, make(ed)[:-7]


@pytest.mark.parametrize("kind", CASES)
def test_pylibp2p_oracle_agrees(kind, ed, rsa_key):
    pytest.importorskip("libp2p.records.ipns")
    from libp2p.records.ipns import IPNSValidator

    name, raw = _case(kind, ed, rsa_key)
    ours = theirs = True
    try:
        validate_record(name, raw, now=time.time())
    except InvalidRecord:
        ours = False
    try:
        IPNSValidator().validate("/ipns/" + name.peer_id, raw)
    except Exception:
        theirs = False
    assert ours == theirs == kind.startswith("valid")


def test_pylibp2p_oracle_selects_alike(ed):
    pytest.importorskip("libp2p.records.ipns")
    from libp2p.records.ipns import IPNSValidator

    name = name_of(ed)
    sets = [[make(ed, seq=1), make(ed, seq=2)], [make(ed, seq=3), make(ed, seq=2)],
            [make(ed, seq=4, eol_ns=_eol(60)), make(ed, seq=4, eol_ns=_eol(600))]]
    for values in sets:
        assert select_record(name, values, now=time.time()) == \
            IPNSValidator().select("/ipns/" + name.peer_id, values)
