"""libp2p keys of every type IPNS meets (pure: no I/O), on `cryptography`.

The libp2p key protobuf (`PublicKey`/`PrivateKey {Type, Data}`), the four key types and what
their `Data` holds, as the libp2p peer-ID spec defines them:

    Ed25519   (1)  public: 32 raw bytes             private: 64 bytes (seed || public)
    RSA       (0)  public: PKIX DER                 private: PKCS#1 DER      signature: PKCS#1 v1.5, SHA-256
    Secp256k1 (2)  public: 33-byte compressed point private: 32-byte scalar  signature: ECDSA (DER), SHA-256
    ECDSA     (3)  public: PKIX DER                 private: SEC1 DER        signature: ECDSA (DER), SHA-256

A peer ID (and an IPNS name) is the multihash of the public key protobuf: the identity
multihash when that protobuf is at most 42 bytes (Ed25519, secp256k1), else SHA2-256.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ..config import IPNS_LIMITS
from ..errors import InvalidInput, SignatureError
from ..frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class
from ..ipld import varint

RSA, ED25519, SECP256K1, ECDSA = 0, 1, 2, 3
KEY_TYPE_NAMES = {RSA: "rsa", ED25519: "ed25519", SECP256K1: "secp256k1", ECDSA: "ecdsa"}
# Public key protobufs up to this size are inlined in the peer ID (identity multihash).
MAX_INLINE_KEY_BYTES = 42


def encode_key_protobuf(key_type: int, data: bytes) -> bytes:
    return b"\x08" + varint.encode(key_type) + b"\x12" + varint.encode(len(data)) + data


def decode_key_protobuf(raw: bytes, *,
                        max_bytes: int = IPNS_LIMITS.max_key_protobuf_bytes) -> tuple[int, bytes]:
    """`{Type, Data}` of a libp2p PublicKey/PrivateKey protobuf; raises InvalidInput."""
    if len(raw) > max_bytes:
        raise InvalidInput("key protobuf too large")
    pos, key_type, data = 0, None, None
    try:
        while pos < len(raw):
            tag, pos = varint.decode(raw, pos)
            if tag == 0x08:
                key_type, pos = varint.decode(raw, pos)
            elif tag == 0x12:
                n, pos = varint.decode(raw, pos)
                if pos + n > len(raw):
                    raise InvalidInput("truncated key protobuf")
                data, pos = bytes(raw[pos:pos + n]), pos + n
            else:
                raise InvalidInput("malformed key protobuf")
    except (ValueError, IndexError) as exc:
        raise InvalidInput(f"malformed key protobuf: {exc}") from None
    if key_type is None or data is None:
        raise InvalidInput("key protobuf lacks Type or Data")
    if key_type not in KEY_TYPE_NAMES:
        raise InvalidInput(f"unknown key type {key_type}")
    return key_type, data


def _ecdsa_curve_ok(curve: Any) -> bool:
    return isinstance(curve, (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1))


@dataclass(frozen=True)
class PublicKey:
    """A libp2p public key; `verify` raises SignatureError."""

    type: int
    data: bytes

    @classmethod
    def from_protobuf(cls, raw: bytes) -> PublicKey:
        key_type, data = decode_key_protobuf(raw)
        key = cls(key_type, data)
        key._load()  # refuse malformed keys now, not at first use
        return key

    @property
    def protobuf(self) -> bytes:
        return encode_key_protobuf(self.type, self.data)

    @property
    def type_name(self) -> str:
        return KEY_TYPE_NAMES[self.type]

    def peer_id_multihash(self) -> bytes:
        pb = self.protobuf
        if len(pb) <= MAX_INLINE_KEY_BYTES:
            return b"\x00" + varint.encode(len(pb)) + pb
        return b"\x12\x20" + hashlib.sha256(pb).digest()

    def _load(self, *, min_rsa_bits: int = IPNS_LIMITS.min_rsa_bits) -> Any:
        try:
            if self.type == ED25519:
                if len(self.data) != 32:
                    raise InvalidInput("an Ed25519 public key is 32 bytes")
                return ed25519.Ed25519PublicKey.from_public_bytes(self.data)
            if self.type == SECP256K1:
                return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), self.data)
            key = serialization.load_der_public_key(self.data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InvalidInput(f"malformed {self.type_name} public key: {exc}") from None
        if self.type == RSA:
            if not isinstance(key, rsa.RSAPublicKey):
                raise InvalidInput("key of type RSA is not an RSA key")
            if key.key_size < min_rsa_bits:
                raise InvalidInput(f"RSA key of {key.key_size} bits (< {min_rsa_bits})")
            return key
        if not isinstance(key, ec.EllipticCurvePublicKey) or not _ecdsa_curve_ok(key.curve):
            raise InvalidInput("key of type ECDSA is not a P-256/384/521 key")
        return key

    def verify(self, signature: bytes, message: bytes) -> None:
        key = self._load()
        try:
            if self.type == ED25519:
                key.verify(signature, message)
            elif self.type == RSA:
                key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            else:
                key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            raise SignatureError("invalid signature") from None


class PrivateKey:
    """A libp2p private key that signs (every type; Ed25519 is what `key gen` makes)."""

    def __init__(self, key_type: int, key: Any) -> None:
        self.type = key_type
        self._key = key

    @classmethod
    def generate(cls, key_type: str = "ed25519", *, size: int = 2048,
                 min_rsa_bits: int = IPNS_LIMITS.min_rsa_bits) -> PrivateKey:
        if key_type == "ed25519":
            return cls(ED25519, ed25519.Ed25519PrivateKey.generate())
        if key_type == "rsa":
            if size < min_rsa_bits:
                raise InvalidInput(f"RSA keys must have at least {min_rsa_bits} bits")
            return cls(RSA, rsa.generate_private_key(public_exponent=65537, key_size=size))
        if key_type == "secp256k1":
            return cls(SECP256K1, ec.generate_private_key(ec.SECP256K1()))
        if key_type == "ecdsa":
            return cls(ECDSA, ec.generate_private_key(ec.SECP256R1()))
        raise InvalidInput(f"unknown key type {key_type!r} (ed25519, rsa, secp256k1, ecdsa)")

    @classmethod
    def from_protobuf(cls, raw: bytes, *, min_rsa_bits: int = IPNS_LIMITS.min_rsa_bits) -> PrivateKey:
        key_type, data = decode_key_protobuf(raw)
        try:
            if key_type == ED25519:
                if len(data) not in (32, 64):
                    raise InvalidInput("an Ed25519 private key is 64 bytes (seed || public)")
                key: Any = ed25519.Ed25519PrivateKey.from_private_bytes(data[:32])
                if len(data) == 64 and key.public_key().public_bytes_raw() != data[32:]:
                    raise InvalidInput("Ed25519 private key: public half does not match the seed")
            elif key_type == RSA:
                key = serialization.load_der_private_key(data, password=None)
                if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < min_rsa_bits:
                    raise InvalidInput(f"not an RSA key of at least {min_rsa_bits} bits")
            elif key_type == SECP256K1:
                if len(data) != 32:
                    raise InvalidInput("a secp256k1 private key is 32 bytes")
                key = ec.derive_private_key(int.from_bytes(data, "big"), ec.SECP256K1())
            else:
                key = serialization.load_der_private_key(data, password=None)
                if not isinstance(key, ec.EllipticCurvePrivateKey) or not _ecdsa_curve_ok(key.curve):
                    raise InvalidInput("not a P-256/384/521 ECDSA key")
        except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
            raise InvalidInput(f"malformed {KEY_TYPE_NAMES[key_type]} private key: {exc}") from None
        return cls(key_type, key)

    @classmethod
    def from_pem(cls, pem: bytes, *, min_rsa_bits: int = IPNS_LIMITS.min_rsa_bits) -> PrivateKey:
        """A PKCS#8 PEM private key (Kubo's `pem-pkcs8-cleartext`)."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidInput(f"not a cleartext PKCS#8 PEM private key: {exc}") from None
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return cls(ED25519, key)
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < min_rsa_bits:
                raise InvalidInput(f"RSA keys must have at least {min_rsa_bits} bits")
            return cls(RSA, key)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            if isinstance(key.curve, ec.SECP256K1):
                return cls(SECP256K1, key)
            if _ecdsa_curve_ok(key.curve):
                return cls(ECDSA, key)
        raise InvalidInput(f"unsupported key in PEM: {type(key).__name__}")

    @property
    def type_name(self) -> str:
        return KEY_TYPE_NAMES[self.type]

    def to_protobuf(self) -> bytes:
        k = self._key
        if self.type == ED25519:
            seed = k.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
            data = seed + k.public_key().public_bytes_raw()
        elif self.type == RSA:
            data = k.private_bytes(serialization.Encoding.DER,
                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption())
        elif self.type == SECP256K1:
            data = k.private_numbers().private_value.to_bytes(32, "big")
        else:
            data = k.private_bytes(serialization.Encoding.DER,
                                   serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption())
        return encode_key_protobuf(self.type, data)

    def to_pem(self) -> bytes:
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    @property
    def public_key(self) -> PublicKey:
        pub = self._key.public_key()
        if self.type == ED25519:
            data = pub.public_bytes_raw()
        elif self.type == SECP256K1:
            data = pub.public_bytes(serialization.Encoding.X962,
                                    serialization.PublicFormat.CompressedPoint)
        else:
            data = pub.public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        return PublicKey(self.type, data)

    def sign(self, message: bytes) -> bytes:
        if self.type == ED25519:
            return bytes(self._key.sign(message))
        if self.type == RSA:
            return bytes(self._key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
        return bytes(self._key.sign(message, ec.ECDSA(hashes.SHA256())))
