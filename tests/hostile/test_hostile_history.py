"""Forged history (issue 9, defect 4): every command that shows or writes out history checks
signature and signer with the one function `verify` uses (versioning/verify.check_signature),
shows the status (text and --json) and refuses, unless --no-verify, a commit whose signature is
invalid (even one naming this node's own key) or whose signer is not trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jiaozi_node.errors import SignatureError
from jiaozi_node.identity import Identity
from jiaozi_node.node import Node
from jiaozi_node.versioning import signing
from jiaozi_node.versioning.objects import Author, Commit


def _jzfs(repo: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jiaozi_node.cli.main", *args], cwd=cwd, text=True,
                          env={**os.environ, "JZFS_PATH": str(repo)}, capture_output=True, timeout=120)


def _refused(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


@pytest.fixture
def forged(tmp_path: Path) -> dict:
    """A repo `ds` with a good `main`, a branch `own` whose head names this node's key with a
    random signature, a branch `mallory` signed by an unknown key, and a good commit `ontop`
    whose parent is the forged one."""
    repo = tmp_path / "repo"
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.txt").write_bytes(b"honest\n")
    with Node.open(repo) as node:
        vs = node.versioning
        vs.create_repo("ds", now=1)
        good = vs.commit("ds", data, branch="main", message="good", now=10).cid
        root = vs.load_commit(good).root
        ident = node.repo.identity
        me = Author("me", ident.peer_id, None)
        own = Commit(root, (good,), me, "forged with my own name", 11).with_signature(os.urandom(64))
        own_cid = vs.store_object(own)
        vs.refs.update_ref("ds", "heads/own", own_cid, expected=None)
        mallory = Identity.generate()
        evil = signing.sign(Commit(root, (good,), Author("m", mallory.peer_id, None), "evil", 12), mallory)
        evil_cid = vs.store_object(evil)
        vs.refs.update_ref("ds", "heads/mallory", evil_cid, expected=None)
        ontop = signing.sign(Commit(root, (own_cid,), me, "good on top of forged", 13), ident)
        ontop_cid = vs.store_object(ontop)
        vs.refs.update_ref("ds", "heads/ontop", ontop_cid, expected=None)
    return {"repo": repo, "tmp": tmp_path, "good": str(good), "own": str(own_cid), "evil": str(evil_cid),
            "mallory": mallory.peer_id, "ontop": str(ontop_cid)}


def test_forged_own_key_refused_everywhere(forged: dict) -> None:
    repo, tmp = forged["repo"], forged["tmp"]
    for args in (("checkout", "ds@own", "-o", str(tmp / "out")), ("checkout", forged["own"], "-o", str(tmp / "out")),
                 ("log", "ds@own"), ("log", "ds@ontop"), ("show", "ds@own"), ("diff", "ds@main", "ds@own"),
                 ("diff", "ds@own", "main"), ("merge", "ds", "own", "--into", "main"), ("verify", "ds@own"),
                 ("tag", "create", "ds", "v1", "--from", "own", "-a", "-m", "vouch")):
        r = _jzfs(repo, tmp, *args)
        _refused(r, "signature")
        if args[0] != "verify":
            assert "invalid signature" in r.stderr and "--no-verify" in r.stderr, (args, r.stderr)
    assert not (tmp / "out").exists()
    assert _jzfs(repo, tmp, "branch", "list", "ds", "--json").stdout.count(forged["good"]) == 1  # merge moved nothing


def test_untrusted_signer_refused_until_trusted(forged: dict) -> None:
    repo, tmp = forged["repo"], forged["tmp"]
    for args in (("checkout", "ds@mallory", "-o", str(tmp / "out")), ("log", "ds@mallory"),
                 ("show", forged["evil"]), ("diff", "ds@main", "mallory"), ("merge", "ds", "mallory", "--into", "main")):
        _refused(_jzfs(repo, tmp, *args), "untrusted signer", forged["mallory"], "jzfs trust add")
    assert _jzfs(repo, tmp, "trust", "add", forged["mallory"]).returncode == 0
    r = _jzfs(repo, tmp, "checkout", "ds@mallory", "-o", str(tmp / "out"))
    assert r.returncode == 0 and "Signature: verified" in r.stdout
    log = json.loads(_jzfs(repo, tmp, "log", "ds@mallory", "--json").stdout)
    assert [e["signature"] for e in log] == ["verified", "verified"] and log[0]["signer"] == forged["mallory"]


def test_no_verify_shows_the_status(forged: dict) -> None:
    repo, tmp = forged["repo"], forged["tmp"]
    r = _jzfs(repo, tmp, "log", "ds@ontop", "--no-verify", "--json")
    assert r.returncode == 0, r.stderr
    assert [(e["message"], e["signature"]) for e in json.loads(r.stdout)] == [
        ("good on top of forged", "verified"), ("forged with my own name", "invalid"), ("good", "verified")]
    text = _jzfs(repo, tmp, "log", "ds@mallory", "--no-verify").stdout
    assert "Signature: UNTRUSTED" in text and "Signature: verified" in text
    show = json.loads(_jzfs(repo, tmp, "show", "ds@own", "--json", "--no-verify").stdout)
    assert show["signature"] == "invalid"
    r = _jzfs(repo, tmp, "checkout", "ds@own", "-o", str(tmp / "out"), "--no-verify")
    assert r.returncode == 0 and "Signature: INVALID" in r.stdout and (tmp / "out" / "f.txt").exists()
    assert _jzfs(repo, tmp, "diff", "ds@main", "own", "--no-verify").returncode == 0


async def test_commit_from_a_refused_pull_cannot_be_checked_out(tmp_path: Path) -> None:
    from jiaozi_node.versioning.sync import SyncClient

    services = ("jiaozi_node.bitswap.service", "jiaozi_node.versioning.sync")
    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    try:
        data = tmp_path / "d"
        data.mkdir()
        (data / "f").write_bytes(b"1")
        a.versioning.create_repo("ds", now=1)
        head = a.versioning.commit("ds", data, branch="main", message="one", now=10).cid
        async with a.online(listen=["/ip4/127.0.0.1/tcp/0"], services=services, peering=False,
                            bootstrap=False) as oa, \
                b.online(listen=["/ip4/127.0.0.1/tcp/0"], services=services, peering=False,
                         bootstrap=False) as ob:
            client = SyncClient(ob)
            await client.clone(oa.host.addrs()[0], "ds", now=20)  # b trusts a
            mallory = Identity.generate()
            evil = signing.sign(Commit(a.versioning.load_commit(head).root, (head,),
                                       Author("m", mallory.peer_id, None), "evil", 11), mallory)
            evil_cid = a.versioning.store_object(evil)
            a.versioning.refs.update_ref("ds", "heads/main", evil_cid, expected=head)
            peer = await client.connect(oa.host.addrs()[0])
            with pytest.raises(SignatureError, match="untrusted signer"):
                await client.fetch(peer, "ds", remote="origin")
        assert b.blocks.has(evil_cid)  # fetched while checking, refused, still in the store
        with pytest.raises(SignatureError, match="untrusted signer"):
            b.versioning.checkout(str(evil_cid), tmp_path / "out")
        assert not (tmp_path / "out").exists()
    finally:
        a.close()
        b.close()
    r = _jzfs(tmp_path / "b", tmp_path, "checkout", str(evil_cid), "-o", str(tmp_path / "out"))
    _refused(r, "untrusted signer")


async def test_hostile_history_answers(tmp_path: Path) -> None:
    """A peer's `history` answer (refs protocol) that is malformed fails the clone with one clear
    error and leaves nothing; objects that are not the asked commits are never used as them."""
    from jiaozi_node.errors import RemoteProtocolError
    from jiaozi_node.versioning.sync import SyncClient

    services = ("jiaozi_node.bitswap.service", "jiaozi_node.versioning.sync")
    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    try:
        data = tmp_path / "d"
        data.mkdir()
        (data / "f").write_bytes(b"1")
        a.versioning.create_repo("ds", now=1)
        head = a.versioning.commit("ds", data, branch="main", message="one", now=10).cid
        mallory = Identity.generate()
        evil = signing.sign(Commit(a.versioning.load_commit(head).root, (head,),
                                   Author("m", mallory.peer_id, None), "evil", 11), mallory)
        async with a.online(listen=["/ip4/127.0.0.1/tcp/0"], services=services, peering=False,
                            bootstrap=False) as oa, \
                b.online(listen=["/ip4/127.0.0.1/tcp/0"], services=services, peering=False,
                         bootstrap=False) as ob:
            refs, client = oa.services["refs"], SyncClient(ob)
            for answer in ({"ok": True}, {"ok": True, "objects": [1]}, {"ok": True, "objects": "x"},
                           {"ok": True, "objects": [b""] * 20_000}):
                async def hostile(req, answer=answer):
                    return answer

                refs._history = hostile
                with pytest.raises(RemoteProtocolError, match="bad history"):
                    await client.clone(oa.host.addrs()[0], "ds", now=20)
                assert b.versioning.list_repos() == [] and "origin" not in b.settings.remotes
            # an untrusted commit offered in place of the asked head is not the asked block
            async def substitute(req):
                return {"ok": True, "objects": [evil.block().data]}

            refs._history = substitute
            await client.clone(oa.host.addrs()[0], "ds", now=21)
            assert b.versioning.branch_head("ds", "main") == head
    finally:
        a.close()
        b.close()
