"""Signing and checking commits and tags with Ed25519 node keys (pure).

The signer is named inside the object (`author.peer` / `tagger.peer`, an Ed25519 peer ID that
inlines the public key), so anyone holding only the block can check it. The signature covers
`DOMAIN + dag_cbor(object without "sig")` (see `objects.py` and docs/objects.md). Trust — whether
the signer is someone we accept — is a separate question answered by `check_trusted`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar

from ..errors import InvalidInput, SignatureError
from ..identity import Identity, public_key_from_peer_id, verify_signature
from .objects import Commit, Tag

Obj = TypeVar("Obj", Commit, Tag)


def sign(obj: Obj, identity: Identity) -> Obj:
    """Return `obj` signed by `identity`; the object must already name that identity as signer."""
    if obj.signer != identity.peer_id:
        raise SignatureError(f"object names signer {obj.signer}, but the key is {identity.peer_id}")
    return obj.with_signature(identity.sign(obj.signing_payload()))


def verify(obj: Commit | Tag) -> str:
    """Check the signature; return the signer's peer ID. Raises SignatureError."""
    if not obj.signature:
        raise SignatureError("object is not signed")
    try:
        key = public_key_from_peer_id(obj.signer)
    except InvalidInput as exc:
        raise SignatureError(f"signer {obj.signer!r} is not an Ed25519 peer ID: {exc}") from None
    try:
        verify_signature(key, obj.signature, obj.signing_payload())
    except SignatureError:
        raise SignatureError(f"bad signature (claimed signer {obj.signer})") from None
    return obj.signer


def check_trusted(signer: str, trusted: Collection[str]) -> None:
    """Raise SignatureError unless `signer` is in the trusted set."""
    if signer not in trusted:
        raise SignatureError(f"signed by {signer}, which is not a trusted key (jzfs trust add {signer})")
