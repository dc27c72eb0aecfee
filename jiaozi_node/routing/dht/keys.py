"""Keys and distances of the Kademlia keyspace. Pure.

Every key (a peer ID, a CID's multihash, `/ipns/…`) is placed in the keyspace by SHA-256 of its
bytes (as go-libp2p-kad-dht and js kad-dht do, so our placement matches the Amino DHT's).
Distances are the XOR of two such 32-byte hashes, compared as big-endian integers.

Peer IDs cross module boundaries as base58 strings (`12D3KooW…`); on the wire they are the
multihash bytes. `peer_bytes`/`peer_str` convert and check them.
"""

from __future__ import annotations

import functools
import hashlib

import base58

from ...errors import InvalidInput

KEY_BITS = 256


def kad_id(key: bytes) -> bytes:
    """The 32-byte position of `key` in the keyspace."""
    return hashlib.sha256(key).digest()


def kad_int(key: bytes) -> int:
    return int.from_bytes(hashlib.sha256(key).digest(), "big")


def distance(a: bytes, b: bytes) -> int:
    """XOR distance of two kad IDs (32-byte hashes) as an int."""
    return int.from_bytes(a, "big") ^ int.from_bytes(b, "big")


def common_prefix_len(a: bytes, b: bytes) -> int:
    """Leading bits two kad IDs share (256 if equal)."""
    d = distance(a, b)
    return KEY_BITS - d.bit_length()


def check_peer_bytes(pid: bytes) -> None:
    """A binary peer ID must be a multihash: identity (0x00, inlined key <= 42 B) or sha2-256."""
    if len(pid) < 2:
        raise InvalidInput("peer ID too short")
    code, length = pid[0], pid[1]
    if code == 0x00 and length == len(pid) - 2 and length <= 42:
        return
    if code == 0x12 and length == 32 and len(pid) == 34:
        return
    raise InvalidInput("peer ID is not an identity or sha2-256 multihash")


def peer_bytes(peer_id: str) -> bytes:
    """Binary form of a base58 peer ID (InvalidInput if it is not one)."""
    try:
        raw = base58.b58decode(peer_id)
    except ValueError:
        raise InvalidInput(f"invalid peer ID {peer_id!r}") from None
    check_peer_bytes(raw)
    return raw


def peer_str(pid: bytes) -> str:
    """base58 form of a binary peer ID (InvalidInput if malformed)."""
    check_peer_bytes(pid)
    return base58.b58encode(pid).decode()


@functools.lru_cache(maxsize=65536)
def peer_kad(peer_id: str) -> bytes:
    """kad ID of a base58 peer ID (cached: lookups compare the same peers many times)."""
    return kad_id(peer_bytes(peer_id))


def refresh_key(local: bytes, cpl: int, rand: bytes) -> bytes:
    """A binary (sha2-256 multihash) peer ID whose kad ID shares exactly `cpl` leading bits with
    `local`, for refreshing that bucket (as go-libp2p-kbucket, which also limits cpl to 15:
    finding one takes ~2**(cpl+1) hashes). `rand` seeds the search (32 random bytes)."""
    if not 0 <= cpl <= 15:
        raise InvalidInput("refresh key prefix length must be 0..15")
    seed = hashlib.sha256(rand).digest()
    for i in range(1 << 22):
        cand = b"\x12\x20" + hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
        if common_prefix_len(kad_id(cand), local) == cpl:
            return cand
    raise AssertionError("unreachable: no key found")  # pragma: no cover
