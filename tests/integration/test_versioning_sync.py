"""Two (or three) jzfs nodes on loopback: clone, fetch, pull, push over /jzfs/refs/1.0.0 + Bitswap."""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from jiaozi_node.errors import InvalidInput, NotFound, RemoteProtocolError, SignatureError
from jiaozi_node.identity import Identity
from jiaozi_node.node import Node
from jiaozi_node.versioning import history, signing
from jiaozi_node.versioning.objects import Author, Commit
from jiaozi_node.versioning.sync import SyncClient
from jiaozi_node.versioning.sync_core import PROTOCOL_ID, frame

SERVICES = ("jiaozi_node.bitswap.service", "jiaozi_node.versioning.sync")


@asynccontextmanager
async def online(node: Node):
    async with node.online(listen=["/ip4/127.0.0.1/tcp/0"], services=SERVICES, peering=False,
                           bootstrap=False) as on:
        yield on


def write(d: Path, files: dict[str, bytes]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for k, v in files.items():
        (d / k).write_bytes(v)
    return d


@pytest.fixture
def nodes(tmp_path):
    a, b = Node.open(tmp_path / "a"), Node.open(tmp_path / "b")
    yield a, b
    a.close()
    b.close()


async def test_clone_pull_and_push(nodes, tmp_path):
    a, b = nodes
    data = write(tmp_path / "d", {"big.bin": os.urandom(3 * 1024 * 1024 + 17), "small.txt": b"hello\n"})
    a.versioning.create_repo("ds", now=1)
    c1 = a.versioning.commit("ds", data, branch="main", message="one", now=10).cid
    a.versioning.tag_create("ds", "v1", ref="main", message="first release", now=11)
    async with online(a) as oa, online(b) as ob:
        addr = oa.host.addrs()[0]
        client = SyncClient(ob)
        res = await client.clone(addr, "ds", now=20)
        assert b.versioning.branch_head("ds", "main") == c1
        assert b.versioning.refs.get_ref("ds", "remotes/origin/main") == c1
        assert "tags/v1" in b.versioning.refs.list_refs("ds")
        assert res.new_commits >= 1 and res.fetched_bytes > 3 * 1024 * 1024
        assert b.versioning.verify("ds@main").data_blocks > 0
        assert a.repo.peer_id in b.versioning.trusted_keys()
        co = tmp_path / "co"
        b.versioning.checkout("ds@v1", co)
        assert (co / "big.bin").read_bytes() == (data / "big.bin").read_bytes()

        # a new commit on A: pull fetches only what is new
        (data / "small.txt").write_bytes(b"hello again\n")
        c2 = a.versioning.commit("ds", data, branch="main", message="two", now=30).cid
        res2 = await client.fetch(oa.peer_id, "ds", remote="origin", branch="main")
        assert res2.fetched_bytes < 4096  # the big file was not fetched again
        assert res2.new_commits == 1  # only the new commit is walked and checked
        assert client.fast_forward("ds", "main", res2.refs["heads/main"]) == "fast-forward"
        assert b.versioning.branch_head("ds", "main") == c2

        # push from B to A: refused until A allows B's key, then fast-forward only
        (co / "new.txt").write_bytes(b"from b\n")
        c3 = b.versioning.commit("ds", co, branch="main", message="three", now=40).cid
        with pytest.raises(RemoteProtocolError, match="may not push"):
            await client.push(oa.peer_id, "ds", "main")
        assert a.versioning.branch_head("ds", "main") == c2
        a.versioning.refs.allow_writer("ds", ob.peer_id)
        assert await client.push(oa.peer_id, "ds", "main") == c3
        assert a.versioning.branch_head("ds", "main") == c3
        assert a.versioning.verify("ds@main", require_trusted=False).commits == 3

        # a non-fast-forward push is refused unless forced
        b.versioning.refs.update_ref("ds", "heads/side", c1, expected=None)
        b.versioning.refs.update_ref("ds", "heads/main", c1, expected=c3)
        (tmp_path / "e").mkdir()
        write(tmp_path / "e", {"x": b"x"})
        c4 = b.versioning.commit("ds", tmp_path / "e", branch="main", message="diverged", now=50).cid
        with pytest.raises(RemoteProtocolError, match="not a fast-forward"):
            await client.push(oa.peer_id, "ds", "main")
        assert a.versioning.branch_head("ds", "main") == c3
        assert await client.push(oa.peer_id, "ds", "main", force=True) == c4


async def test_untrusted_commits_are_not_pulled(nodes, tmp_path):
    a, b = nodes
    data = write(tmp_path / "d", {"f": b"1"})
    a.versioning.create_repo("ds", now=1)
    a.versioning.commit("ds", data, branch="main", message="one", now=10)
    # a third party's commit on top, signed by a key B has never heard of
    mallory = Identity.generate()
    head = a.versioning.branch_head("ds", "main")
    evil = signing.sign(Commit(a.versioning.load_commit(head).root, (head,), Author("m", mallory.peer_id),
                               "evil", 11), mallory)
    evil_cid = a.versioning.store_object(evil)
    a.versioning.refs.update_ref("ds", "heads/main", evil_cid, expected=head)
    async with online(a) as oa, online(b) as ob:
        client = SyncClient(ob)
        with pytest.raises(SignatureError, match="not a trusted key"):
            await client.clone(oa.host.addrs()[0], "ds", now=20)
        assert "ds" not in b.versioning.list_repos()  # nothing half-applied
        assert a.repo.peer_id not in b.versioning.trusted_keys()  # a failed clone trusts nobody
        assert "origin" not in b.settings.remotes  # nor remembers the remote
        b.versioning.trust_add(mallory.peer_id)
        await client.clone(oa.host.addrs()[0], "ds", now=21)
        assert b.versioning.branch_head("ds", "main") == evil_cid


async def test_clone_writes_nothing_until_the_end(nodes, tmp_path):
    """The repo, its refs, the remote and the trust appear together after the data is here; when
    the final refs transaction fails (the name was taken meanwhile) the config is put back."""
    a, b = nodes
    a.versioning.create_repo("ds", now=1)
    a.versioning.commit("ds", write(tmp_path / "d", {"f": b"1"}), branch="main", message="one", now=10)
    async with online(a) as oa, online(b) as ob:
        client = SyncClient(ob)
        fetch_history = client._fetch_history
        seen: list[tuple[bool, bool, bool]] = []

        async def racing(heads, **kw):
            n = await fetch_history(heads, **kw)
            seen.append((b.versioning.refs.has_repo("ds"), "origin" in b.settings.remotes,
                         oa.peer_id in b.versioning.trusted_keys()))
            b.versioning.create_repo("ds", now=5)  # another command takes the name meanwhile
            return n

        client._fetch_history = racing  # type: ignore[method-assign]
        with pytest.raises(InvalidInput, match="already exists"):
            await client.clone(oa.host.addrs()[0], "ds", now=20)
        assert seen == [(False, False, False)]  # data fetched, nothing written yet
        assert b.versioning.refs.list_refs("ds") == {}  # the other command's repo, untouched
        assert "origin" not in b.settings.remotes and oa.peer_id not in b.versioning.trusted_keys()
        assert "origin" not in b.repo.get_config_default("Remotes", {})


async def test_missing_repo_and_lying_peers(nodes, tmp_path):
    a, b = nodes
    a.versioning.create_repo("ds", now=1)
    async with online(a) as oa, online(b) as ob:
        client = SyncClient(ob)
        peer = await client.connect(oa.host.addrs()[0])
        with pytest.raises(RemoteProtocolError, match="no repository named 'nope'"):
            await client.clone(oa.host.addrs()[0], "nope", now=1)
        assert "nope" not in b.versioning.list_repos()
        assert peer not in b.versioning.trusted_keys()  # the failed clone left no trust behind
        b.versioning.trust_add(peer)  # a key trusted before a failed clone stays trusted
        with pytest.raises(RemoteProtocolError):
            await client.clone(oa.host.addrs()[0], "nope", now=1)
        assert peer in b.versioning.trusted_keys()
        b.versioning.trust_rm(peer)
        adv = await client.list_refs(peer)
        assert adv.repos == {"ds": {}} and adv.peer == peer

        # a malicious server that answers for repos it was not asked about / replays / forges
        async def liar(stream):
            from jiaozi_node.versioning.sync import read_message
            from jiaozi_node.versioning.sync_core import make_advertisement

            msg = await read_message(stream, max_bytes=1 << 20)
            adv = make_advertisement(a.repo.identity, msg["nonce"], {"other": {}}, now=1)
            await stream.write(frame({"ok": True, "adv": adv.to_node()}))

        oa.host.set_stream_handler(PROTOCOL_ID, liar)
        with pytest.raises(RemoteProtocolError, match="not asked about"):
            await client.list_refs(peer, "ds")

        async def replayer(stream):
            from jiaozi_node.versioning.sync import read_message
            from jiaozi_node.versioning.sync_core import make_advertisement

            await read_message(stream, max_bytes=1 << 20)
            adv = make_advertisement(a.repo.identity, b"\x00" * 16, {"ds": {}}, now=1)
            await stream.write(frame({"ok": True, "adv": adv.to_node()}))

        oa.host.set_stream_handler(PROTOCOL_ID, replayer)
        with pytest.raises(SignatureError, match="replay"):
            await client.list_refs(peer, "ds")

        async def huge(stream):
            await stream.write(b"\xff\xff\xff\x7f")

        oa.host.set_stream_handler(PROTOCOL_ID, huge)
        with pytest.raises(Exception, match="over the"):
            await client.list_refs(peer, "ds")


async def test_fetch_of_missing_branch_moves_nothing(nodes, tmp_path):
    a, b = nodes
    a.versioning.create_repo("ds", now=1)
    b.versioning.create_repo("ds", now=1)
    async with online(a) as oa, online(b) as ob:
        client = SyncClient(ob)
        peer = await client.connect(oa.host.addrs()[0])
        with pytest.raises(NotFound, match="no branch 'main'"):
            await client.fetch(peer, "ds", remote="a", branch="main")
        assert b.versioning.refs.list_refs("ds") == {}


async def test_cli_clone_fetch_pull_push(nodes, tmp_path):
    """The FIXED `jzfs clone MULTIADDR NAME` and the remote/fetch/pull/push commands, as processes."""
    import sys

    a, b = nodes
    data = write(tmp_path / "d", {"f.txt": b"one\n", "blob": os.urandom(300_000)})
    a.versioning.create_repo("ds", now=1)
    c1 = a.versioning.commit("ds", data, branch="main", message="one", now=10).cid
    env = {**os.environ, "JZFS_PATH": str(b.repo.path)}

    async def jzfs(*argv: str) -> str:
        # -X importtime: with no daemon, the sync commands dial over the lean LiteHost and never
        # import py-libp2p (~0.6 s of the command)
        proc = await trio.run_process([sys.executable, "-X", "importtime", "-m", "jiaozi_node.cli.main",
                                       *argv], env=env, capture_stdout=True, capture_stderr=True, check=False)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        mods = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.decode().splitlines()
                if line.startswith("import time:")]
        assert len(mods) > 50
        if argv[0] in ("clone", "fetch", "pull", "push"):
            assert not [m for m in mods if m.split(".")[0] == "libp2p"], argv
        return proc.stdout.decode()

    async with online(a) as oa:
        addr = oa.host.addrs()[0]
        out = await jzfs("clone", addr, "ds")
        assert "cloned ds from" in out
        assert (await jzfs("log", "ds@main", "--json")).count(str(c1)) == 1
        (data / "f.txt").write_bytes(b"two\n")
        c2 = a.versioning.commit("ds", data, branch="main", message="two", now=20).cid
        await jzfs("remote", "add", "a", addr)  # "origin" was added by clone; a second name for A
        out = await jzfs("pull", "a", "ds", "main")
        assert "main: fast-forward" in out
        assert str(c2) in await jzfs("log", "ds@main", "--json")
        co = tmp_path / "co"
        await jzfs("checkout", "ds@main", "-o", str(co))
        (co / "g.txt").write_bytes(b"from b\n")
        c3 = (await jzfs("commit", "ds", str(co), "-b", "main", "-m", "three", "-Q")).strip()
        a.versioning.refs.allow_writer("ds", b.repo.peer_id)
        out = await jzfs("push", "origin", "ds", "main")
        assert f"now at {c3}" in out
        assert str(a.versioning.branch_head("ds", "main")) == c3

        # --json forms: one JSON object each
        c4 = a.versioning.commit("ds", data, branch="dev", message="four", now=30).cid
        got = json.loads(await jzfs("fetch", "a", "ds", "--json"))
        assert got["Repo"] == "ds" and got["Refs"]["heads/dev"] == str(c4) and got["Peer"] == oa.host.peer_id
        got = json.loads(await jzfs("pull", "a", "ds", "dev", "--json"))
        assert got["Refs"] == {"heads/dev": str(c4)} and got["Branches"]["dev"]["Cid"] == str(c4)
        (co / "h.txt").write_bytes(b"again\n")
        c5 = (await jzfs("commit", "ds", str(co), "-b", "main", "-m", "five", "-Q")).strip()
        got = json.loads(await jzfs("push", "origin", "ds", "main", "--json"))
        assert got == {"Peer": oa.host.peer_id, "Repo": "ds", "Branch": "main", "Head": c5}
        a.versioning.create_repo("ds2", now=40)
        c6 = a.versioning.commit("ds2", data, branch="main", message="six", now=41).cid
        got = json.loads(await jzfs("clone", addr, "ds2", "--json"))
        assert got["Repo"] == "ds2" and got["Refs"] == {"heads/main": str(c6)} and got["NewCommits"] == 1


async def test_history_comes_in_one_answer_checked_like_bitswap_blocks(nodes, tmp_path):
    """The commits of a clone/pull come in one `history` answer, not one Bitswap round trip each;
    a peer without the operation, or one that sends wrong objects, costs Bitswap round trips and
    nothing else; a pull asks only for what is past its own refs."""
    a, b = nodes
    d = write(tmp_path / "d", {"f": b"0"})
    a.versioning.create_repo("ds", now=1)
    for i in range(12):
        (d / "f").write_bytes(b"%d" % i)
        a.versioning.commit("ds", d, branch="main", message=f"c{i}", now=10 + i)
    commits = set(history.ancestors(a.versioning.load_commit, a.versioning.branch_head("ds", "main"),
                                    max_depth=100))
    async with online(a) as oa, online(b) as ob:
        bitswap = ob.services["bitswap"]
        asked: list = []
        fetch = bitswap.fetch

        async def counting(cid):
            asked.append(cid)
            return await fetch(cid)

        bitswap.fetch = counting
        refs = oa.services["refs"]
        answers: list[int] = []
        serve = refs._history

        async def recorded(req):
            resp = await serve(req)
            answers.append(len(resp["objects"]))
            return resp

        refs._history = recorded
        client = SyncClient(ob)
        res = await client.clone(oa.host.addrs()[0], "ds", now=50)
        assert res.new_commits == 12 and answers == [12]
        assert not commits & set(asked)  # no commit travelled over Bitswap
        assert b.versioning.verify("ds@main").commits == 12

        # two more commits: the pull's answer stops at B's own refs
        for i in (12, 13):
            (d / "f").write_bytes(b"%d" % i)
            a.versioning.commit("ds", d, branch="main", message=f"c{i}", now=10 + i)
        loads: list = []
        load_commit = b.versioning.load_commit
        b.versioning.load_commit = lambda cid: loads.append(cid) or load_commit(cid)
        res = await client.fetch(oa.peer_id, "ds", remote="origin")
        assert res.new_commits == 2 and answers == [12, 2]
        assert loads == []  # a linear pull stops at its old head: the local history is not re-read
        b.versioning.load_commit = load_commit

        # a merge of a side branch started at an old commit: that walk meets the local history
        # below B's refs, which is then known as a whole (and not fetched or checked again; the
        # server, which knows only B's ref targets, sends the side branch's old commits too)
        old = sorted(commits, key=lambda c: a.versioning.load_commit(c).timestamp)[3]
        a.versioning.branch_create("ds", "side", from_ref=str(old))
        e = write(tmp_path / "e", {"g": b"side"})
        a.versioning.commit("ds", e, branch="side", message="side", now=30)
        a.versioning.merge("ds", "side", into="main", message="merge", now=31, strategy="ours")
        asked.clear()
        res = await client.fetch(oa.peer_id, "ds", remote="origin", branch="main")
        assert res.new_commits == 2 and answers[-1] > 2 and not commits & set(asked)

        # a peer that sends other objects (or garbage) than asked: they are never used as commits
        async def liar(req):
            other = a.versioning.load_commit(req.have[0]).block().data if req.have else b"\xa0"
            return {"ok": True, "objects": [other, b"\xa1ax\x01"]}

        refs._history = liar
        (d / "f").write_bytes(b"x")
        head = a.versioning.commit("ds", d, branch="main", message="x", now=40).cid
        asked.clear()
        res = await client.fetch(oa.peer_id, "ds", remote="origin")
        assert res.new_commits == 1 and head in asked  # fetched (and checked) over Bitswap

        # a peer without the operation (an older version): Bitswap alone, as before
        async def old(req):
            raise RemoteProtocolError("unknown refs operation 'history'")

        refs._history = old
        (d / "f").write_bytes(b"y")
        head = a.versioning.commit("ds", d, branch="main", message="y", now=41).cid
        asked.clear()
        res = await client.fetch(oa.peer_id, "ds", remote="origin")
        assert res.new_commits == 1 and head in asked
        assert b.versioning.refs.get_ref("ds", "remotes/origin/main") == head


async def test_history_answer_is_bounded_and_the_rest_comes_over_bitswap(nodes, tmp_path):
    import dataclasses

    a, b = nodes
    d = write(tmp_path / "d", {"f": b"0"})
    a.versioning.create_repo("ds", now=1)
    for i in range(10):
        (d / "f").write_bytes(b"%d" % i)
        a.versioning.commit("ds", d, branch="main", message=f"c{i}", now=10 + i)
    async with online(a) as oa, online(b) as ob:
        refs = oa.services["refs"]
        refs.limits = dataclasses.replace(refs.limits, max_sync_message_bytes=1024 + 3 * 400)
        answers: list[int] = []
        serve = refs._history

        async def recorded(req):
            resp = await serve(req)
            answers.append(len(resp["objects"]))
            return resp

        refs._history = recorded
        res = await SyncClient(ob).clone(oa.host.addrs()[0], "ds", now=50)
        assert 0 < answers[0] < 10 and res.new_commits == 10  # the rest walked over Bitswap
        assert b.versioning.verify("ds@main").commits == 10
