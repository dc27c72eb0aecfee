"""The web UI against hostile content and hostile requests: every page answers with a page (200,
or a 4xx naming the problem), never a 500, a hang or a crash; nothing from the DAG becomes markup.

Hostile content: lying UnixFS sizes, a HAMT shard with a bad prefix, a directory with repeated
names, names with control characters and markup, deep DAG-CBOR, a commit-shaped block with extra
keys, a CSV whose single row is larger than a page may read, invalid UTF-8, a fake PNG that is
SVG. Hostile requests: absurd page/offset/sort numbers, `..` paths, unknown formats, huge forms.
"""

from __future__ import annotations

import pytest
import trio

from jiaozi_node.api.common import ApiContext
from jiaozi_node.api.server import RpcApp
from jiaozi_node.ipld import dagcbor, dagpb
from jiaozi_node.ipld.block import Block
from jiaozi_node.ipld.cid import DAG_CBOR
from jiaozi_node.node import Node
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder


def call(app, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    raw_path, _, qs = path.partition("?")
    hdrs = {"host": "127.0.0.1:5001", **(headers or {})}
    scope = {"type": "http", "method": method, "path": raw_path, "raw_path": raw_path.encode(),
             "query_string": qs.encode(), "headers": [(k.encode(), v.encode()) for k, v in hdrs.items()]}
    sent: list[dict] = []
    msgs = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if msgs:
            return msgs.pop(0)
        await trio.sleep_forever()

    async def send(m):
        sent.append(m)

    async def run():
        with trio.fail_after(30):  # a hang detector, not a speed assertion
            await app(scope, receive, send)

    trio.run(run)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    node = Node.open(tmp_path_factory.mktemp("hostile-webui") / "repo")
    d = DagBuilder()
    put = []

    def keep(cid):
        put.append(cid)
        return cid

    leaf = keep(d.raw(b"x" * 100))
    # a file whose root claims more bytes than its leaf holds
    lying_meta = pb.encode(pb.UnixFSData(type=pb.DataType.File, filesize=10_000, blocksizes=(10_000,)))
    lying = keep(d.raw_node(dagpb.PBNode(links=(dagpb.PBLink(leaf, "", 100),), data=lying_meta)))
    bad_hamt_meta = pb.encode(pb.UnixFSData(type=pb.DataType.HAMTShard, fanout=256, hash_type=0x22, data=b"\x01"))
    bad_hamt = keep(d.raw_node(dagpb.PBNode(links=(dagpb.PBLink(leaf, "zz-no-prefix", 1),), data=bad_hamt_meta)))
    dir_meta = pb.encode(pb.UnixFSData(type=pb.DataType.Directory))
    repeated = keep(d.raw_node(dagpb.PBNode(links=(dagpb.PBLink(leaf, "a", 1), dagpb.PBLink(leaf, "a", 1)),
                                            data=dir_meta)))
    long_row = keep(d.chunked(b"a," * (6 << 20) + b"\n", chunk=1 << 20, width=16))
    weird = {"ctl\x1b[31m\x07.csv": long_row, "<b>bold</b>.txt": leaf, "lying.csv": lying,
             "bad-hamt": bad_hamt, "repeated": repeated,
             "bad-utf8.txt": keep(d.raw(b"\xff\xfe\xfd <script>window.__xss=1</script>")),
             "fake.png": keep(d.raw(b"\x89PNG\r\n\x1a\n<svg onload=alert(1)>")),
             "x.json": keep(d.raw(b'{"a": [' * 5000))}
    root = keep(d.directory(weird))
    deep = b"\x81" * 2000 + b"\x00"  # 2000 nested CBOR arrays
    deep_block = Block.create(deep, codec=DAG_CBOR)
    fake_commit = Block.create(dagcbor.encode({"type": "jzfs/commit", "v": 1, "evil": "<script>"}), codec=DAG_CBOR)
    blocks = [Block(c, d.store.get(c)) for c in d.store.cids()] + [deep_block, fake_commit]
    node.blocks.put_many(blocks)
    app = RpcApp(ApiContext(node))
    yield {"app": app, "root": root, "deep": deep_block.cid, "fake": fake_commit.cid, "node": node}
    node.close()


PAGES = ["/webui/ipfs/{root}", "/webui/ipfs/{root}?path=lying.csv", "/webui/ipfs/{root}?path=bad-hamt",
         "/webui/ipfs/{root}?path=repeated", "/webui/ipfs/{root}?path=ctl%1B%5B31m%07.csv",
         "/webui/ipfs/{root}?path=bad-utf8.txt", "/webui/ipfs/{root}?path=fake.png",
         "/webui/ipfs/{root}?path=x.json", "/webui/ipfs/{root}?path=..%2F..", "/webui/ipfs/{root}?page=-5",
         "/webui/ipfs/{root}?page=99999999999999999999999", "/webui/ipfs/{root}?path=lying.csv&at=-1&row=abc",
         "/webui/ipfs/{root}?path=ctl%1B%5B31m%07.csv&sort=999999&desc=1",
         "/webui/inspect?cid={deep}", "/webui/inspect?cid={fake}", "/webui/inspect?cid=/ipfs/{root}/nope",
         "/webui/dl/{root}?format=zip", "/webui/dl/{root}?path=lying.csv", "/webui/dl/{root}?format=tar",
         "/webui/img/{root}", "/webui/d/%3Cscript%3E/log", "/webui/d/x/diff/file?a=..&b=main&path=../../etc",
         "/webui/node/stats?page=-1"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_without_a_500(env, path):
    status, body = call(env["app"], "GET", path.format(**{k: env[k] for k in ("root", "deep", "fake")}))
    assert status in (200, 400, 404, 405), (status, body[:300])
    assert b"<script>window" not in body and b"<b>bold" not in body and b"<svg" not in body


def test_lying_sizes_are_an_error_not_wrong_bytes(env):
    status, body = call(env["app"], "GET", f"/webui/ipfs/{env['root']}?path=lying.csv")
    assert status == 400 and b"blocksizes" in body, body[-400:]


def test_hostile_forms(env):
    big = b"csrf=" + b"a" * (1 << 20)
    status, _ = call(env["app"], "POST", "/webui/node/gc", big, {"origin": "http://127.0.0.1:5001"})
    assert status in (400, 403)  # over the form limit or refused: never read into a command
    status, _ = call(env["app"], "POST", "/webui/node/pin", b"csrf=\xff\xfe&action=add",
                     {"origin": "http://127.0.0.1:5001"})
    assert status == 403


def test_tar_download_refuses_the_issue9_tree_like_rpc_get(env, tmp_path):
    """Issue 9's attack (symlink `a` -> ../outside, then directory `a/pwned.txt`): the web UI's tar
    download answers the same refusal as the RPC `get` tar and offline `get`, never the archive."""
    import html

    from jiaozi_node.errors import InvalidInput
    from jiaozi_node.node.files_read import FilesReader

    d = DagBuilder()
    evil = d.directory({"pwned.txt": d.raw(b"pwned")})
    root = d.raw_node(dagpb.PBNode((dagpb.PBLink(d.symlink("../outside"), "a", 1), dagpb.PBLink(evil, "a", 1)),
                                   pb.DIRECTORY_DATA))
    env["node"].blocks.put_many([Block(c, d.store.get(c)) for c in d.store.cids()])
    with pytest.raises(InvalidInput) as offline:
        FilesReader(d.store).get(root, tmp_path / "dest")
    message = str(offline.value)
    assert "duplicate name 'a'" in message
    status, body = call(env["app"], "GET", f"/webui/dl/{root}?format=tar")
    assert status == 400 and message in html.unescape(body.decode()), (status, body[:400])
    assert b"pwned" not in body and b"ustar" not in body
    status, body = call(env["app"], "POST", f"/api/v0/get?arg={root}", headers={"origin": "http://127.0.0.1:5001"})
    assert status == 400 and message in body.decode(), (status, body[:400])
