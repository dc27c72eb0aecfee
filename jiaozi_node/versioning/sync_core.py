"""The `/jzfs/refs/1.0.0` protocol core (pure, sans-IO): framing, messages, signed advertisements.

See docs/objects.md §7. A `FrameReader` is fed bytes and yields one bounded message (h11 style:
`receive_data` / `next_message`); requests and responses are DAG-CBOR maps validated strictly here,
so the adapter (`sync.py`) only moves bytes and calls the service.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..config import VERSIONING_LIMITS
from ..errors import CodecError, InvalidInput, LimitExceeded, RemoteProtocolError, SignatureError
from ..frozen import dataclass  # dataclasses.dataclass(frozen=True) without its exec() per class
from ..identity import Identity, public_key_from_peer_id, verify_signature
from ..ipld import dagcbor
from ..ipld.block import VerifiedBlock, hash_block
from ..ipld.cid import CID, DAG_CBOR
from ..ipld.framing import FrameDecoder, encode_frame
from .names import check_ref_name, check_repo_name

PROTOCOL_ID = "/jzfs/refs/1.0.0"
ADV_TYPE = "jzfs/refs"
ADV_DOMAIN = b"jzfs-refs-v1\x00"
NONCE_BYTES = 16
_DAG_CBOR_SHA256 = bytes([1, DAG_CBOR, 0x12, 0x20])  # CID prefix of commit and tag objects


# ------------------------------------------------------------------------------------ framing


def frame(message: dict[str, Any]) -> bytes:
    return encode_frame(dagcbor.encode(message))


class FrameReader:
    """Reassemble length-prefixed dag-cbor messages (`ipld.framing`); the length is checked
    before the body is buffered, and bytes not yet taken by `next_message` stay bounded."""

    def __init__(self, *, max_bytes: int = VERSIONING_LIMITS.max_sync_message_bytes) -> None:
        self.max_bytes = max_bytes
        self._decoder = FrameDecoder(max_message_bytes=max_bytes, what="refs")
        self._frames: deque[bytes] = deque()
        self._held = 0  # bytes of complete frames not taken yet (+1 each: empty frames count)

    def receive_data(self, data: bytes) -> None:
        """Raises LimitExceeded / RemoteProtocolError for a bad or oversized length prefix."""
        for f in self._decoder.feed(data):
            self._frames.append(f)
            self._held += len(f) + 1
        if self._held + self._decoder.buffered > self.max_bytes + 10:
            raise LimitExceeded(f"refs message over {self.max_bytes} bytes")

    def next_message(self) -> dict[str, Any] | None:
        """The message once complete; None while more bytes are needed (not a 'missing' value)."""
        if not self._frames:
            return None
        body = self._frames.popleft()
        self._held -= len(body) + 1
        try:
            msg = dagcbor.decode(body)
        except CodecError as exc:
            raise RemoteProtocolError(f"malformed refs message: {exc}") from None
        if not isinstance(msg, dict):
            raise RemoteProtocolError("refs message is not a map")
        return msg


# ------------------------------------------------------------------------------------ requests


@dataclass(frozen=True)
class ListRequest:
    nonce: bytes
    repo: str | None = None

    def to_node(self) -> dict[str, Any]:
        node: dict[str, Any] = {"op": "list", "nonce": self.nonce}
        if self.repo is not None:
            node["repo"] = self.repo
        return node


@dataclass(frozen=True)
class PushRequest:
    repo: str
    ref: str
    old: CID | None
    new: CID
    force: bool = False

    def to_node(self) -> dict[str, Any]:
        return {"op": "push", "repo": self.repo, "ref": self.ref, "old": self.old, "new": self.new,
                "force": self.force}


@dataclass(frozen=True)
class HistoryRequest:
    """The commit and tag objects reachable from `heads`, in one answer instead of one Bitswap
    round trip per commit (a history is a chain: each parent is known only once its child is
    here). The server stops at `have` (the asker's own ref targets) and at its answer budget;
    the asker checks each object's hash against the CID it asked for, and walks on over Bitswap
    for whatever is missing."""

    repo: str
    heads: tuple[CID, ...]
    have: tuple[CID, ...] = ()

    def to_node(self) -> dict[str, Any]:
        return {"op": "history", "repo": self.repo, "heads": list(self.heads), "have": list(self.have)}


def _links(value: Any, what: str, max_items: int) -> tuple[CID, ...]:
    _req(isinstance(value, list) and len(value) <= max_items, f"{what} must be a list of at most {max_items}")
    _req(all(isinstance(c, CID) and c.codec == DAG_CBOR for c in value), f"{what} must be commit links")
    return tuple(value)


def history_objects(node: dict[str, Any], *, peer: str, max_object_bytes: int,
                    max_objects: int) -> dict[CID, VerifiedBlock]:
    """The objects of a `history` answer as blocks whose CID is hashed from their bytes (so an
    object is only ever used as the block it is); raises RemoteProtocolError for a malformed
    answer."""
    objects = node.get("objects")
    if not isinstance(objects, list) or len(objects) > max_objects:
        raise RemoteProtocolError(f"peer {peer} sent a bad history answer")
    out: dict[CID, VerifiedBlock] = {}
    for data in objects:
        if not isinstance(data, bytes) or len(data) > max_object_bytes:
            raise RemoteProtocolError(f"peer {peer} sent a bad history object")
        block = hash_block(_DAG_CBOR_SHA256, data)
        out[block.cid] = block
    return out


def _req(cond: bool, what: str) -> None:
    if not cond:
        raise RemoteProtocolError(f"bad refs request: {what}")


def parse_request(node: dict[str, Any], *,
                  max_refs: int = VERSIONING_LIMITS.max_refs_per_advertisement
                  ) -> ListRequest | PushRequest | HistoryRequest:
    op = node.get("op")
    try:
        if op == "history":
            _req(set(node) == {"op", "repo", "heads", "have"}, "history needs repo, heads, have")
            check_repo_name(node["repo"])
            return HistoryRequest(node["repo"], _links(node["heads"], "heads", max_refs),
                                  _links(node["have"], "have", max_refs))
        if op == "list":
            _req(set(node) <= {"op", "nonce", "repo"}, "unknown keys")
            nonce = node.get("nonce")
            _req(isinstance(nonce, bytes) and len(nonce) == NONCE_BYTES, "nonce must be 16 bytes")
            repo = node.get("repo")
            if repo is not None:
                check_repo_name(repo)
            return ListRequest(nonce, repo)
        if op == "push":
            _req(set(node) == {"op", "repo", "ref", "old", "new", "force"}, "push needs repo, ref, old, new, force")
            check_repo_name(node["repo"])
            _req(isinstance(node["ref"], str) and node["ref"].startswith("heads/"), "push only moves heads/…")
            check_ref_name(node["ref"])
            _req(node["old"] is None or (isinstance(node["old"], CID) and node["old"].codec == DAG_CBOR), "old")
            _req(isinstance(node["new"], CID) and node["new"].codec == DAG_CBOR, "new must be a commit link")
            _req(isinstance(node["force"], bool), "force must be a boolean")
            return PushRequest(node["repo"], node["ref"], node["old"], node["new"], node["force"])
    except InvalidInput as exc:
        raise RemoteProtocolError(f"bad refs request: {exc}") from None
    raise RemoteProtocolError(f"unknown refs operation {op!r}")


def error_response(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message[:1000]}


# ------------------------------------------------------------------------------------ advertisement


@dataclass(frozen=True)
class Advertisement:
    peer: str
    nonce: bytes
    timestamp: int
    repos: dict[str, dict[str, CID]]
    sig: bytes = b""

    def unsigned_node(self) -> dict[str, Any]:
        return {"type": ADV_TYPE, "v": 1, "peer": self.peer, "nonce": self.nonce,
                "timestamp": self.timestamp, "repos": self.repos}

    def payload(self) -> bytes:
        return ADV_DOMAIN + dagcbor.encode(self.unsigned_node())

    def to_node(self) -> dict[str, Any]:
        node = self.unsigned_node()
        node["sig"] = self.sig
        return node


def make_advertisement(identity: Identity, nonce: bytes, repos: dict[str, dict[str, CID]], *,
                       now: int) -> Advertisement:
    adv = Advertisement(identity.peer_id, nonce, now, repos)
    return Advertisement(adv.peer, nonce, now, repos, identity.sign(adv.payload()))


def check_advertisement(node: Any, *, expected_peer: str, nonce: bytes, repo: str | None,
                        max_refs: int = VERSIONING_LIMITS.max_refs_per_advertisement) -> Advertisement:
    """Validate a received advertisement; raises RemoteProtocolError / SignatureError."""
    def bad(what: str) -> RemoteProtocolError:
        return RemoteProtocolError(f"peer {expected_peer} sent a bad refs advertisement: {what}")

    if not isinstance(node, dict) or set(node) != {"type", "v", "peer", "nonce", "timestamp", "repos", "sig"}:
        raise bad("wrong keys")
    if node["type"] != ADV_TYPE or node["v"] != 1:
        raise bad("wrong type or version")
    repos = node["repos"]
    if not isinstance(repos, dict):
        raise bad("repos must be a map")
    total = 0
    for name, refs in repos.items():
        if not isinstance(refs, dict):
            raise bad(f"refs of {name!r} must be a map")
        total += len(refs)
        if total > max_refs:
            raise LimitExceeded(f"peer {expected_peer} advertised more than {max_refs} refs")
        try:
            check_repo_name(name)
            for ref, target in refs.items():
                check_ref_name(ref)
                if not isinstance(target, CID) or target.codec != DAG_CBOR:
                    raise bad(f"{name}@{ref} does not point at a dag-cbor object")
        except InvalidInput as exc:
            raise bad(str(exc)) from None
    if not isinstance(node["sig"], bytes) or not isinstance(node["timestamp"], int):
        raise bad("sig/timestamp types")
    adv = Advertisement(node["peer"], node["nonce"], node["timestamp"], repos, node["sig"])
    if adv.peer != expected_peer:
        raise SignatureError(f"refs advertisement names {adv.peer!r}, but came from {expected_peer}")
    if adv.nonce != nonce:
        raise SignatureError(f"refs advertisement from {expected_peer} is a replay (wrong nonce)")
    try:
        verify_signature(public_key_from_peer_id(adv.peer), adv.sig, adv.payload())
    except (SignatureError, InvalidInput):
        raise SignatureError(f"refs advertisement from {expected_peer} has a bad signature") from None
    if repo is not None and set(repos) != {repo}:
        others = sorted(set(repos) - {repo})
        raise RemoteProtocolError(
            f"peer {expected_peer} answered for repositories it was not asked about ({', '.join(others)})"
            if others else f"peer {expected_peer} does not have repository {repo!r}")
    return adv


def parse_response(node: dict[str, Any], *, peer: str) -> dict[str, Any]:
    """Return an ok response; raise RemoteProtocolError carrying the peer's error otherwise."""
    if node.get("ok") is True:
        return node
    err = node.get("error")
    raise RemoteProtocolError(f"peer {peer} refused: {err if isinstance(err, str) else 'no reason given'}")
