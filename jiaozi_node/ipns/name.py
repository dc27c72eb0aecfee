"""IPNS names (pure): parse every form users and peers write, print the one Kubo prints.

An IPNS name is the multihash of a libp2p public key protobuf. Accepted spellings:
`12D3KooW…`/`Qm…` (base58btc multihash, a peer ID), `k51…` (CIDv1 libp2p-key in base36, what
Kubo prints), `bafz…` or any other multibase CIDv1 with the libp2p-key codec. Printed as Kubo
does: CIDv1 libp2p-key in base36 (`k51…`). The routing key is `/ipns/` + the binary multihash.
"""

from __future__ import annotations

from dataclasses import dataclass

import base58

from ..config import IPNS_LIMITS
from ..errors import InvalidInput
from ..ipld import multihash as mh_mod
from ..ipld.cid import CID, LIBP2P_KEY
from .crypto import PublicKey, decode_key_protobuf

ROUTING_PREFIX = b"/ipns/"
# Multihashes a name may use: identity (an inlined key) or sha2-256 (hashed key), as libp2p.
_NAME_HASHES = (0x00, 0x12)


@dataclass(frozen=True)
class IpnsName:
    multihash: bytes

    @classmethod
    def parse(cls, text: str) -> IpnsName:
        """`12D3KooW…`, `Qm…`, `k51…`, `bafz…` (with or without a leading `/ipns/`)."""
        if not isinstance(text, str):
            raise InvalidInput("IPNS name must be a string")
        s = text.strip()
        if s.startswith("/ipns/"):
            s = s[len("/ipns/"):]
        s = s.split("/", 1)[0]
        if not s or len(s) > 200:
            raise InvalidInput(f"invalid IPNS name {text[:80]!r}")
        if s.startswith(("1", "Q")):
            try:
                raw = base58.b58decode(s)
            except ValueError:
                raise InvalidInput(f"invalid IPNS name {s!r}: not base58") from None
            return cls.from_multihash(raw)
        try:
            cid = CID.decode(s)
        except InvalidInput:
            raise InvalidInput(f"invalid IPNS name {s!r}: not a peer ID or a libp2p-key CID") from None
        if cid.codec != LIBP2P_KEY:
            raise InvalidInput(f"invalid IPNS name {s!r}: CID codec is {cid.codec_name}, "
                               "not libp2p-key")
        return cls.from_multihash(cid.multihash)

    @classmethod
    def from_multihash(cls, raw: bytes, *, max_bytes: int = IPNS_LIMITS.max_name_multihash_bytes) -> IpnsName:
        if len(raw) > max_bytes:
            raise InvalidInput("IPNS name multihash too long")
        try:
            code, digest = mh_mod.decode(bytes(raw))
        except (InvalidInput, ValueError, IndexError):
            raise InvalidInput("IPNS name is not a multihash") from None
        if code not in _NAME_HASHES:
            raise InvalidInput(f"IPNS name uses multihash 0x{code:x} (identity or sha2-256 only)")
        if code == 0x12 and len(digest) != 32:
            raise InvalidInput("IPNS name: sha2-256 digest must be 32 bytes")
        if code == 0x00:
            decode_key_protobuf(digest)  # an inlined key must at least be a key protobuf
        return cls(bytes(raw))

    @classmethod
    def from_routing_key(cls, key: bytes) -> IpnsName:
        if not key.startswith(ROUTING_PREFIX):
            raise InvalidInput("not an /ipns/ routing key")
        return cls.from_multihash(key[len(ROUTING_PREFIX):])

    @classmethod
    def from_public_key(cls, pub: PublicKey) -> IpnsName:
        return cls(pub.peer_id_multihash())

    @property
    def routing_key(self) -> bytes:
        return ROUTING_PREFIX + self.multihash

    @property
    def inlined_key(self) -> PublicKey | None:
        """The public key inlined in the name (identity multihash), or None."""
        code, digest = mh_mod.decode(self.multihash)
        return PublicKey.from_protobuf(digest) if code == 0x00 else None

    @property
    def cid(self) -> CID:
        return CID(1, LIBP2P_KEY, self.multihash)

    @property
    def peer_id(self) -> str:
        return base58.b58encode(self.multihash).decode()

    def __str__(self) -> str:
        return self.cid.encode("base36")
