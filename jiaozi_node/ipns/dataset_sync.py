"""Datasets under a name (adapters): publish a dataset's manifest under its own key, and fetch,
pull, clone, log and check out `/ipns/NAME[@REF]` (see ipns/dataset.py for the manifest).

Fetching goes through a short-lived online node (cli/version_sync_cmds.py `_online`): the name
is resolved (the running daemon's resolver when there is one, else this node's — its routing
service and the offline sources), the manifest block fetched through the retrieval path (hash
checked), its signature and publisher checked against the trust settings, then each commit's
history fetched and checked by the sync client (every commit and tag signature, trusted signers
only, then the data). Refs move only after all of that; a ref the new manifest moves backwards
(to an ancestor of the head seen before for this name) is reported and left alone.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, JzfsError, NotFound, RefConflict
from ..ipld.cid import CID, DAG_CBOR
from . import dataset as ds
from .keystore import Keystore

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ publishing


def build_manifest(node: Any, repo: str, branches: list[str] | None, *, now: int) -> tuple[CID, ds.Manifest]:
    """Sign and store the manifest of `repo` (the given branches, default all; every tag)."""
    vs = node.versioning
    refs = vs.refs.list_refs(repo)
    heads = {k: v for k, v in refs.items() if k.startswith("heads/")}
    if branches:
        missing = [b for b in branches if f"heads/{b}" not in heads]
        if missing:
            raise NotFound(f"repository {repo!r} has no branch {missing[0]!r}")
        heads = {f"heads/{b}": heads[f"heads/{b}"] for b in branches}
    if not heads:
        raise InvalidInput(f"repository {repo!r} has no branches to publish (commit first)")
    tags = {k: v for k, v in refs.items() if k.startswith("tags/")}
    ident = node.repo.identity
    manifest = ds.Manifest(repo, {**heads, **tags}, ident.peer_id, now).signed(ident)
    data = manifest.encode()
    cid = CID.of(data, codec=DAG_CBOR)
    node.blocks.put(cid, data)
    node.pins.add(cid, recursive=False)  # the commits it names are kept by the refs already
    announce = getattr(node, "announce", None)
    if announce is not None:
        announce([cid])  # so peers find the manifest through routing
    return cid, manifest


def dataset_key(node: Any, repo: str) -> str:
    ks = Keystore.for_repo(node.repo)
    name = ds.dataset_key_name(repo)
    if not ks.has(name):
        ks.generate(name)
    return name


def _previous_manifest(node: Any, key_name: str) -> CID | None:
    """The manifest the dataset's name pointed at before (our last published record)."""
    from .record import IpnsEntry, parse_data
    from .store import IpnsStore

    store = IpnsStore.for_repo(node.repo, busy_timeout_ms=node.defaults.store.sqlite_busy_timeout_ms)
    try:
        name = Keystore.for_repo(node.repo).info(key_name).id
        pub = store.published(name)
        if pub is None:
            return None
        value = parse_data(IpnsEntry.decode(pub.record).data or b"")[0].decode()
        return CID.decode(value[len("/ipfs/"):]) if value.startswith("/ipfs/") else None
    except (JzfsError, ValueError):
        return None
    finally:
        store.close()


@dataclass
class Published:
    name: str
    manifest: CID
    refs: dict[str, CID]
    note: str = ""


def publish_dataset(node: Any, repo: str, branches: list[str] | None = None, *,
                    client: Any = None) -> Published:
    """Manifest + IPNS record under the dataset's key; through the daemon when `client` is one."""
    if not node.versioning.refs.has_repo(repo):
        raise NotFound(f"no repository named {repo!r}")
    key = dataset_key(node, repo)
    previous = _previous_manifest(node, key)
    cid, manifest = build_manifest(node, repo, branches, now=int(time.time()))
    if previous is not None and previous != cid:
        try:
            node.pins.rm(previous, recursive=False)  # the superseded manifest may be collected
        except JzfsError:
            pass
    value = f"/ipfs/{cid}"
    note = ""
    if client is not None:
        try:
            res = client.json("name/publish", [value], {"key": key})
        except JzfsError as exc:
            res = client.json("name/publish", [value], {"key": key, "allow-offline": True})
            note = f"kept by the daemon, which republishes it; no router accepted it yet ({exc})"
        name = res["Name"]
    else:
        import trio

        from .service import IpnsService

        async def run(svc: IpnsService) -> Any:
            return await svc.publish(value, key=key, allow_offline=True)

        with IpnsService.offline(node) as svc:
            name = str(trio.run(run, svc)[0])
        note = "stored locally; a running daemon (jzfs daemon) publishes it to the network"
    return Published(name, cid, manifest.refs, note)


def publish_after_ref_move(node: Any, repo: str) -> None:
    """`commit --publish` / `merge --publish`: republish the dataset's manifest (all branches)."""
    from ..cli.common import daemon_client

    client = daemon_client()
    try:
        pub = publish_dataset(node, repo, client=client)
    finally:
        if client is not None:
            client.close()
    print(f"published {repo} to /ipns/{pub.name} (manifest {pub.manifest})", file=sys.stderr)
    if pub.note:
        print(f"note: {pub.note}", file=sys.stderr)


# ------------------------------------------------------------------------------ fetching


@dataclass
class NamedFetch:
    name: str  # what the user wrote after /ipns/ (k51… or a DNSLink domain)
    manifest_cid: CID
    manifest: ds.Manifest
    applied: dict[str, CID] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # ref -> reason (pointing backwards)
    new_commits: int = 0
    fetched_blocks: int = 0
    fetched_bytes: int = 0


async def resolve_manifest_cid(on: Any, name_path: str) -> CID:
    """`/ipns/NAME` -> the manifest CID: the daemon's resolver if one runs, else this node's.
    Never from the resolve cache: fetch/pull want the name's current value, as `git fetch` does."""
    import trio

    from ..cli.common import daemon_client

    client = daemon_client()
    path: str | None = None
    if client is not None:
        def ask() -> str:
            with client:
                return str(client.json("name/resolve", [name_path],
                                       {"recursive": True, "nocache": True})["Path"])

        path = await trio.to_thread.run_sync(ask, abandon_on_cancel=True)
    else:
        from .service import IpnsService

        routing = on.services.get("routing")
        router = getattr(routing, "router", None)
        with IpnsService(on.node, router=lambda: router) as svc:
            path = await svc.resolve(name_path, nocache=True)
    if not path.startswith("/ipfs/") or "/" in path[len("/ipfs/"):].strip("/"):
        raise InvalidInput(f"{name_path} points at {path}, not at a dataset manifest")
    return CID.decode(path[len("/ipfs/"):].strip("/"))


async def load_manifest(client: Any, on: Any, name_path: str, *, trust_publisher: bool) -> tuple[CID, ds.Manifest]:
    from ..versioning.sync import _retrieval

    cid = await resolve_manifest_cid(on, name_path)
    data = await _retrieval(on).get(cid)  # hash-checked; providers found through routing
    manifest = ds.Manifest.decode(data, max_bytes=on.node.defaults.versioning.max_object_bytes)
    vs = on.node.versioning
    if trust_publisher and manifest.publisher not in vs.trusted_keys():
        manifest.verify([manifest.publisher])  # signature first: never trust a forger
        vs.trust_add(manifest.publisher)
        print(f"trusting {manifest.publisher}, the publisher of {name_path}", file=sys.stderr)
    manifest.verify(vs.trusted_keys())
    return cid, manifest


def _seen_store(node: Any) -> Any:
    from .store import IpnsStore

    return IpnsStore.for_repo(node.repo, busy_timeout_ms=node.defaults.store.sqlite_busy_timeout_ms)


async def fetch_named(client: Any, on: Any, name_path: str, repo: str, *, refs: list[str] | None,
                      clone: bool = False) -> NamedFetch:
    """Fetch the refs of a published dataset into `repo` (history checked); set
    `remotes/NAME/BRANCH` (and, for a clone, the local branches and tags). Refs that point
    backwards are reported in `refused` and not applied. A clone trusts the publisher only if it
    completes."""
    vs = on.node.versioning
    name = name_path[len("/ipns/"):]
    trusted_before = set(vs.trusted_keys())
    cid, manifest = await load_manifest(client, on, name_path, trust_publisher=clone)
    try:
        return await _fetch_named(client, on, name_path, repo, name, cid, manifest, refs=refs,
                                  clone=clone)
    except BaseException:
        if clone and manifest.publisher not in trusted_before:
            vs.trust_discard(manifest.publisher)  # a failed clone trusts nobody new
        raise


async def _fetch_named(client: Any, on: Any, name_path: str, repo: str, name: str, cid: CID,
                       manifest: Any, *, refs: list[str] | None, clone: bool) -> NamedFetch:
    from ..versioning import history

    node = on.node
    vs = node.versioning
    wanted = dict(manifest.refs)
    if refs:
        picked = dict(ds.pick_ref(manifest.refs, r) for r in refs)
        wanted = {**picked, **{k: v for k, v in manifest.refs.items() if k.startswith("tags/")}}
    result = NamedFetch(name, cid, manifest)
    if clone:
        if vs.refs.has_repo(repo):
            raise InvalidInput(f"repository {repo!r} already exists here")
        vs.create_repo(repo, now=int(time.time()))
    elif not vs.refs.has_repo(repo):
        raise NotFound(f"no repository named {repo!r} here (jzfs clone {name_path} {repo})")
    from ..versioning.sync import gc_shared

    try:
        async with gc_shared(node):
            result.new_commits = await client._fetch_history(
                list(wanted.values()), trusted=set(vs.trusted_keys()), repo=repo)
            result.fetched_blocks = getattr(client, "fetched_blocks", 0)
            result.fetched_bytes = getattr(client, "fetched_bytes", 0)
            seen = _seen_store(node)
            try:
                for ref, target in sorted(wanted.items()):
                    head = vs.peel(target)
                    before = seen.seen_head(name, ref)
                    prev = CID.decode(before) if before else None
                    if ds.backwards(lambda x, y: _is_ancestor(vs, history, x, y), prev, head):
                        result.refused[ref] = (f"/ipns/{name} now points {ref} at {head}, an older "
                                               f"commit than {prev} seen before: not applied")
                        continue
                    seen.set_seen_head(name, ref, str(head), now=time.time())
                    short = ref.split("/", 1)[1]
                    if ref.startswith("heads/"):
                        local = f"remotes/{_remote_segment(name)}/{short}"
                        client._set(repo, local, target, force=True)
                        result.applied[local] = target
                        if clone:
                            vs.refs.update_ref(repo, ref, head, expected=None)
                            result.applied[ref] = head
                    else:
                        try:
                            have = vs.refs.get_ref(repo, ref)
                            if have != target:
                                log.warning("tag %s differs in %s; keeping ours", ref, name_path)
                        except NotFound:
                            vs.refs.update_ref(repo, ref, target, expected=None)
                            result.applied[ref] = target
            finally:
                seen.close()
    except BaseException:
        if clone:
            vs.delete_repo(repo)  # nothing half-applied
        raise
    if clone:
        remotes = {k: dict(v) for k, v in node.settings.remotes.items()}
        remotes.setdefault("origin", {"Addr": name_path})
        node.repo.set_config("Remotes", remotes)
    return result


def _is_ancestor(vs: Any, history: Any, a: CID, b: CID) -> bool:
    try:
        return bool(history.is_ancestor(vs.load_commit, a, b, max_depth=vs.limits.max_history_depth))
    except JzfsError:
        return False


def _remote_segment(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name)[:100] or "ipns"


def fast_forward_all(client: Any, repo: str, res: NamedFetch, branch: str | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    vs = client.vs
    for ref, target in sorted(res.manifest.refs.items()):
        if not ref.startswith("heads/") or ref in res.refused:
            continue
        b = ref[len("heads/"):]
        if branch is not None and b != branch:
            continue
        try:
            what = client.fast_forward(repo, b, vs.peel(target))
        except RefConflict as exc:
            what = f"refused: {exc}"
        out[b] = {"Result": what, "Cid": str(target)}
    return out


async def fetch_commits_only(client: Any, on: Any, head: CID) -> int:
    """Fetch the commit chain under `head` (no data) for `log`, then check it with the one
    history verifier (versioning/verify.py: every signature, trusted signers only)."""
    from ..versioning.objects import Commit, Tag, decode_object
    from ..versioning.sync import _retrieval
    from ..versioning.verify import verify_history

    r = _retrieval(on)
    limits = on.node.defaults.versioning
    seen: set[CID] = set()
    stack = [head]
    while stack:
        cid = stack.pop()
        if cid in seen:
            continue
        seen.add(cid)
        if len(seen) > limits.max_history_depth:
            raise InvalidInput("history too deep")
        obj = decode_object(cid, await r.get(cid), max_bytes=limits.max_object_bytes)
        if isinstance(obj, Tag):
            stack.append(obj.target)
        elif isinstance(obj, Commit):
            stack.extend(obj.parents)
    vs = on.node.versioning
    verify_history(lambda c: bytes(on.node.blocks.get(c)), head, trusted=vs.trusted_keys(), data=False)
    return len(seen)
