"""Versioned datasets: `jzfs repo create|list|delete`, commit, status, log, show, branch, tag,
checkout, diff, merge, verify, trust (sync commands: `cli/sync_cmds` section at the bottom).

The forms that outside scripts rely on (issue 5) are shown in each command's help and kept stable.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, MergeConflict

if TYPE_CHECKING:
    from ..ipld.cid import CID
    from ..versioning.diff import Change
    from ..versioning.objects import Commit, Provenance
    from ..versioning.verify import Signature
from .common import esc, open_node, print_json, subcommand_group


def _now() -> int:
    return int(time.time())


def _spec(text: str) -> str:
    """`NAME` alone means `NAME@main`; `NAME@REF` and CIDs pass through."""
    from ..ipld.cid import CID
    from ..versioning.revspec import split_ancestry

    if "@" in text:
        return text
    base, _ = split_ancestry(text)  # git's `~N`/`^N` after a CID or a NAME (= NAME@main~N)
    try:
        CID.decode(base)
        return text
    except InvalidInput:
        return f"{base}@main{text[len(base):]}"


def commit_json(cid: CID, c: Commit, sig: Signature | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cid": str(cid),
        "parents": [str(p) for p in c.parents],
        "message": c.message,
        "author": c.author.to_node(),
        "timestamp": c.timestamp,
        "root": str(c.root),
    }
    if c.provenance is not None:
        prov = c.provenance
        out["provenance"] = {"inputs": [str(i) for i in prov.inputs], "command": prov.command,
                             "params": dict(prov.params)}
    if sig is not None:
        out.update(sig.to_json())  # "signature": verified | untrusted | invalid, "signer"
    return out


def _sig_line(sig: Signature) -> str:
    if sig.status == "verified":
        return f"Signature: verified (trusted key {esc(sig.signer)})"
    return f"Signature: {sig.status.upper()} ({esc(sig.detail)})"


def _when(ts: int) -> str:
    from datetime import UTC, datetime  # loaded when a date is printed, not at every `jzfs` start

    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _print_commit(cid: CID, c: Commit, *, provenance: bool, sig: Signature | None = None) -> None:
    print(f"commit {cid}")
    if len(c.parents) > 1:
        print("Merge:  " + " ".join(str(p) for p in c.parents))
    print(f"Author: {esc(c.author)}")
    print(f"Date:   {_when(c.timestamp)}")
    if sig is not None:
        print(_sig_line(sig))
    print(f"Root:   {c.root}")
    if provenance and c.provenance is not None:
        p = c.provenance
        for i in p.inputs:
            print(f"Input:  {esc(i)}")
        if p.command is not None:
            print(f"Command: {esc(p.command)}")
        for k, v in p.params:
            print(f"Param:  {esc(k)}={esc(v)}")
    print()
    for line in c.message.splitlines() or [""]:
        print(f"    {esc(line, keep=chr(9))}")
    print()


# ---------------------------------------------------------------------------------- repo


def cmd_repo_create(args: argparse.Namespace) -> int:
    with open_node() as node:
        node.versioning.create_repo(args.name, now=_now())
    print(f"created repository {args.name}")
    return 0


def cmd_repo_list(args: argparse.Namespace) -> int:
    with open_node() as node:
        names = node.versioning.list_repos()
    if args.json:
        print_json(names)
    else:
        for n in names:
            print(esc(n))
    return 0


def cmd_repo_delete(args: argparse.Namespace) -> int:
    with open_node() as node:
        node.versioning.delete_repo(args.name)
    print(f"deleted repository {args.name} (its blocks are removed by the next `jzfs repo gc`)")
    return 0


# ---------------------------------------------------------------------------------- commit/status


def _provenance(args: argparse.Namespace) -> Provenance | None:
    from ..ipld.cid import CID
    from ..versioning.objects import Input, Provenance

    inputs = []
    for text in args.input or []:
        try:
            inputs.append(Input(cid=CID.decode(text)))
        except InvalidInput:
            inputs.append(Input(ref=text))
    params = []
    for kv in args.param or []:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--param takes KEY=VALUE, got {kv!r}")
        params.append((key, value))
    prov = Provenance(tuple(inputs), args.cmd, tuple(sorted(params)))
    return None if prov.is_empty() else prov


def cmd_commit(args: argparse.Namespace) -> int:
    with open_node() as node:
        res = node.versioning.commit(args.name, args.dir, branch=args.branch, message=args.message,
                                     now=_now(), provenance=_provenance(args))
    s = res.stats
    if args.json:
        print_json({"Cid": str(res.cid), "Repo": args.name, "Branch": args.branch, "Files": s.files,
                    "ReadFiles": s.hashed_files, "NewBytes": s.new_bytes, "NewBlocks": s.new_blocks})
        return 0
    if args.quiet:
        print(res.cid)
        return 0
    print(f"committed {res.cid} to {args.name}@{args.branch}")
    print(f"{s.files} files ({s.hashed_files} read, {s.files - s.hashed_files} unchanged), "
          f"{s.new_bytes} bytes new in {s.new_blocks} blocks")
    return 0


def _print_changes(changes: list[Change], *, as_json: bool, show_stat: bool) -> None:
    from ..versioning.diff import stat

    if as_json:
        print_json([c.to_json() for c in changes])
        return
    marks = {"added": "A", "removed": "D", "modified": "M"}
    for c in changes:
        print(f"{marks[c.change]}  {esc(c.path)}")
    if show_stat:
        s = stat(changes)
        print(f"{len(changes)} paths changed: {s['added']} added, {s['removed']} removed, "
              f"{s['modified']} modified")


def cmd_status(args: argparse.Namespace) -> int:
    with open_node() as node:
        changes = node.versioning.status(args.name, args.dir, branch=args.branch)
    if not changes and not args.json:
        print(f"clean: {args.dir} matches {args.name}@{args.branch}")
        return 0
    _print_changes(changes, as_json=args.json, show_stat=False)
    return 0


# ---------------------------------------------------------------------------------- history


def print_history(entries: list[tuple[CID, Commit, Signature]], args: argparse.Namespace) -> None:
    """`log` output: each commit with its signature status (text and --json)."""
    if args.json:
        print_json([commit_json(cid, c, sig) for cid, c, sig in entries])
        return
    for cid, c, sig in entries:
        _print_commit(cid, c, provenance=args.provenance, sig=sig)


def cmd_log(args: argparse.Namespace) -> int:
    with open_node() as node:
        entries = node.versioning.history(_spec(args.spec), limit=args.max_count,
                                          verify=not args.no_verify)
    print_history(entries, args)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ..versioning.objects import Tag

    with open_node() as node:
        vs = node.versioning
        verify = not args.no_verify
        obj_cid = vs.resolve_object(args.spec)
        obj = vs.load_object(obj_cid)
        tag = obj if isinstance(obj, Tag) else None
        tag_sig = vs.signature(tag) if tag else None
        cid, commit, sig = vs.resolve_checked(args.spec, verify=verify)
    if args.json:
        out = commit_json(cid, commit, sig)
        if tag:
            assert tag_sig is not None
            out["tag"] = {"cid": str(obj_cid), "name": tag.name, "message": tag.message,
                          "tagger": tag.tagger.to_node(), "timestamp": tag.timestamp, **tag_sig.to_json()}
        print_json(out)
        return 0
    if tag:
        assert tag_sig is not None
        print(f"tag {esc(tag.name)} ({obj_cid})\nTagger: {esc(tag.tagger)}\nDate:   {_when(tag.timestamp)}")
        print(f"{_sig_line(tag_sig)}\n")
        for line in tag.message.splitlines() or [""]:
            print(f"    {esc(line, keep=chr(9))}")
        print()
    _print_commit(cid, commit, provenance=True, sig=sig)
    return 0


def _cell_text(row: list[str] | None) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row or [])
    return esc(buf.getvalue())  # cells come from the dataset: escaped like every listing (--json: exact)


def cmd_diff_rows(args: argparse.Namespace) -> int:
    """`jzfs diff A B --rows PATH [--key COL]`: row-level CSV/TSV diff (versioning/rowdiff.py),
    in the running daemon when there is one (RPC `jzfs/diff/rows`, the same code), else here."""
    from .common import daemon_client

    spec_a = _spec(args.a)
    client = daemon_client(args)
    if client is not None:
        with client:
            out = client.json("jzfs/diff/rows", [spec_a, args.b, args.rows],
                              {"key": args.key, "no-verify": bool(args.no_verify)})
    else:
        from ..versioning.rowdiff import result_json

        with open_node() as node:
            result = node.versioning.row_diff(spec_a, args.b, args.rows, key=args.key,
                                              verify=not args.no_verify)
            out = result_json(result, path=args.rows, key=args.key)
    if args.json:
        print_json(out)
        return 0
    header, counts = out["header"], out["counts"]
    if header != out["headerB"]:
        print(f"header: {_cell_text(header)} -> {_cell_text(out['headerB'])}")
    for op in out["changes"]:
        where = f"{esc(args.key)}={esc(op['key'])}" if args.key else (
            f"@{op['offsetA']}" if op["offsetB"] is None else f"@{op['offsetB']}")
        if op["op"] == "added":
            print(f"+ {where}: {_cell_text(op['new'])}")
        elif op["op"] == "removed":
            print(f"- {where}: {_cell_text(op['old'])}")
        else:
            cells = "; ".join(f"{esc(name)}: {old if old is not None else ''!r} -> {new if new is not None else ''!r}"
                              for name, (old, new) in op["cells"].items())
            print(f"~ {where}: {cells}")
    print(f"{sum(counts.values())} rows: {counts['added']} added, {counts['removed']} removed, "
          f"{counts['changed']} changed", file=sys.stderr)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    if getattr(args, "rows", None):
        return cmd_diff_rows(args)
    if getattr(args, "key", None):
        raise InvalidInput("--key goes with --rows PATH")
    with open_node() as node:
        changes = node.versioning.diff(_spec(args.a), args.b, verify=not args.no_verify)
    _print_changes(changes, as_json=args.json, show_stat=args.stat)
    return 0


# ---------------------------------------------------------------------------------- branches/tags


def cmd_branch_create(args: argparse.Namespace) -> int:
    with open_node() as node:
        target = node.versioning.branch_create(args.name, args.branch, from_ref=args.from_ref)
    print(f"created branch {args.branch} at {target}")
    return 0


def cmd_branch_list(args: argparse.Namespace) -> int:
    with open_node() as node:
        branches = node.versioning.branch_list(args.name)
    if args.json:
        print_json({b: str(c) for b, c in branches.items()})
    else:
        for b, c in branches.items():
            print(f"{esc(b)}\t{c}")
    return 0


def cmd_branch_delete(args: argparse.Namespace) -> int:
    with open_node() as node:
        node.versioning.branch_delete(args.name, args.branch)
    print(f"deleted branch {args.branch}")
    return 0


def cmd_tag_create(args: argparse.Namespace) -> int:
    if args.annotate and args.message is None:
        raise InvalidInput("an annotated tag (-a) needs a message (-m)")
    message = args.message if (args.annotate or args.message is not None) else None
    with open_node() as node:
        obj = node.versioning.tag_create(args.name, args.tag, ref=args.from_ref, message=message, now=_now(),
                                         verify=not args.no_verify)
    kind = "annotated tag" if message is not None else "tag"
    print(f"created {kind} {args.tag} ({obj})")
    return 0


def cmd_tag_list(args: argparse.Namespace) -> int:
    with open_node() as node:
        tags = node.versioning.tag_list(args.name)
    if args.json:
        print_json({t: str(c) for t, c in tags.items()})
    else:
        for t, c in tags.items():
            print(f"{esc(t)}\t{c}")
    return 0


def cmd_tag_delete(args: argparse.Namespace) -> int:
    with open_node() as node:
        node.versioning.tag_delete(args.name, args.tag)
    print(f"deleted tag {args.tag}")
    return 0


# ---------------------------------------------------------------------------------- checkout/merge


def cmd_checkout(args: argparse.Namespace) -> int:
    with open_node() as node:
        vs = node.versioning
        cid, files = vs.checkout(_spec(args.spec), args.output, verify=not args.no_verify)
        sig = vs.signature(vs.load_commit(cid))
    print(f"checked out {cid} into {args.output} ({files} files)")
    print(_sig_line(sig))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    with open_node() as node:
        try:
            out = node.versioning.merge(args.name, args.src, into=args.into, message=args.message,
                                        now=_now(), strategy=args.strategy, verify=not args.no_verify)
        except MergeConflict as exc:
            print(f"merge refused: {exc}", file=sys.stderr)
            return 1
    if args.json:
        print_json({"Kind": out.kind, "Into": args.into, "Head": str(out.head),
                    "ResolvedConflicts": list(out.conflicts), "Strategy": args.strategy})
        return 0
    if out.kind == "up-to-date":
        print(f"already up to date: {args.into} at {out.head}")
    elif out.kind == "fast-forward":
        print(f"fast-forward: {args.into} now at {out.head}")
    else:
        print(f"merged {args.src} into {args.into}: {out.head}")
        for path in out.conflicts:
            print(f"conflict resolved with --strategy {args.strategy}: {esc(path)}")
    return 0


# ---------------------------------------------------------------------------------- verify/trust


def cmd_verify(args: argparse.Namespace) -> int:
    with open_node() as node:
        report = node.versioning.verify(args.spec, data=not args.shallow,
                                        require_trusted=not args.any_signer)
        trusted = set(node.versioning.trusted_keys())
    if args.json:
        print_json({"head": str(report.head), "commits": report.commits, "dataBlocks": report.data_blocks,
                    "roots": [str(r) for r in report.roots],
                    "signers": [{"peer": p, "objects": n, "trusted": p in trusted}
                                for p, n in sorted(report.signers.items())]})
        return 0
    print(f"verified {report.commits} commits"
          + (f" and {report.data_blocks} data blocks" if not args.shallow else "")
          + f" from {report.head}")
    for p, n in sorted(report.signers.items()):
        print(f"signed by {esc(p)}: {n} object(s){'' if p in trusted else ' (NOT trusted)'}")
    return 0


def cmd_trust_add(args: argparse.Namespace) -> int:
    with open_node() as node:
        node.versioning.trust_add(args.peer)
    print(f"trusting {args.peer}")
    return 0


def cmd_trust_list(args: argparse.Namespace) -> int:
    with open_node() as node:
        keys = node.versioning.trusted_keys()
        own = node.repo.peer_id
    if args.json:
        print_json(keys)
    else:
        for k in keys:
            print(esc(k) + (" (this node)" if k == own else ""))
    return 0


def cmd_trust_rm(args: argparse.Namespace) -> int:
    with open_node() as node:
        node.versioning.trust_rm(args.peer)
    print(f"no longer trusting {args.peer}")
    return 0


# ---------------------------------------------------------------------------------- registration


def _no_verify_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-verify", action="store_true",
                   help="go ahead with commits/tags whose signature is invalid or whose signer is "
                        "not trusted (their status is still shown)")


def register(sub: argparse._SubParsersAction) -> None:
    repo = subcommand_group(sub, "repo", "repository commands")
    p = repo.add_parser("create", help="create a dataset repository (repo create NAME)")
    p.add_argument("name")
    p.set_defaults(func=cmd_repo_create)
    p = repo.add_parser("list", help="list dataset repositories")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_repo_list)
    p = repo.add_parser("delete", help="delete a dataset repository and its refs")
    p.add_argument("name")
    p.set_defaults(func=cmd_repo_delete)

    p = sub.add_parser("commit", help="snapshot a directory as a signed commit (commit NAME DIR -b BRANCH -m MSG [-Q])")
    p.add_argument("name")
    p.add_argument("dir")
    p.add_argument("-b", "--branch", required=True)
    p.add_argument("-m", "--message", required=True)
    p.add_argument("-Q", "--quiet", action="store_true", help="print only the commit CID")
    p.add_argument("--input", action="append", metavar="REF_OR_CID", help="provenance: an input dataset")
    p.add_argument("--cmd", default=None, help="provenance: the command that produced the data")
    p.add_argument("--param", action="append", metavar="K=V", help="provenance: a parameter")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_commit)

    p = sub.add_parser("status", help="what changed in a directory against a branch head")
    p.add_argument("name")
    p.add_argument("dir")
    p.add_argument("-b", "--branch", default="main")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("log", help="history, newest first (log NAME@REF --json)")
    p.add_argument("spec", metavar="NAME[@REF]|CID")
    p.add_argument("--json", action="store_true")
    p.add_argument("--provenance", action="store_true")
    p.add_argument("-n", "--max-count", type=int, default=None)
    _no_verify_flag(p)
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("show", help="show a commit or tag and check its signature")
    p.add_argument("spec", metavar="NAME@REF|CID")
    p.add_argument("--json", action="store_true")
    _no_verify_flag(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("diff", help="paths added/removed/modified (diff NAME@A NAME@B --json)")
    p.add_argument("a", metavar="NAME@A|CID")
    p.add_argument("b", metavar="NAME@B|B|CID")
    p.add_argument("--json", action="store_true")
    p.add_argument("--stat", action="store_true")
    p.add_argument("--rows", metavar="PATH", default=None,
                   help="row-level diff of the CSV/TSV file PATH (unchanged chunks are skipped)")
    p.add_argument("--key", metavar="COL", default=None,
                   help="with --rows: match rows by this column (name or index) instead of position")
    _no_verify_flag(p)
    p.set_defaults(func=cmd_diff)

    branch = subcommand_group(sub, "branch", "create, list and delete branches")
    p = branch.add_parser("create", help="branch create NAME BRANCH --from REF")
    p.add_argument("name")
    p.add_argument("branch")
    p.add_argument("--from", dest="from_ref", required=True, metavar="REF")
    p.set_defaults(func=cmd_branch_create)
    p = branch.add_parser("list")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_branch_list)
    p = branch.add_parser("delete")
    p.add_argument("name")
    p.add_argument("branch")
    p.set_defaults(func=cmd_branch_delete)

    tag = subcommand_group(sub, "tag", "lightweight and annotated (signed) tags")
    p = tag.add_parser("create", help="tag create NAME TAG --from REF [-a] [-m MSG]")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("--from", dest="from_ref", default="main", metavar="REF")
    p.add_argument("-a", "--annotate", action="store_true", help="a signed tag object")
    p.add_argument("-m", "--message", default=None)
    _no_verify_flag(p)
    p.set_defaults(func=cmd_tag_create)
    p = tag.add_parser("list")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tag_list)
    p = tag.add_parser("delete")
    p.add_argument("name")
    p.add_argument("tag")
    p.set_defaults(func=cmd_tag_delete)

    p = sub.add_parser("checkout", help="write a version into a directory (checkout NAME@REF -o DIR)")
    p.add_argument("spec", metavar="NAME@REF|CID")
    p.add_argument("-o", "--output", required=True)
    _no_verify_flag(p)
    p.set_defaults(func=cmd_checkout)

    p = sub.add_parser("merge", help="merge SRC into DST (merge NAME SRC --into DST -m MSG)")
    p.add_argument("name")
    p.add_argument("src", metavar="SRC")
    p.add_argument("--into", required=True, metavar="DST")
    p.add_argument("-m", "--message", default=None)
    p.add_argument("--strategy", choices=("ours", "theirs"), default=None)
    p.add_argument("--json", action="store_true")
    _no_verify_flag(p)
    p.set_defaults(func=_merge_defaults)

    p = sub.add_parser("verify", help="check signatures and links back to the root commits (verify NAME@REF | verify CID)")
    p.add_argument("spec", metavar="NAME@REF|CID")
    p.add_argument("--shallow", action="store_true", help="commits only, not every data block")
    p.add_argument("--any-signer", action="store_true", help="do not fail on untrusted signers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    trust = subcommand_group(sub, "trust", "keys whose commits count as trusted")
    p = trust.add_parser("add")
    p.add_argument("peer", metavar="PEER_ID")
    p.set_defaults(func=cmd_trust_add)
    p = trust.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trust_list)
    p = trust.add_parser("rm")
    p.add_argument("peer", metavar="PEER_ID")
    p.set_defaults(func=cmd_trust_rm)

    from .version_sync_cmds import register_sync

    register_sync(sub)


def _merge_defaults(args: argparse.Namespace) -> int:
    if args.message is None:
        args.message = f"Merge {args.src} into {args.into}"
    return cmd_merge(args)
