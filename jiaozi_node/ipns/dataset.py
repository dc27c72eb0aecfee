"""Datasets under a name (pure): the signed manifest an IPNS name points at, and the rules for
applying one.

    jzfs publish weather            ->  /ipns/<dataset key>  ->  /ipfs/<manifest CID>

The manifest is one DAG-CBOR block:

    {"type": "jzfs-dataset-manifest", "version": 1, "dataset": "weather",
     "refs": {"heads/main": CID, "tags/v1": CID, ...}, "publisher": "12D3KooW…",
     "time": 1765000000, "sig": bytes}

`sig` is the publisher node's Ed25519 signature over `MANIFEST_DOMAIN + dag_cbor(manifest
without "sig")` — the same key that signs its commits, so trusting a publisher (`jzfs trust add`)
covers both. The IPNS record (signed by the per-dataset key `dataset-<name>`) says which manifest
is current; the manifest says which commits; each commit's own signature is checked against the
trust settings when it is fetched. Nothing in a manifest is used before all three check out.

A name whose new manifest moves a ref to an ancestor of the head we saw before for that name (an
older version) is pointing backwards: that ref is reported and not applied.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from ..errors import CodecError, InvalidInput, SignatureError
from ..identity import Identity, public_key_from_peer_id, verify_signature
from ..ipld import dagcbor
from ..ipld.cid import CID

MANIFEST_TYPE = "jzfs-dataset-manifest"
MANIFEST_DOMAIN = b"jzfs-dataset-manifest-v1\0"
KEY_PREFIX = "dataset-"


def dataset_key_name(repo: str) -> str:
    """The keystore name of a dataset's IPNS key (shown by `jzfs key list`)."""
    return KEY_PREFIX + repo


@dataclass(frozen=True)
class Manifest:
    dataset: str
    refs: dict[str, CID]
    publisher: str
    time: int
    sig: bytes = b""

    def _unsigned(self) -> dict[str, object]:
        return {"type": MANIFEST_TYPE, "version": 1, "dataset": self.dataset,
                "refs": dict(sorted(self.refs.items())), "publisher": self.publisher,
                "time": self.time}

    def payload(self) -> bytes:
        return MANIFEST_DOMAIN + dagcbor.encode(self._unsigned())

    def signed(self, identity: Identity) -> Manifest:
        if identity.peer_id != self.publisher:
            raise SignatureError("manifest names another publisher than the signing key")
        return Manifest(self.dataset, self.refs, self.publisher, self.time,
                        identity.sign(self.payload()))

    def encode(self) -> bytes:
        if not self.sig:
            raise SignatureError("manifest is not signed")
        return dagcbor.encode({**self._unsigned(), "sig": self.sig})

    @classmethod
    def decode(cls, data: bytes, *, max_bytes: int) -> Manifest:
        if len(data) > max_bytes:
            raise InvalidInput(f"manifest of {len(data)} bytes exceeds {max_bytes}")
        try:
            doc = dagcbor.decode(data)
        except CodecError as exc:
            raise InvalidInput(f"manifest is not DAG-CBOR: {exc}") from None
        if not isinstance(doc, dict) or doc.get("type") != MANIFEST_TYPE or doc.get("version") != 1:
            raise InvalidInput("not a jzfs dataset manifest (version 1)")
        refs, sig = doc.get("refs"), doc.get("sig")
        dataset, publisher, time = doc.get("dataset"), doc.get("publisher"), doc.get("time")
        if not (isinstance(refs, dict) and isinstance(sig, bytes) and isinstance(dataset, str)
                and isinstance(publisher, str) and isinstance(time, int)):
            raise InvalidInput("malformed dataset manifest")
        if not all(isinstance(k, str) and k.startswith(("heads/", "tags/")) and isinstance(v, CID)
                   for k, v in refs.items()):
            raise InvalidInput("manifest refs must map heads/… or tags/… to CIDs")
        return cls(dataset, dict(refs), publisher, time, sig)

    def verify(self, trusted: Collection[str]) -> str:
        """Check the signature and that the publisher is trusted; returns the publisher."""
        try:
            key = public_key_from_peer_id(self.publisher)
        except InvalidInput as exc:
            raise SignatureError(f"manifest publisher {self.publisher!r}: {exc}") from None
        try:
            verify_signature(key, self.sig, self.payload())
        except SignatureError:
            raise SignatureError(f"bad manifest signature (claimed publisher {self.publisher})") from None
        if self.publisher not in trusted:
            raise SignatureError(f"manifest published by untrusted key {self.publisher} "
                                 f"(jzfs trust add {self.publisher} if you trust it)")
        return self.publisher


def parse_name_spec(spec: str) -> tuple[str, str | None]:
    """`/ipns/NAME@BRANCH` -> ("/ipns/NAME", "BRANCH"); `/ipns/NAME` -> ("/ipns/NAME", None)."""
    if not spec.startswith("/ipns/"):
        raise InvalidInput(f"expected /ipns/NAME[@REF], got {spec!r}")
    head, at, ref = spec.partition("@")
    if at and not ref:
        raise InvalidInput(f"empty ref after @ in {spec!r}")
    if len(head) <= len("/ipns/") or "/" in head[len("/ipns/"):].rstrip("/"):
        raise InvalidInput(f"expected /ipns/NAME[@REF], got {spec!r}")
    return head.rstrip("/"), (ref or None)


def pick_ref(refs: dict[str, CID], ref: str | None) -> tuple[str, CID]:
    """A manifest ref by short name (`main` -> heads/main, then tags/main); default heads/main."""
    want = ref or "main"
    for full in (want, f"heads/{want}", f"tags/{want}"):
        if full in refs:
            return full, refs[full]
    raise InvalidInput(f"the published dataset has no branch or tag {want!r} "
                       f"(it has: {', '.join(sorted(refs)) or 'none'})")


def backwards(is_ancestor: Callable[[CID, CID], bool], seen: CID | None, new: CID) -> bool:
    """True when `new` is a strict ancestor of the head `seen` before (an older version)."""
    return seen is not None and seen != new and is_ancestor(new, seen)
