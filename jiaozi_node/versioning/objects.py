"""Commit and annotated-tag objects: the schema, strict (de)serialisation, CIDs (pure).

The normative description is `docs/objects.md`; this module is its reference implementation.
A commit or tag is ONE DAG-CBOR block addressed by a CIDv1 (dag-cbor, sha2-256, `bafyrei…`).
Decoding is strict: canonical DAG-CBOR only (the codec enforces it), exactly the documented keys,
each with its documented type. Anything else is a CodecError, so two implementations can never
disagree about what a given block means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from typing import Any, Self

from ..config import VERSIONING_LIMITS
from ..errors import CodecError, LimitExceeded
from ..frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class
from ..ipld import dagcbor
from ..ipld.block import Block
from ..ipld.cid import CID, DAG_CBOR

COMMIT_TYPE = "jzfs/commit"
TAG_TYPE = "jzfs/tag"
FORMAT_VERSION = 1
# Domain separation: a signature made for one kind of object can never be replayed as another.
COMMIT_DOMAIN = b"jzfs-commit-v1\x00"
TAG_DOMAIN = b"jzfs-tag-v1\x00"


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise CodecError(f"malformed versioning object: {what}")


def _str(value: Any, what: str, *, empty_ok: bool = True) -> str:
    _expect(isinstance(value, str) and (empty_ok or value != ""), f"{what} must be a string")
    return value


def _keys(node: Mapping[str, Any], required: set[str], optional: set[str], what: str) -> None:
    keys = set(node)
    missing = required - keys
    extra = keys - required - optional
    _expect(not missing, f"{what} lacks {sorted(missing)}")
    _expect(not extra, f"{what} has unknown keys {sorted(extra)}")


@dataclass(frozen=True)
class Author:
    """Who made a commit or tag. `peer` is the signer's Ed25519 peer ID (`12D3KooW…`)."""

    name: str
    peer: str
    email: str | None = None

    def to_node(self) -> dict[str, Any]:
        node: dict[str, Any] = {"name": self.name, "peer": self.peer}
        if self.email is not None:
            node["email"] = self.email
        return node

    @classmethod
    def from_node(cls, node: Any) -> Author:
        _expect(isinstance(node, dict), "author must be a map")
        _keys(node, {"name", "peer"}, {"email"}, "author")
        email = node.get("email")
        return cls(_str(node["name"], "author.name"), _str(node["peer"], "author.peer", empty_ok=False),
                   None if email is None else _str(email, "author.email"))

    def __str__(self) -> str:
        mail = f" <{self.email}>" if self.email else ""
        return f"{self.name}{mail} [{self.peer}]"


@dataclass(frozen=True)
class Input:
    """One provenance input: a dataset version by CID, or by a ref string (`repo@ref`)."""

    cid: CID | None = None
    ref: str | None = None

    def __post_init__(self) -> None:
        _expect((self.cid is None) != (self.ref is None), "an input is either a cid or a ref")

    def to_node(self) -> dict[str, Any]:
        return {"cid": self.cid} if self.cid is not None else {"ref": self.ref}

    @classmethod
    def from_node(cls, node: Any) -> Input:
        _expect(isinstance(node, dict) and len(node) == 1, "an input is a one-key map")
        if "cid" in node:
            _expect(isinstance(node["cid"], CID), "input.cid must be a link")
            return cls(cid=node["cid"])
        _expect("ref" in node, "an input has 'cid' or 'ref'")
        return cls(ref=_str(node["ref"], "input.ref", empty_ok=False))

    def __str__(self) -> str:
        return str(self.cid) if self.cid is not None else str(self.ref)


@dataclass(frozen=True)
class Provenance:
    inputs: tuple[Input, ...] = ()
    command: str | None = None
    params: tuple[tuple[str, str], ...] = ()  # sorted (key, value) pairs

    def to_node(self) -> dict[str, Any]:
        node: dict[str, Any] = {}
        if self.inputs:
            node["inputs"] = [i.to_node() for i in self.inputs]
        if self.command is not None:
            node["command"] = self.command
        if self.params:
            node["params"] = dict(self.params)
        return node

    @classmethod
    def from_node(cls, node: Any) -> Provenance:
        _expect(isinstance(node, dict) and node, "provenance must be a non-empty map")
        _keys(node, set(), {"inputs", "command", "params"}, "provenance")
        inputs = node.get("inputs", [])
        _expect(isinstance(inputs, list) and ("inputs" not in node or inputs), "provenance.inputs must be a non-empty list")
        params = node.get("params", {})
        _expect(isinstance(params, dict) and ("params" not in node or params), "provenance.params must be a non-empty map")
        for k, v in params.items():
            _str(v, f"provenance.params[{k!r}]")
        command = node.get("command")
        return cls(tuple(Input.from_node(i) for i in inputs),
                   None if command is None else _str(command, "provenance.command"),
                   tuple(sorted(params.items())))

    def is_empty(self) -> bool:
        return not (self.inputs or self.command is not None or self.params)


def _common_checks(data: bytes, max_bytes: int) -> dict[str, Any]:
    if len(data) > max_bytes:
        raise LimitExceeded(f"versioning object is {len(data)} bytes, over the {max_bytes} limit")
    node = dagcbor.decode(data)
    _expect(isinstance(node, dict), "top level must be a map")
    _expect(node.get("v") == FORMAT_VERSION, f"unsupported format version {node.get('v')!r}")
    return node


def _timestamp(value: Any) -> int:
    _expect(isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            "timestamp must be a non-negative integer (Unix seconds)")
    return value


def _signature(value: Any) -> bytes:
    _expect(isinstance(value, bytes) and len(value) == 64, "signature must be 64 bytes (Ed25519)")
    return value


class _SignedObject:
    """What commits and tags share: the signing payload, encoding, and the signature slot.

    Subclasses are frozen dataclasses with a `signature` field and a `domain` class attribute,
    and define `unsigned_node()`.
    """

    domain: bytes
    signature: bytes

    def signing_payload(self) -> bytes:
        """The exact bytes the signature covers: domain tag + DAG-CBOR of all fields but `sig`."""
        return self.domain + dagcbor.encode(self.unsigned_node())  # type: ignore[attr-defined]

    def encode(self) -> bytes:
        if not self.signature:
            kind = type(self).__name__.lower()
            raise CodecError(f"refusing to encode an unsigned {kind} (sign it first)")
        node = self.unsigned_node()  # type: ignore[attr-defined]
        node["sig"] = self.signature
        return dagcbor.encode(node)

    def block(self) -> Block:
        return Block.create(self.encode(), codec=DAG_CBOR)

    def with_signature(self, sig: bytes) -> Self:
        return replace(self, signature=sig)  # type: ignore[type-var]


@dataclass(frozen=True)
class Commit(_SignedObject):
    root: CID
    parents: tuple[CID, ...]
    author: Author
    message: str
    timestamp: int
    provenance: Provenance | None = None
    signature: bytes = field(default=b"", repr=False)

    domain = COMMIT_DOMAIN

    def unsigned_node(self) -> dict[str, Any]:
        node: dict[str, Any] = {
            "type": COMMIT_TYPE,
            "v": FORMAT_VERSION,
            "root": self.root,
            "parents": list(self.parents),
            "author": self.author.to_node(),
            "message": self.message,
            "timestamp": self.timestamp,
        }
        if self.provenance is not None and not self.provenance.is_empty():
            node["provenance"] = self.provenance.to_node()
        return node

    @property
    def signer(self) -> str:
        return self.author.peer

    @classmethod
    def decode(cls, data: bytes, *, max_bytes: int = VERSIONING_LIMITS.max_object_bytes) -> Commit:
        node = _common_checks(data, max_bytes)
        _expect(node.get("type") == COMMIT_TYPE, "not a commit")
        _keys(node, {"type", "v", "root", "parents", "author", "message", "timestamp", "sig"},
              {"provenance"}, "commit")
        _expect(isinstance(node["root"], CID), "root must be a link")
        parents = node["parents"]
        _expect(isinstance(parents, list) and all(isinstance(p, CID) for p in parents),
                "parents must be a list of links")
        _expect(len(set(parents)) == len(parents), "parents must not repeat")
        _expect(all(p.codec == DAG_CBOR for p in parents), "parents must be dag-cbor links")
        prov = node.get("provenance")
        return cls(
            root=node["root"],
            parents=tuple(parents),
            author=Author.from_node(node["author"]),
            message=_str(node["message"], "message"),
            timestamp=_timestamp(node["timestamp"]),
            provenance=None if prov is None else Provenance.from_node(prov),
            signature=_signature(node["sig"]),
        )


@dataclass(frozen=True)
class Tag(_SignedObject):
    """An annotated tag: a signed, named pointer to a commit."""

    target: CID
    name: str
    tagger: Author
    message: str
    timestamp: int
    signature: bytes = field(default=b"", repr=False)

    domain = TAG_DOMAIN

    def unsigned_node(self) -> dict[str, Any]:
        return {
            "type": TAG_TYPE,
            "v": FORMAT_VERSION,
            "object": self.target,
            "name": self.name,
            "tagger": self.tagger.to_node(),
            "message": self.message,
            "timestamp": self.timestamp,
        }

    @property
    def signer(self) -> str:
        return self.tagger.peer

    @classmethod
    def decode(cls, data: bytes, *, max_bytes: int = VERSIONING_LIMITS.max_object_bytes) -> Tag:
        node = _common_checks(data, max_bytes)
        _expect(node.get("type") == TAG_TYPE, "not a tag")
        _keys(node, {"type", "v", "object", "name", "tagger", "message", "timestamp", "sig"}, set(), "tag")
        _expect(isinstance(node["object"], CID) and node["object"].codec == DAG_CBOR,
                "object must be a dag-cbor link")
        return cls(
            target=node["object"],
            name=_str(node["name"], "name", empty_ok=False),
            tagger=Author.from_node(node["tagger"]),
            message=_str(node["message"], "message"),
            timestamp=_timestamp(node["timestamp"]),
            signature=_signature(node["sig"]),
        )


def decode_object(cid: CID, data: bytes, *,
                  max_bytes: int = VERSIONING_LIMITS.max_object_bytes) -> Commit | Tag:
    """Decode a commit or tag block (the caller has verified `data` against `cid`)."""
    if cid.codec != DAG_CBOR:
        raise CodecError(f"{cid} is {cid.codec_name}, not a dag-cbor commit or tag")
    if len(data) > max_bytes:
        raise LimitExceeded(f"versioning object is {len(data)} bytes, over the {max_bytes} limit")
    node = dagcbor.decode(data)
    kind = node.get("type") if isinstance(node, dict) else None
    if kind == COMMIT_TYPE:
        return Commit.decode(data, max_bytes=max_bytes)
    if kind == TAG_TYPE:
        return Tag.decode(data, max_bytes=max_bytes)
    raise CodecError(f"{cid} is not a jzfs commit or tag")


def decode_commit(cid: CID, data: bytes, *,
                  max_bytes: int = VERSIONING_LIMITS.max_object_bytes) -> Commit:
    obj = decode_object(cid, data, max_bytes=max_bytes)
    if not isinstance(obj, Commit):
        raise CodecError(f"{cid} is a tag, not a commit")
    return obj
