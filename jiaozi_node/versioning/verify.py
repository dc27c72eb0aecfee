"""Verifying a version's whole history (pure, over a verifying block getter).

From a commit or annotated tag: every commit reachable through `parents` is fetched (the getter
re-hashes: a changed byte anywhere is a HashMismatch/CorruptBlock), strictly decoded, and its
signature checked; with `data=True` every block of every dataset tree is fetched too (each block
once, however many versions share it). Any missing, malformed, unsigned or badly signed object
stops the walk with an error naming it. Trust is checked last: the report names every signer and
which of them are trusted; `require_trusted` turns an untrusted signer into a SignatureError.

`check_signature` is THE check of one commit or tag (signature, then signer against the trust
list): `verify_history` uses it for every object it walks, and so does every command that shows or
writes out history (log, show, diff, checkout, merge, fetch/pull/clone). `require_verified` turns
a status other than "verified" into the one refusal those commands print unless `--no-verify`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from ..config import VERSIONING_LIMITS
from ..errors import JzfsError, LimitExceeded, NotFound, SignatureError
from ..ipld import codecs
from ..ipld.cid import CID
from . import signing
from .objects import Commit, Tag, decode_object

Getter = Callable[[CID], bytes]

VERIFIED = "verified"  # good signature by a trusted key
UNTRUSTED = "untrusted"  # good signature by a key not in the trust list
INVALID = "invalid"  # missing or bad signature, or a signer that is not an Ed25519 peer ID


@dataclass(frozen=True)
class Signature:
    """The signature status of one commit or tag."""

    status: str  # VERIFIED | UNTRUSTED | INVALID
    signer: str  # the peer the object names as its signer (author/tagger)
    detail: str  # why, in words

    def to_json(self) -> dict[str, str]:
        return {"signature": self.status, "signer": self.signer}


def check_signature(obj: Commit | Tag, trusted: Collection[str]) -> Signature:
    """Check `obj`'s signature and whether its signer is trusted (never raises for a bad one)."""
    try:
        signer = signing.verify(obj)
    except SignatureError as exc:
        return Signature(INVALID, obj.signer, str(exc))
    if signer not in trusted:
        return Signature(UNTRUSTED, signer, f"signed by {signer}, which is not a trusted key "
                                            f"(jzfs trust add {signer} if you trust it)")
    return Signature(VERIFIED, signer, f"good signature by trusted key {signer}")


def require_verified(sig: Signature, what: str, cid: CID, *, override: str | None = "--no-verify") -> None:
    """Raise SignatureError unless `sig` is VERIFIED; the message names the object, the reason
    and (when the command has one) the flag that overrides the refusal."""
    if sig.status == VERIFIED:
        return
    kind = "an invalid signature" if sig.status == INVALID else "an untrusted signer"
    hint = f"; {override} to go ahead anyway" if override else ""
    raise SignatureError(f"{what} {cid} has {kind}: {sig.detail}{hint}")


@dataclass
class Report:
    head: CID
    commits: int = 0
    data_blocks: int = 0
    roots: list[CID] = field(default_factory=list)  # root commits (no parents)
    signers: dict[str, int] = field(default_factory=dict)  # peer -> objects signed
    untrusted: list[str] = field(default_factory=list)
    tag: Tag | None = None


def _fail(what: str, cid: CID, exc: Exception) -> JzfsError:
    cls = type(exc) if isinstance(exc, JzfsError) else JzfsError
    err = cls(f"{what} {cid}: {exc}")
    return err


def _load(get: Getter, cid: CID, what: str, max_bytes: int) -> Commit | Tag:
    try:
        data = get(cid)
    except NotFound:
        raise NotFound(f"{what} {cid} is missing") from None
    except JzfsError as exc:
        raise _fail(what, cid, exc) from None
    try:
        return decode_object(cid, data, max_bytes=max_bytes)
    except JzfsError as exc:
        raise _fail(what, cid, exc) from None


def verify_history(get: Getter, head: CID, *, trusted: Collection[str], data: bool = True,
                   require_trusted: bool = True,
                   max_depth: int = VERSIONING_LIMITS.max_history_depth,
                   max_object_bytes: int = VERSIONING_LIMITS.max_object_bytes,
                   skip: Collection[CID] = ()) -> Report:
    """Verify everything reachable from `head` (a commit or a tag). `skip`: commits already
    verified (e.g. the local history a pull builds on) whose ancestry is not walked again."""
    report = Report(head)
    obj = _load(get, head, "object", max_object_bytes)
    start = head
    if isinstance(obj, Tag):
        _check_sig(obj, head, "tag", report, trusted)
        report.tag = obj
        start = obj.target
    seen: set[CID] = set()
    stack = [start]
    data_seen: set[bytes] = set()
    while stack:
        cid = stack.pop()
        if cid in seen or cid in skip:
            continue
        seen.add(cid)
        if len(seen) > max_depth:
            raise LimitExceeded(f"history deeper than {max_depth} commits; refusing")
        commit = _load(get, cid, "commit", max_object_bytes)
        if not isinstance(commit, Commit):
            raise SignatureError(f"commit {cid}: a parent link points at a tag")
        _check_sig(commit, cid, "commit", report, trusted)
        report.commits += 1
        if not commit.parents:
            report.roots.append(cid)
        stack.extend(commit.parents)
        if data:
            report.data_blocks += _walk_data(get, commit.root, data_seen, cid)
    report.untrusted.sort()
    if require_trusted and report.untrusted:
        raise SignatureError(
            f"signed by untrusted key(s) {', '.join(report.untrusted)} "
            f"(jzfs trust add {report.untrusted[0]} if you trust it)")
    return report


def _check_sig(obj: Commit | Tag, cid: CID, what: str, report: Report, trusted: Collection[str]) -> None:
    sig = check_signature(obj, trusted)
    if sig.status == INVALID:
        raise SignatureError(f"{what} {cid}: {sig.detail}")
    report.signers[sig.signer] = report.signers.get(sig.signer, 0) + 1
    if sig.status == UNTRUSTED and sig.signer not in report.untrusted:
        report.untrusted.append(sig.signer)


def _walk_data(get: Getter, root: CID, seen: set[bytes], commit: CID) -> int:
    count = 0
    stack = [root]
    while stack:
        cid = stack.pop()
        if cid.multihash in seen:
            continue
        seen.add(cid.multihash)
        if cid.hash_code == 0x00:  # identity CID: the data is inline, nothing to fetch
            continue
        try:
            block = get(cid)
            links = codecs.links(cid, block)
        except NotFound:
            raise NotFound(f"block {cid} of the dataset of commit {commit} is missing") from None
        except JzfsError as exc:
            raise _fail(f"dataset of commit {commit}: block", cid, exc) from None
        count += 1
        stack.extend(links)
    return count
