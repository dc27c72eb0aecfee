"""`/jzfs/refs/1.0.0` adapter (trio): serve refs lists and pushes; fetch, pull, clone and push.

The protocol decisions live in `sync_core.py` (pure); blocks move over Bitswap through the node's
ONE retrieval path (`node/retrieval.py`, hash-checked there), so only missing blocks travel.
Before any ref moves, every new commit is strictly decoded and its signature and signer checked
(`_fetch_history`), and the data of every new commit is made local; a failure at any step leaves
all refs where they were (fetched blocks are unreferenced and go at the next GC).

Registered in `node/online.py` (`start_online`): the service answers inbound requests. Client
operations (`SyncClient`) run inside `async with node.online(...)`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio

from ..errors import (
    InvalidInput,
    JzfsError,
    LimitExceeded,
    NotFound,
    RefConflict,
    RemoteProtocolError,
    SignatureError,
    Timeout,
)
from ..identity import public_key_from_peer_id
from ..ipld.block import VerifiedBlock
from ..ipld.cid import CID
from . import history, signing
from .objects import Tag, decode_object
from .sync_core import (
    NONCE_BYTES,
    PROTOCOL_ID,
    Advertisement,
    FrameReader,
    HistoryRequest,
    ListRequest,
    PushRequest,
    check_advertisement,
    error_response,
    frame,
    history_objects,
    make_advertisement,
    parse_request,
    parse_response,
)
from .verify import check_signature, require_verified

logger = logging.getLogger(__name__)


async def read_message(stream: Any, *, max_bytes: int) -> dict[str, Any]:
    reader = FrameReader(max_bytes=max_bytes)
    while True:
        msg = reader.next_message()
        if msg is not None:
            return msg
        chunk = await stream.read()
        if not chunk:
            raise RemoteProtocolError(f"{stream.remote_peer} closed the refs stream mid-message")
        reader.receive_data(chunk)


def _retrieval(online: Any, *, routed: bool = True) -> Any:
    """Retrieval over bitswap and, when `routed` (no peer named: a commit CID found through
    routing, issue 10), the routing service's provider finder. Syncing with a named peer is not
    routed: its blocks come from that peer, and racing a provider search for every block cost
    ~0.1 s of a daemon's CPU per 100 MiB clone."""
    from ..node.retrieval import Retrieval

    bitswap = online.services.get("bitswap")
    if bitswap is None:
        raise NotFound("bitswap is not running on this node; cannot move blocks")
    sources = [bitswap]
    finder = getattr(online.services.get("routing"), "finder", None) if routed else None
    if finder is not None:
        sources.append(finder)
    return Retrieval.from_defaults(online.node.blocks, sources, online.node.defaults,
                                   on_stored=bitswap.notify_new_blocks)


@dataclass
class FetchResult:
    peer: str
    repo: str
    refs: dict[str, CID]  # the remote's refs that were fetched (full names)
    new_commits: int = 0
    fetched_blocks: int = 0
    fetched_bytes: int = 0
    moved: dict[str, CID] = field(default_factory=dict)  # local refs moved


@asynccontextmanager
async def gc_shared(node: Any) -> AsyncIterator[None]:
    """Hold the repo's GC lock shared (store/lock.py) from the first fetched block until the refs
    that keep the blocks alive have moved; waited for in a worker thread when a `repo gc` holds
    it (flock blocks)."""
    lock = node.pins.lock
    cm = lock.try_shared()  # taken at once unless a GC runs: no thread to start
    if cm is None:
        cm = lock.shared()
        await trio.to_thread.run_sync(cm.__enter__)
    else:
        cm.__enter__()
    try:
        yield
    finally:
        cm.__exit__(None, None, None)


class _Common:
    def __init__(self, online: Any) -> None:
        self.online = online
        self.node = online.node
        self.vs = online.node.versioning
        self.limits = online.node.defaults.versioning

    async def _request(self, peer: str, msg: dict[str, Any]) -> dict[str, Any]:
        try:
            with trio.fail_after(self.limits.sync_timeout_s):
                stream = await self.online.host.new_stream(peer, [PROTOCOL_ID])
                try:
                    await stream.write(frame(msg))
                    resp = await read_message(stream, max_bytes=self.limits.max_sync_message_bytes)
                finally:
                    await stream.close()
        except trio.TooSlowError:  # a peer that holds the stream open: a clear error, no traceback
            raise Timeout(f"peer {peer} did not answer the refs request ({msg.get('op')}) "
                          f"in {self.limits.sync_timeout_s} s") from None
        return parse_response(resp, peer=peer)

    def _ref_heads(self, repo: str) -> set[CID]:
        """The commits (and tags) the repo's local refs point at, tags peeled too."""
        heads: set[CID] = set()
        if self.vs.refs.has_repo(repo):
            for cid in self.vs.refs.list_refs(repo).values():
                heads.add(cid)
                try:
                    heads.add(self.vs.peel(cid))
                except JzfsError:
                    continue
        return heads

    def _known_good(self, repo: str) -> set[CID]:
        """Commits already checked here: the histories of the repo's local refs (each got its ref
        only after being verified, or was committed here). A pull walks only what is new."""
        known: set[CID] = set()
        if not self.vs.refs.has_repo(repo):
            return known
        for cid in self.vs.refs.list_refs(repo).values():
            if cid in known:
                continue
            try:
                known |= history.ancestors(self.vs.load_commit, self.vs.peel(cid),
                                           max_depth=self.limits.max_history_depth)
            except JzfsError:
                continue  # incomplete or foreign history: not counted as known
        return known

    async def _fetch_history(self, heads: list[CID], *, trusted: set[str], repo: str,
                             peer: str | None = None) -> int:
        """Fetch and check every commit/tag reachable from `heads` that is not already known
        here, then their data. With `peer` (it serves the refs protocol), the objects come in
        one `history` answer first (`_prefetch_history`); each is used only as the block its
        hash names, and what it lacks is fetched over Bitswap as without it.

        Raises (and moves nothing) on a missing, malformed, unsigned, badly signed or untrusted
        object or on absurd depth. Returns the number of new commits checked."""
        r = _retrieval(self.online, routed=peer is None)
        # Known good: the local refs' commits at first; their whole histories (one local read and
        # check per commit) only once the walk meets a local commit that is none of them — a
        # linear pull stops at its old head and never walks the history it already has.
        known = self._ref_heads(repo)
        full_known = False
        prefetched = {} if peer is None else await self._prefetch_history(peer, repo, heads, known)
        arrived: list[VerifiedBlock] = []
        try:
            seen: set[CID] = set()
            commits = 0
            roots: list[CID] = []
            stack = list(heads)
            max_depth = self.limits.max_history_depth
            while stack:
                cid = stack.pop()
                if cid in seen or cid in known:
                    continue
                if not full_known and self.node.blocks.has(cid):
                    known |= self._known_good(repo)
                    full_known = True
                    if cid in known:
                        continue
                seen.add(cid)
                if len(seen) > max_depth:
                    raise LimitExceeded(f"history deeper than {max_depth} commits; refusing")
                vb = prefetched.pop(cid, None)  # keyed by the hash of its bytes: it is cid's block
                if vb is not None:
                    arrived.append(vb)
                    data = vb.data
                else:
                    try:
                        data = await r.get(cid)
                    except (NotFound, Timeout) as exc:
                        raise NotFound(f"commit {cid} could not be fetched: {exc}") from None
                obj = decode_object(cid, data, max_bytes=self.limits.max_object_bytes)
                # the one check every history command makes (versioning/verify.py); no override here:
                # nothing untrusted gets a ref
                require_verified(check_signature(obj, trusted), "tag" if isinstance(obj, Tag) else "commit",
                                 cid, override=None)
                if isinstance(obj, Tag):
                    stack.append(obj.target)
                    continue
                commits += 1
                roots.append(obj.root)
                stack.extend(obj.parents)
        except BaseException:  # what arrived is stored as fetched blocks are, also when a check
            # failed (unreferenced, it goes at the next GC)
            r.add_verified(arrived)
            with trio.CancelScope(shield=True):
                await r.flush()
            raise
        r.add_verified(arrived)  # written with the first batch of the data
        await r.fetch_dag(roots)
        self.node.announce([*seen, *roots])  # we hold them now: provide commits and roots
        self.fetched_blocks = r.fetched_blocks + len(arrived)
        self.fetched_bytes = r.fetched_bytes + sum(len(b.data) for b in arrived)
        return commits

    async def _prefetch_history(self, peer: str, repo: str, heads: list[CID], known: set[CID]) -> dict[CID, bytes]:
        """The peer's `history` answer for `heads` (objects by the CID hashed from their bytes);
        {} when the peer does not answer it (an older version: the walk uses Bitswap alone)."""
        if not heads or all(h in known for h in heads):
            return {}
        have: list[CID] = []
        if self.vs.refs.has_repo(repo):
            have = list(dict.fromkeys(self.vs.refs.list_refs(repo).values()))
        max_refs = self.limits.max_refs_per_advertisement
        req = HistoryRequest(repo, tuple(heads[:max_refs]), tuple(have[:max_refs]))
        try:
            resp = await self._request(peer, req.to_node())
        except RemoteProtocolError as exc:
            logger.info("history from %s refused (%s); walking it over Bitswap", peer, exc)
            return {}
        return history_objects(resp, peer=peer, max_object_bytes=self.limits.max_object_bytes,
                               max_objects=self.limits.max_sync_message_bytes // 64)


class RefsService(_Common):
    """Serves `/jzfs/refs/1.0.0`: signed refs lists, and pushes from allowed peers."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.online.host.set_stream_handler(PROTOCOL_ID, self._handle)
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            self.online.host.remove_stream_handler(PROTOCOL_ID)

    async def _handle(self, stream: Any) -> None:
        peer = stream.remote_peer
        try:
            with trio.fail_after(self.limits.sync_timeout_s):
                msg = await read_message(stream, max_bytes=self.limits.max_sync_message_bytes)
            req = parse_request(msg, max_refs=self.limits.max_refs_per_advertisement)
            if isinstance(req, ListRequest):
                resp = self._list(req)
            elif isinstance(req, HistoryRequest):
                resp = await self._history(req)
            else:
                resp = await self._push(req, peer)
        except trio.TooSlowError:
            return
        except JzfsError as exc:
            logger.info("refs request from %s refused: %s", peer, exc)
            resp = error_response(str(exc))
        await stream.write(frame(resp))

    def _list(self, req: ListRequest) -> dict[str, Any]:
        names = [req.repo] if req.repo is not None else self.vs.list_repos()
        repos = {}
        for name in names:
            repos[name] = {ref: cid for ref, cid in self.vs.refs.list_refs(name).items()
                           if not ref.startswith("remotes/")}
        adv = make_advertisement(self.node.repo.identity, req.nonce, repos, now=_wall())
        return {"ok": True, "adv": adv.to_node()}

    async def _history(self, req: HistoryRequest) -> dict[str, Any]:
        """The commit and tag objects under `req.heads` that we hold, newest first, stopping at
        the asker's `have` and at one message's worth (the asker walks on over Bitswap). Only
        objects that decode as commits or tags are sent or followed; nothing is checked for the
        asker: it hashes and verifies every object itself. Other tasks run every 32 objects (an
        answer holds up to a few thousand: a deep history must not stall the node)."""
        if not self.vs.refs.has_repo(req.repo):
            raise NotFound(f"no repository named {req.repo!r}")
        budget = self.limits.max_sync_message_bytes - 1024  # room for the envelope
        seen, stack, out = set(req.have), list(reversed(req.heads)), []
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.add(cid)
            try:
                data = self.node.blocks.get(cid)
                obj = decode_object(cid, data, max_bytes=self.limits.max_object_bytes)
            except JzfsError:
                continue  # not here, or not a commit/tag: the asker fetches it over Bitswap
            budget -= len(data) + 8  # + its CBOR byte-string header
            if budget < 0:
                break
            out.append(data)
            stack.extend(reversed(obj.parents) if not isinstance(obj, Tag) else [obj.target])
            if len(out) % 32 == 0:
                await trio.lowlevel.checkpoint()
        return {"ok": True, "objects": out}

    async def _push(self, req: PushRequest, peer: str) -> dict[str, Any]:
        if peer not in self.vs.refs.writers(req.repo):
            raise SignatureError(f"{peer} may not push to {req.repo!r} (jzfs remote allow {req.repo} {peer})")
        try:
            current: CID | None = self.vs.refs.get_ref(req.repo, req.ref)
        except NotFound:
            current = None
        if current != req.old:
            raise RefConflict(f"{req.ref} is at {current}, not {req.old}; fetch and retry")
        trusted = set(self.vs.trusted_keys()) | {peer}
        async with gc_shared(self.node):
            await self._fetch_history([req.new], trusted=trusted, repo=req.repo, peer=peer)
            new_commit = self.vs.peel(req.new)
            if req.old is not None and not req.force:
                if not history.is_ancestor(self.vs.load_commit, req.old, new_commit,
                                           max_depth=self.limits.max_history_depth):
                    raise RefConflict(f"push to {req.repo}@{req.ref} is not a fast-forward (use --force)")
            self.vs.refs.update_ref(req.repo, req.ref, new_commit, expected=req.old)
        return {"ok": True, "head": new_commit}


def _wall() -> int:
    return int(time.time())


class SyncClient(_Common):
    """Client side; `online` must run bitswap (blocks) — the refs service is optional."""

    async def connect(self, multiaddr: str) -> str:
        return await self.online.host.connect(multiaddr)

    async def list_refs(self, peer: str, repo: str | None = None) -> Advertisement:
        nonce = os.urandom(NONCE_BYTES)
        resp = await self._request(peer, ListRequest(nonce, repo).to_node())
        return check_advertisement(resp.get("adv"), expected_peer=peer, nonce=nonce, repo=repo,
                                   max_refs=self.limits.max_refs_per_advertisement)

    async def fetch(self, peer: str, repo: str, *, remote: str, branch: str | None = None) -> FetchResult:
        """Fetch the repo's branches (or one) and tags; move `remotes/REMOTE/BRANCH` refs."""
        if not self.vs.refs.has_repo(repo):
            raise NotFound(f"no repository named {repo!r} here (jzfs clone, or jzfs repo create {repo})")
        adv = await self.list_refs(peer, repo)
        async with gc_shared(self.node):  # until the refs that keep the fetched blocks alive move
            result = await self._fetch_advertised(peer, repo, adv, branch=branch,
                                                  trusted=set(self.vs.trusted_keys()))
            updates: list[tuple[str, CID, CID | None]] = []
            for ref, cid in result.refs.items():
                if ref.startswith("heads/"):
                    local = f"remotes/{remote}/{ref[len('heads/'):]}"
                    cur = self._get(repo, local)
                    if cur != cid:
                        updates.append((local, cid, cur))
                    result.moved[local] = cid
                else:
                    have = self._get(repo, ref)
                    if have is None:
                        updates.append((ref, cid, None))
                        result.moved[ref] = cid
                    elif have != cid:
                        logger.warning("tag %s differs on %s; keeping ours", ref, peer)
            self.vs.refs.update_refs(repo, updates)  # one transaction: all of them or none
        return result

    async def _fetch_advertised(self, peer: str, repo: str, adv: Advertisement, *, branch: str | None,
                                trusted: set[str]) -> FetchResult:
        """Fetch and check the history and data of the advertised branches (or one) and tags;
        moves no ref. The caller holds the GC lock until the refs that keep them move."""
        remote_refs = adv.repos[repo]
        wanted = {r: c for r, c in remote_refs.items()
                  if (r.startswith("heads/") and (branch is None or r == f"heads/{branch}")) or r.startswith("tags/")}
        if branch is not None and f"heads/{branch}" not in wanted:
            raise NotFound(f"peer {peer} has no branch {branch!r} in {repo!r}")
        result = FetchResult(peer, repo, wanted)
        result.new_commits = await self._fetch_history(list(wanted.values()), trusted=trusted, repo=repo,
                                                      peer=peer)
        result.fetched_blocks, result.fetched_bytes = self.fetched_blocks, self.fetched_bytes
        return result

    def _get(self, repo: str, ref: str) -> CID | None:
        try:
            return self.vs.refs.get_ref(repo, ref)
        except NotFound:
            return None

    def _set(self, repo: str, ref: str, cid: CID, *, force: bool) -> None:
        try:
            cur: CID | None = self.vs.refs.get_ref(repo, ref)
        except NotFound:
            cur = None
        if cur != cid:
            self.vs.refs.update_ref(repo, ref, cid, expected=cur)

    def fast_forward(self, repo: str, branch: str, target: CID) -> str:
        """Move heads/BRANCH to `target` if that is a fast-forward; returns what happened."""
        ref = f"heads/{branch}"
        try:
            cur: CID | None = self.vs.refs.get_ref(repo, ref)
        except NotFound:
            cur = None
        if cur is None:
            self.vs.refs.update_ref(repo, ref, target, expected=None)
            return "created"
        depth = self.limits.max_history_depth
        if history.is_ancestor(self.vs.load_commit, target, cur, max_depth=depth):
            return "up-to-date"
        if not history.is_ancestor(self.vs.load_commit, cur, target, max_depth=depth):
            raise RefConflict(f"branch {branch} has diverged from the remote; "
                              f"merge it: jzfs merge {repo} <remote>/{branch} --into {branch}")
        self.vs.refs.update_ref(repo, ref, target, expected=cur)
        return "fast-forward"

    async def clone(self, multiaddr: str, repo: str, *, now: int) -> FetchResult:
        """A new repo with the peer's branches (`heads/B` and `remotes/origin/B`) and tags.

        Nothing is written until every commit is checked and every block is here: then ONE config
        write (the remote as `origin`; its key trusted — the user named the peer — kept only because
        the clone completes) and ONE refs transaction that creates the repo with all its refs. A
        failure or a crash before that leaves no repo, no remote and no new trust behind."""
        peer = await self.connect(multiaddr)
        if self.vs.refs.has_repo(repo):
            raise InvalidInput(f"repository {repo!r} already exists here")
        public_key_from_peer_id(peer)  # InvalidInput unless an Ed25519 peer ID (one that signs)
        adv = await self.list_refs(peer, repo)  # before anything else: the peer must have it
        async with gc_shared(self.node):  # until the refs that keep the fetched blocks alive move
            result = await self._fetch_advertised(peer, repo, adv, branch=None,
                                                  trusted=set(self.vs.trusted_keys()) | {peer})
            updates: list[tuple[str, CID, CID | None]] = []
            for ref, cid in sorted(result.refs.items()):
                if ref.startswith("heads/"):
                    local = f"remotes/origin/{ref[len('heads/'):]}"
                    updates += [(local, cid, None), (ref, self.vs.peel(cid), None)]
                    result.moved[local] = cid
                else:
                    updates.append((ref, cid, None))
                    result.moved[ref] = cid
            settings = self.node.settings
            before = {"Remotes": {k: dict(v) for k, v in settings.remotes.items()},
                      "Trust.Keys": list(settings.trust_keys)}
            remotes = dict(before["Remotes"])
            remotes.setdefault("origin", {"Addr": multiaddr})
            after = {"Remotes": remotes,
                     "Trust.Keys": before["Trust.Keys"] + ([] if peer in before["Trust.Keys"] else [peer])}
            self.node.repo.set_configs(after)
            try:
                self.vs.refs.update_refs(repo, updates, create_at=now)
            except BaseException:
                self.node.repo.set_configs(before)  # the clone did not happen: nor do these
                raise
        return result

    async def fetch_commit(self, cid: CID, repo: str, *, branch: str | None = None) -> FetchResult:
        """Fetch the history under commit (or tag) `cid` from whoever provides it — peers found
        through routing, no refs protocol — checking every object as `fetch` does (only trusted
        signers). With `branch`, fast-forward it to the commit (`pull`); else move
        `remotes/routing/<short CID>` (`fetch`)."""
        if not self.vs.refs.has_repo(repo):
            raise NotFound(f"no repository named {repo!r} here (jzfs clone, or jzfs repo create {repo})")
        result = FetchResult("routing", repo, {"commit": cid})
        async with gc_shared(self.node):
            result.new_commits = await self._fetch_history([cid], trusted=set(self.vs.trusted_keys()),
                                                          repo=repo)
            result.fetched_blocks, result.fetched_bytes = self.fetched_blocks, self.fetched_bytes
            if branch is None:
                ref = f"remotes/routing/{str(cid)[-12:]}"
                self._set(repo, ref, cid, force=True)
                result.moved[ref] = cid
        return result

    async def clone_commit(self, cid: CID, repo: str, *, now: int) -> FetchResult:
        """A new repo whose `main` is commit `cid`, its history fetched from providers found
        through routing. The commit's signer becomes trusted (as `clone` trusts the remote it
        names: the user named this commit); every older object must carry a trusted signature."""
        if self.vs.refs.has_repo(repo):
            raise InvalidInput(f"repository {repo!r} already exists here")
        r = _retrieval(self.online)
        try:
            data = await r.get(cid)
        except (NotFound, Timeout) as exc:
            raise NotFound(f"commit {cid} could not be fetched: {exc}") from None
        obj = decode_object(cid, data, max_bytes=self.limits.max_object_bytes)
        signer = signing.verify(obj)
        with self.vs.trust_while(signer):  # trusted only if the clone completes
            self.vs.create_repo(repo, now=now)
            try:
                result = await self.fetch_commit(cid, repo)
                self.vs.refs.update_ref(repo, "heads/main", self.vs.peel(cid), expected=None)
            except BaseException:
                self.vs.delete_repo(repo)  # nothing half-applied
                raise
        result.peer = signer
        return result

    async def push(self, peer: str, repo: str, branch: str, *, force: bool = False) -> CID:
        local = self.vs.branch_head(repo, branch)
        adv = await self.list_refs(peer, repo)
        old = adv.repos[repo].get(f"heads/{branch}")
        req = PushRequest(repo, f"heads/{branch}", old, local, force)
        resp = await self._request(peer, req.to_node())
        head = resp.get("head")
        if not isinstance(head, CID):
            raise RemoteProtocolError(f"peer {peer} accepted the push without naming the new head")
        return head


async def start_online(online: Any) -> None:
    """Hook for `node.online()`: answer /jzfs/refs/1.0.0."""
    svc = RefsService(online)
    online.services["refs"] = svc
    await online.nursery.start(svc.run)


__all__ = ["RefsService", "SyncClient", "FetchResult", "start_online"]
