"""IPNS records (pure, handed `now`): create, validate and select, as the spec "IPNS Record" says.

    raw = create_record(key, b"/ipfs/bafy…", seq=3, eol_ns=..., ttl_ns=...)   # V1+V2 by default
    rec = validate_record(name, raw, now=time.time())                        # IpnsRecord or InvalidRecord
    best = select_record(name, [raw1, raw2], now=...)                         # index of the best

`validate_record` is the ONE check every record goes through, whoever delivered it (DHT peer,
delegated router, gateway, DNS, disk). The rules, in the spec's order, failing on the first:

1. the serialized `IpnsEntry` is at most 10 KiB (checked before parsing);
2. `signatureV2` and `data` are present and non-empty;
3. the public key: `pubKey` if present (its peer-ID multihash must equal the name), else the key
   inlined in the name (identity multihash); a hashed name without `pubKey` cannot be checked;
4. `data` is strict DAG-CBOR: a map with Value (bytes), Validity (bytes), ValidityType (0),
   Sequence and TTL (uint64);
5. `signatureV2` verifies over `"ipns-signature:" + data`;
6. when V1 fields are present (`value` or `signatureV1`), value, validity, validityType, sequence
   and ttl must equal their DAG-CBOR twins (the V1 signature itself is never trusted);
7. ValidityType 0 (EOL): Validity is RFC 3339 and later than `now`.

Selection: the higher Sequence wins; equal sequences -> the later EOL; full ties keep the first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import IPNS_LIMITS
from ..errors import CodecError, InvalidInput, SignatureError
from ..ipld import dagcbor, varint
from .crypto import PrivateKey, PublicKey
from .name import IpnsName

SIGNATURE_V2_PREFIX = b"ipns-signature:"
VALIDITY_EOL = 0
UINT64_MAX = 2**64 - 1
NS = 1_000_000_000


class InvalidRecord(InvalidInput):
    """An IPNS record that fails validation; the message names the rule."""


# ------------------------------------------------------------------------------ time (RFC 3339)

_RFC3339 = re.compile(
    rb"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))")


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def parse_rfc3339_ns(text: bytes) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp (`2026-01-01T00:00:00.123456789Z`)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise InvalidRecord(f"validity {text[:40]!r} is not an RFC 3339 timestamp")
    y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and hh <= 23 and mi <= 59 and ss <= 60):
        raise InvalidRecord(f"validity {text[:40]!r} is not a valid date")
    frac = m.group(7) or b""
    ns = int(frac.ljust(9, b"0")) if frac else 0
    offset = 0
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60
        if m.group(9) == b"-":
            offset = -offset
    secs = _days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset
    return secs * NS + ns


def format_rfc3339_ns(ns: int) -> bytes:
    """RFC 3339 in UTC with nine fraction digits, as js-ipns writes it."""
    secs, frac = divmod(ns, NS)
    days, rem = divmod(secs, 86400)
    y, mo, d = _civil_from_days(days)
    return (f"{y:04d}-{mo:02d}-{d:02d}T{rem // 3600:02d}:{rem // 60 % 60:02d}:{rem % 60:02d}"
            f".{frac:09d}Z").encode()


# ------------------------------------------------------------------------------ protobuf

_BYTES_FIELDS = {1: "value", 2: "signature_v1", 4: "validity", 7: "pub_key", 8: "signature_v2",
                 9: "data"}
_VARINT_FIELDS = {3: "validity_type", 5: "sequence", 6: "ttl"}


@dataclass(frozen=True)
class IpnsEntry:
    """The protobuf `IpnsEntry`; None = field absent."""

    value: bytes | None = None
    signature_v1: bytes | None = None
    validity_type: int | None = None
    validity: bytes | None = None
    sequence: int | None = None
    ttl: int | None = None
    pub_key: bytes | None = None
    signature_v2: bytes | None = None
    data: bytes | None = None

    def encode(self) -> bytes:
        out = bytearray()
        for num in range(1, 10):
            if num in _BYTES_FIELDS:
                v = getattr(self, _BYTES_FIELDS[num])
                if v is not None:
                    out += varint.encode(num << 3 | 2) + varint.encode(len(v)) + v
            else:
                v = getattr(self, _VARINT_FIELDS[num])
                if v is not None:
                    out += varint.encode(num << 3) + varint.encode(v)
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> IpnsEntry:
        """Protobuf rules: unknown fields are skipped, a repeated field's last value wins;
        truncation or a wrong wire type for a known field is an error."""
        fields: dict[str, object] = {}
        pos, n = 0, len(raw)
        try:
            while pos < n:
                key, pos = varint.decode(raw, pos)
                num, wt = key >> 3, key & 7
                if num == 0:
                    raise InvalidRecord("protobuf field number 0")
                if wt == 0:
                    v, pos = varint.decode(raw, pos)
                    if num in _VARINT_FIELDS:
                        fields[_VARINT_FIELDS[num]] = v
                    elif num in _BYTES_FIELDS:
                        raise InvalidRecord(f"protobuf field {num} has the wrong wire type")
                elif wt == 2:
                    length, pos = varint.decode(raw, pos)
                    if pos + length > n:
                        raise InvalidRecord("truncated protobuf")
                    if num in _BYTES_FIELDS:
                        fields[_BYTES_FIELDS[num]] = bytes(raw[pos:pos + length])
                    elif num in _VARINT_FIELDS:
                        raise InvalidRecord(f"protobuf field {num} has the wrong wire type")
                    pos += length
                elif wt in (1, 5):
                    if num in _BYTES_FIELDS or num in _VARINT_FIELDS:
                        raise InvalidRecord(f"protobuf field {num} has the wrong wire type")
                    pos += 8 if wt == 1 else 4
                    if pos > n:
                        raise InvalidRecord("truncated protobuf")
                else:
                    raise InvalidRecord(f"unsupported protobuf wire type {wt}")
        except (ValueError, IndexError, CodecError) as exc:
            if isinstance(exc, InvalidRecord):
                raise
            raise InvalidRecord(f"malformed protobuf: {exc}") from None
        for name in ("validity_type", "sequence", "ttl"):
            v = fields.get(name)
            if isinstance(v, int) and v > UINT64_MAX:
                raise InvalidRecord(f"{name} overflows uint64")
        return cls(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class IpnsRecord:
    """A validated record: what its signed DAG-CBOR `data` says."""

    value: bytes
    sequence: int
    validity_ns: int  # EOL, nanoseconds since the epoch
    ttl_ns: int
    has_v1: bool
    raw: bytes

    @property
    def value_text(self) -> str:
        return self.value.decode("utf-8", "replace")

    def expires_in(self, now: float) -> float:
        return self.validity_ns / NS - now


def data_fields(value: bytes, seq: int, eol_ns: int, ttl_ns: int) -> dict[str, object]:
    return {"Value": value, "Validity": format_rfc3339_ns(eol_ns), "ValidityType": VALIDITY_EOL,
            "Sequence": seq, "TTL": ttl_ns}


def create_record(key: PrivateKey, value: bytes | str, *, seq: int, eol_ns: int, ttl_ns: int,
                  v1_compatible: bool = True, embed_public_key: bool | None = None,
                  max_bytes: int = IPNS_LIMITS.max_record_bytes) -> bytes:
    """A signed record. V1 fields (and signatureV1) are written too unless `v1_compatible` is
    False; the public key is embedded when it is not inlined in the name (RSA) unless told."""
    if isinstance(value, str):
        value = value.encode()
    if not (0 <= seq <= UINT64_MAX and 0 <= ttl_ns <= UINT64_MAX and eol_ns >= 0):
        raise InvalidInput("sequence, TTL and EOL must be unsigned 64-bit values")
    fields = data_fields(value, seq, eol_ns, ttl_ns)
    data = dagcbor.encode(fields)
    pub = key.public_key
    if embed_public_key is None:
        embed_public_key = IpnsName.from_public_key(pub).inlined_key is None
    entry = IpnsEntry(pub_key=pub.protobuf if embed_public_key else None,
                      signature_v2=key.sign(SIGNATURE_V2_PREFIX + data), data=data)
    if v1_compatible:
        validity = fields["Validity"]
        assert isinstance(validity, bytes)
        entry = IpnsEntry(value=value, signature_v1=key.sign(value + validity + b"EOL"),
                          validity_type=VALIDITY_EOL, validity=validity, sequence=seq,
                          ttl=ttl_ns, pub_key=entry.pub_key, signature_v2=entry.signature_v2,
                          data=data)
    raw = entry.encode()
    if len(raw) > max_bytes:
        raise InvalidInput(f"record of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    return raw


def _uint(data: dict[str, object], name: str, *, required: bool = True) -> int:
    v = data.get(name)
    if v is None and not required:
        return 0
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= UINT64_MAX:
        raise InvalidRecord(f"data field {name} must be an unsigned 64-bit integer")
    return v


def parse_data(data: bytes) -> tuple[bytes, bytes, int, int, int]:
    """(Value, Validity, ValidityType, Sequence, TTL) of the DAG-CBOR `data` (rule 4)."""
    try:
        doc = dagcbor.decode(data)
    except CodecError as exc:
        raise InvalidRecord(f"data is not strict DAG-CBOR: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidRecord("data is not a DAG-CBOR map")
    value, validity = doc.get("Value"), doc.get("Validity")
    if not isinstance(value, bytes) or not value:
        raise InvalidRecord("data field Value must be non-empty bytes")
    if not isinstance(validity, bytes):
        raise InvalidRecord("data field Validity must be bytes")
    vtype = _uint(doc, "ValidityType")
    return value, validity, vtype, _uint(doc, "Sequence"), _uint(doc, "TTL", required=False)


def record_public_key(name: IpnsName, entry: IpnsEntry) -> PublicKey:
    """Rule 3: the key that must have signed a record for `name`."""
    if entry.pub_key:
        try:
            pub = PublicKey.from_protobuf(entry.pub_key)
        except InvalidInput as exc:
            raise InvalidRecord(f"pubKey: {exc}") from None
        if pub.peer_id_multihash() != name.multihash:
            raise InvalidRecord("the record's public key does not match the IPNS name")
        return pub
    try:
        inlined = name.inlined_key
    except InvalidInput as exc:
        raise InvalidRecord(f"key inlined in the name: {exc}") from None
    if inlined is None:
        raise InvalidRecord("the name does not inline its key and the record carries no pubKey")
    return inlined


def validate_record(name: IpnsName, raw: bytes, *, now: float,
                    max_bytes: int = IPNS_LIMITS.max_record_bytes) -> IpnsRecord:
    """The one validation of a record for `name` at time `now` (seconds since the epoch).
    Returns the validated record; raises InvalidRecord naming the failed rule."""
    if len(raw) > max_bytes:
        raise InvalidRecord(f"record of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    entry = IpnsEntry.decode(raw)
    if not entry.signature_v2:
        raise InvalidRecord("record has no signatureV2 (V1-only records are not accepted)")
    if not entry.data:
        raise InvalidRecord("record has no data field")
    pub = record_public_key(name, entry)
    value, validity, vtype, seq, ttl = parse_data(entry.data)
    try:
        pub.verify(entry.signature_v2, SIGNATURE_V2_PREFIX + entry.data)
    except SignatureError:
        raise InvalidRecord("signatureV2 does not verify with the name's key") from None
    has_v1 = bool(entry.value) or bool(entry.signature_v1)
    if has_v1:
        pairs = (("value", entry.value, value), ("validity", entry.validity, validity),
                 ("validityType", entry.validity_type or 0, vtype),
                 ("sequence", entry.sequence or 0, seq), ("ttl", entry.ttl or 0, ttl))
        for field_name, v1, v2 in pairs:
            if v1 != v2:
                raise InvalidRecord(f"V1 field {field_name} does not match the signed data")
    if vtype != VALIDITY_EOL:
        raise InvalidRecord(f"unsupported ValidityType {vtype} (only 0, EOL)")
    eol = parse_rfc3339_ns(validity)
    if eol <= int(now * NS):
        raise InvalidRecord(f"record expired at {validity.decode('ascii', 'replace')}")
    return IpnsRecord(value=value, sequence=seq, validity_ns=eol, ttl_ns=ttl, has_v1=has_v1,
                      raw=bytes(raw))


def better(a: IpnsRecord, b: IpnsRecord) -> bool:
    """Is `a` strictly better than `b`? Higher sequence, then later EOL."""
    return (a.sequence, a.validity_ns) > (b.sequence, b.validity_ns)


def select_record(name: IpnsName, values: Sequence[bytes], *, now: float) -> int:
    """Index of the best valid record in `values` (invalid ones never win); raises
    InvalidRecord when none is valid."""
    best_i, best = -1, None
    errors = []
    for i, raw in enumerate(values):
        try:
            rec = validate_record(name, raw, now=now)
        except InvalidRecord as exc:
            errors.append(str(exc))
            continue
        if best is None or better(rec, best):
            best_i, best = i, rec
    if best is None:
        raise InvalidRecord(f"no valid record among {len(values)}: {'; '.join(errors[:3])}")
    return best_i


def inspect_entry(raw: bytes, *, max_bytes: int = IPNS_LIMITS.max_record_bytes) -> dict[str, object]:
    """Every field of a record, unvalidated (for `jzfs name inspect`), Kubo's JSON shape."""
    entry = IpnsEntry.decode(raw[:max_bytes + 1]) if len(raw) <= max_bytes else None
    if entry is None:
        raise InvalidRecord(f"record of {len(raw)} bytes exceeds the {max_bytes}-byte limit")
    out: dict[str, object] = {}
    if entry.data:
        value, validity, vtype, seq, ttl = parse_data(entry.data)
        out.update({"Value": value.decode("utf-8", "replace"), "ValidityType": vtype,
                    "Validity": validity.decode("ascii", "replace"), "Sequence": seq, "TTL": ttl})
    out["PublicKey"] = entry.pub_key.hex() if entry.pub_key else ""
    out["SignatureV1"] = entry.signature_v1.hex() if entry.signature_v1 else ""
    out["SignatureV2"] = entry.signature_v2.hex() if entry.signature_v2 else ""
    out["HasV1Fields"] = bool(entry.value or entry.signature_v1)
    return out
