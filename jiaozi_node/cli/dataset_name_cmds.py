"""Datasets under a name: `jzfs publish NAME [--branch BR]…`, `--publish` on commit/merge, and
`/ipns/NAME[@REF]` for clone, fetch, pull, log and checkout.

This module registers after the versioning commands and extends them in place: `--publish` is
added to `commit` and `merge`, and clone/fetch/pull/log/checkout get a front that sends
`/ipns/…` arguments here and everything else to the original handler. See
jiaozi_node/ipns/dataset.py (manifest, rules) and ipns/dataset_sync.py (publishing, fetching).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import daemon_client, esc, open_node, print_json


def cmd_publish(args: argparse.Namespace) -> int:
    from ..ipns.dataset_sync import publish_dataset

    client = daemon_client(args)
    try:
        with open_node() as node:
            pub = publish_dataset(node, args.name, args.branch or None, client=client)
    finally:
        if client is not None:
            client.close()
    if args.json:
        print_json({"Name": pub.name, "Value": f"/ipfs/{pub.manifest}", "Dataset": args.name,
                    "Refs": {k: str(v) for k, v in sorted(pub.refs.items())}})
    else:
        print(f"Published {args.name} to {pub.name}: /ipfs/{pub.manifest}")
        for ref, cid in sorted(pub.refs.items()):
            print(f"  {esc(ref)} {cid}")
    if pub.note:
        print(f"note: {pub.note}", file=sys.stderr)
    return 0


def _with_publish(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        rc = func(args)
        if rc in (0, None) and getattr(args, "publish", False):
            from ..ipns.dataset_sync import publish_after_ref_move

            with open_node() as node:
                publish_after_ref_move(node, args.name)
        return rc or 0

    return run


def _named(online_op: Any) -> Any:
    """Run `online_op(SyncClient, node)` on a short-lived node with its own routing (the sync
    commands' `_online`): the name is resolved and the manifest's providers found through it."""
    from .version_sync_cmds import _online

    return _online(online_op, routed=True)


def _report(res: Any) -> int:
    for _ref, reason in sorted(res.refused.items()):
        print(f"warning: {reason}", file=sys.stderr)
    return 1 if res.refused else 0


def cmd_clone_named(args: argparse.Namespace) -> int:
    from ..ipns.dataset import parse_name_spec
    from ..ipns.dataset_sync import fetch_named

    name_path, ref = parse_name_spec(args.addr)

    async def op(client: Any, node: Any) -> Any:
        return await fetch_named(client, client.online, name_path, args.name,
                                 refs=[ref] if ref else None, clone=True)

    res = _named(op)
    if args.json:
        print_json(_json(res))
    else:
        print(f"cloned {args.name} from {name_path} (publisher {res.manifest.publisher}): "
              f"{len(res.applied)} refs, {res.new_commits} commits checked, "
              f"{res.fetched_bytes} bytes transferred")
    return _report(res)


def cmd_fetch_named(args: argparse.Namespace, remote: str, *, pull: bool) -> int:
    from ..ipns.dataset import parse_name_spec
    from ..ipns.dataset_sync import fast_forward_all, fetch_named

    name_path, ref = parse_name_spec(remote)
    branch = args.branch or ref

    async def op(client: Any, node: Any) -> Any:
        res = await fetch_named(client, client.online, name_path, args.repo,
                                refs=[branch] if branch else None)
        ff = fast_forward_all(client, args.repo, res, branch) if pull else {}
        return res, ff

    res, ff = _named(op)
    if args.json:
        print_json({**_json(res), **({"Branches": ff} if pull else {})})
    else:
        print(f"fetched {name_path} into {args.repo}: {res.new_commits} commits checked, "
              f"{res.fetched_blocks} blocks ({res.fetched_bytes} bytes) transferred")
        for b, v in ff.items():
            print(f"{esc(b)}: {esc(v['Result'])} ({v['Cid']})")
    return _report(res)


def _json(res: Any) -> dict[str, Any]:
    return {"Name": res.name, "Manifest": str(res.manifest_cid), "Publisher": res.manifest.publisher,
            "Applied": {k: str(v) for k, v in sorted(res.applied.items())},
            "Refused": dict(sorted(res.refused.items())), "NewCommits": res.new_commits,
            "FetchedBlocks": res.fetched_blocks, "FetchedBytes": res.fetched_bytes}


def _resolve_head(args: argparse.Namespace, *, data: bool) -> Any:
    """`/ipns/NAME@REF` -> the commit CID, its history fetched and checked (and its data, for
    checkout)."""
    from ..ipns.dataset import parse_name_spec, pick_ref
    from ..ipns.dataset_sync import fetch_commits_only, load_manifest

    name_path, ref = parse_name_spec(args.spec)

    async def op(client: Any, node: Any) -> Any:
        _, manifest = await load_manifest(client, client.online, name_path, trust_publisher=False)
        _, target = pick_ref(manifest.refs, ref)
        if data:
            await client._fetch_history([target], trusted=set(client.vs.trusted_keys()), repo="")
        else:
            await fetch_commits_only(client, client.online, target)
        return client.vs.peel(target)

    return _named(op)


def _front(original: Any, attr: str, named: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        value = getattr(args, attr, "")
        if isinstance(value, str) and value.startswith("/ipns/"):
            return int(named(args) or 0)
        if attr == "remote" and isinstance(value, str) and not value.startswith("/"):
            with open_node() as node:  # a remote saved by `clone /ipns/…`
                addr = node.settings.remotes.get(value, {}).get("Addr", "")
            if isinstance(addr, str) and addr.startswith("/ipns/"):
                return int(named(args, addr) or 0)
        return int(original(args) or 0)

    return run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("publish", help="publish a dataset's branch and tag heads under its own IPNS "
                                       "key (publish NAME [--branch BR]…)")
    p.add_argument("name")
    p.add_argument("--branch", "-b", action="append", default=None, help="only these branches (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_publish)

    for cmd in ("commit", "merge"):
        parser = sub.choices.get(cmd)
        if parser is None:
            continue
        parser.add_argument("--publish", action="store_true",
                            help="then republish the dataset under its name (jzfs publish)")
        parser.set_defaults(func=_with_publish(parser.get_default("func")))

    fronts = {
        "clone": ("addr", cmd_clone_named),
        "fetch": ("remote", lambda a, r=None: cmd_fetch_named(a, r or a.remote, pull=False)),
        "pull": ("remote", lambda a, r=None: cmd_fetch_named(a, r or a.remote, pull=True)),
        "log": ("spec", cmd_log_named),
        "checkout": ("spec", cmd_checkout_named),
    }
    for cmd, (attr, named) in fronts.items():
        parser = sub.choices.get(cmd)
        if parser is not None:
            parser.set_defaults(func=_front(parser.get_default("func"), attr, named))


def cmd_log_named(args: argparse.Namespace) -> int:
    from .version_cmds import print_history

    head = _resolve_head(args, data=False)
    with open_node() as node:
        entries = node.versioning.history(str(head), limit=args.max_count,
                                          verify=not getattr(args, "no_verify", False))
    print_history(entries, args)
    return 0


def cmd_checkout_named(args: argparse.Namespace) -> int:
    from .version_cmds import _sig_line

    head = _resolve_head(args, data=True)
    with open_node() as node:
        vs = node.versioning
        cid, files = vs.checkout(str(head), args.output, verify=not getattr(args, "no_verify", False))
        sig = vs.signature(vs.load_commit(cid))
    print(f"checked out {cid} into {args.output} ({files} files)")
    print(_sig_line(sig))
    return 0
