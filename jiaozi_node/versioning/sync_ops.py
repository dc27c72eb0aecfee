"""fetch, pull, clone and push as operations returning Kubo-style JSON values, run by whichever
process holds the node online: the running daemon (RPC `jzfs/fetch|pull|clone|push`, as every
other command goes through it) or, with no daemon, a short-lived node in the CLI process.
`cli/version_sync_cmds.py` prints the same lines from the same values either way.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import InvalidInput
from .sync import FetchResult, SyncClient


def remote_addr(node: Any, name: str) -> str:
    """The multiaddr of remote `name` (config `Remotes`), or `name` itself when it is one."""
    remotes = node.settings.remotes
    if name not in remotes:
        if name.startswith("/"):
            return name  # a multiaddr given directly
        raise InvalidInput(f"no remote named {name!r} (jzfs remote add {name} MULTIADDR)")
    return str(remotes[name]["Addr"])


def fetch_json(res: FetchResult) -> dict[str, Any]:
    return {"Peer": res.peer, "Repo": res.repo, "Refs": {k: str(v) for k, v in sorted(res.refs.items())},
            "NewCommits": res.new_commits, "FetchedBlocks": res.fetched_blocks,
            "FetchedBytes": res.fetched_bytes}


def commit_cid(text: str) -> Any:
    """The CID when REMOTE/MULTIADDR is a commit (or tag) CID: found through routing, not a
    peer's refs (issue 10: no address typed). None for remote names and multiaddrs."""
    if text.startswith("/"):
        return None
    from ..errors import JzfsError
    from ..ipld.cid import CID

    try:
        return CID.decode(text)
    except (JzfsError, ValueError):
        return None


async def fetch(client: SyncClient, node: Any, remote: str, repo: str, branch: str | None, *,
                pull: bool = False) -> dict[str, Any]:
    """`jzfs fetch|pull REMOTE REPO [BRANCH]`; pull adds {"Branches": {b: {"Result", "Cid"}}}.
    REMOTE may be a commit CID: its history comes from whoever provides it (routing); pull then
    fast-forwards BRANCH (default main) to it, fetch moves `remotes/routing/<short CID>`."""
    cid = commit_cid(remote)
    if cid is not None:
        target = (branch or "main") if pull else None
        res = await client.fetch_commit(cid, repo, branch=target)
        out = fetch_json(res)
        if target is not None:
            what = client.fast_forward(repo, target, node.versioning.peel(cid))
            out["Branches"] = {target: {"Result": what, "Cid": str(cid)}}
        return out
    peer = await client.connect(remote_addr(node, remote))
    res = await client.fetch(peer, repo, remote=remote, branch=branch)
    out = fetch_json(res)
    if pull:
        out["Branches"] = {}
        for ref, cid in sorted(res.refs.items()):
            if ref.startswith("heads/"):
                name = ref[len("heads/"):]
                what = client.fast_forward(repo, name, node.versioning.peel(cid))
                out["Branches"][name] = {"Result": what, "Cid": str(cid)}
    return out


async def clone(client: SyncClient, node: Any, addr: str, name: str) -> dict[str, Any]:
    """`jzfs clone MULTIADDR|COMMIT_CID NAME` (a commit CID: from its providers, via routing)."""
    cid = commit_cid(addr)
    if cid is not None:
        return fetch_json(await client.clone_commit(cid, name, now=int(time.time())))
    return fetch_json(await client.clone(addr, name, now=int(time.time())))


async def push(client: SyncClient, node: Any, remote: str, repo: str, branch: str, *,
               force: bool = False) -> dict[str, Any]:
    peer = await client.connect(remote_addr(node, remote))
    head = await client.push(peer, repo, branch, force=force)
    return {"Peer": peer, "Repo": repo, "Branch": branch, "Head": str(head)}


OPS = {"fetch": fetch, "clone": clone, "push": push}
