"""End to end through the CLI: dag import -> cat/ls/get/dag export/dag get, and every bad input
giving a one-line error, a non-zero exit and nothing stored."""

import hashlib
import io
import json
import os
import sys
from pathlib import Path

import pytest

from jiaozi_node.car.writer import encode_header, encode_section, write_car
from jiaozi_node.cli.main import main
from jiaozi_node.config import UNIXFS_V0_2015
from jiaozi_node.ipld import dagpb
from jiaozi_node.ipld.block import Block
from jiaozi_node.node.dag import dag_export
from jiaozi_node.unixfs import pb
from jiaozi_node.unixfs.exporter_testing import DagBuilder
from jiaozi_node.unixfs.importer import import_bytes


def content(n, seed=b"cli"):
    return hashlib.shake_128(seed).digest(n)


@pytest.fixture()
def repo(tmp_path, monkeypatch, capsysbinary):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "repo"))
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    capsysbinary.readouterr()
    return tmp_path


def run(capsysbinary, *argv, rc=0):
    code = main(list(argv))
    out, err = capsysbinary.readouterr()
    assert code == rc, (argv, out[:500], err)
    return out, err


def one_line_error(err: bytes) -> str:
    text = err.decode()
    assert text.startswith("Error: ") and text.count("\n") == 1, text
    assert "Traceback" not in text
    return text


@pytest.fixture()
def tree():
    """A tree with a multi-level file, a Kubo-profile file, a HAMT dir, a symlink, empties."""
    dag = DagBuilder()
    big = content(50_000)
    big_cid = dag.chunked(big, chunk=1000, width=5)
    kubo_data = content(300_000, b"kubo")
    kubo_cid, blocks, _ = import_bytes(kubo_data, UNIXFS_V0_2015)
    dag.store.put_many(blocks)
    dag.sizes[kubo_cid] = len(kubo_data)
    shard_files = {f"item-{i:03}.txt": dag.raw(f"item {i}\n".encode()) for i in range(300)}
    hamt = dag.hamt(shard_files)
    sub = dag.directory({"kubo.bin": kubo_cid, "empty.txt": dag.raw(b""), "emptydir": dag.directory({})})
    root = dag.directory({"big.bin": big_cid, "sub": sub, "shard": hamt, "link": dag.symlink("sub/kubo.bin"),
                          "hello.txt": dag.raw(b"hello\n")})
    expected = {"big.bin": big, "sub/kubo.bin": kubo_data, "sub/empty.txt": b"", "hello.txt": b"hello\n"}
    expected.update({f"shard/{n}": f"item {int(n[5:8])}\n".encode() for n in shard_files})
    return dag, root, expected


def import_tree(repo, capsysbinary, dag, root):
    car = repo / "tree.car"
    car.write_bytes(b"".join(dag_export(dag.store, root)))
    out, _ = run(capsysbinary, "dag", "import", str(car), "--stats")
    return car, out.decode()


def test_import_then_cat_ls_get_export(repo, capsysbinary, tree):
    dag, root, expected = tree
    car, out = import_tree(repo, capsysbinary, dag, root)
    assert f"Pinned root\t{root}\tsuccess" in out
    assert f"Imported {len(dag.store)} blocks" in out

    for path, data in list(expected.items())[:6]:
        got, _ = run(capsysbinary, "cat", f"/ipfs/{root}/{path}")
        assert got == data, path
    got, _ = run(capsysbinary, "cat", f"{root}/big.bin", "--offset", "12345", "--length", "7000")
    assert got == expected["big.bin"][12345:19345]
    got, _ = run(capsysbinary, "cat", f"{root}/shard/item-123.txt")
    assert got == b"item 123\n"

    out, _ = run(capsysbinary, "ls", str(root))
    lines = out.decode().splitlines()
    assert [line.split()[2] for line in lines] == ["big.bin", "hello.txt", "link", "shard/", "sub/"]
    assert lines[0].split()[1] == "50000" and lines[3].split()[1] == "-"
    out, _ = run(capsysbinary, "ls", "--json", f"{root}/shard")
    links = json.loads(out)["Objects"][0]["Links"]
    assert len(links) == 300 and {lk["Type"] for lk in links} == {2}
    assert sorted(lk["Name"] for lk in links) == sorted(n.split("/")[1] for n in expected if n.startswith("shard/"))
    out, _ = run(capsysbinary, "ls", "--json", f"{root}/link")
    assert json.loads(out)["Objects"][0]["Links"][0]["Type"] == 4
    out, _ = run(capsysbinary, "ls", "--json", str(root))
    (link,) = [e for e in json.loads(out)["Objects"][0]["Links"] if e["Name"] == "link"]
    assert (link["Type"], link["Target"], link["Size"]) == (4, "sub/kubo.bin", 12)

    run(capsysbinary, "get", str(root), "-o", "out")
    for path, data in expected.items():
        assert (repo / "out" / path).read_bytes() == data, path
    assert os.readlink(repo / "out" / "link") == "sub/kubo.bin"
    assert (repo / "out" / "sub" / "emptydir").is_dir()
    run(capsysbinary, "get", f"/ipfs/{root}/sub/kubo.bin")  # default name: the last segment
    assert (repo / "kubo.bin").read_bytes() == expected["sub/kubo.bin"]

    exported, _ = run(capsysbinary, "dag", "export", str(root))
    assert exported == car.read_bytes()  # same DFS order, byte for byte
    run(capsysbinary, "dag", "export", str(root), "-o", "again.car")
    assert (repo / "again.car").read_bytes() == car.read_bytes()
    out, _ = run(capsysbinary, "dag", "stat", str(root))
    assert out.decode().startswith(f"Size: {sum(len(dag.store.get(c)) for c in dag.store.cids())}, NumBlocks: {len(dag.store)}")
    out, _ = run(capsysbinary, "dag", "get", f"{root}/hello.txt")
    assert json.loads(out) == {"/": {"bytes": "aGVsbG8K"}}


def test_bad_inputs_are_one_line_errors(repo, capsysbinary, tree):
    dag, root, _expected = tree
    _, err = run(capsysbinary, "cat", "notacid", rc=1)
    assert "not a valid CID" in one_line_error(err)
    _, err = run(capsysbinary, "cat", str(root), rc=1)  # not imported yet
    assert "not found" in one_line_error(err).lower()
    _, err = run(capsysbinary, "ls", f"/ipns/{root}", rc=1)
    one_line_error(err)
    import_tree(repo, capsysbinary, dag, root)
    _, err = run(capsysbinary, "cat", f"{root}/nope.txt", rc=1)
    assert f"no link named 'nope.txt' under {root}" in one_line_error(err)
    _, err = run(capsysbinary, "cat", f"{root}/shard/nope", rc=1)
    assert "no link named 'nope'" in one_line_error(err)
    _, err = run(capsysbinary, "cat", f"{root}/sub", rc=1)
    assert "directory" in one_line_error(err)
    _, err = run(capsysbinary, "get", str(root), "-o", "tree.car", rc=1)  # exists already
    assert "already exists" in one_line_error(err)
    _, err = run(capsysbinary, "dag", "get", f"{root}/Links/99", rc=1)
    one_line_error(err)
    _, err = run(capsysbinary, "dag", "import", "no-such.car", rc=1)
    one_line_error(err)
    _, err = run(capsysbinary, "cid", "format", "-f", "%q", str(root), rc=1)
    one_line_error(err)


def test_broken_cars_store_nothing(repo, capsysbinary):
    dag = DagBuilder()
    f = dag.chunked(content(20_000), chunk=1000, width=4)
    good = b"".join(dag_export(dag.store, f))
    leaf = next(c for c in dag.store.cids() if c.codec == 0x55)
    lying = b"".join(write_car([f], [])) + encode_section(f, dag.store.get(f)) + encode_section(leaf, b"evil")
    for name, data, needle in [("trunc.car", good[:-10], "truncated"), ("lying.car", lying, str(leaf)),
                               ("garbage.car", b"\x05hello", "CAR")]:
        (repo / name).write_bytes(data)
        _, err = run(capsysbinary, "dag", "import", name, rc=1)
        assert needle in one_line_error(err), name
        for cid in dag.store.cids():  # not one block of the valid prefix was stored
            _, err = run(capsysbinary, "block", "stat", str(cid), rc=1)
            one_line_error(err)


def test_import_from_stdin_and_no_pin(repo, capsysbinary, monkeypatch):
    dag = DagBuilder()
    f = dag.raw(b"from stdin")
    data = b"".join(write_car([f], [Block(f, b"from stdin")]))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out, _ = run(capsysbinary, "dag", "import", "--pin-roots=false", "--stats")
    assert b"Pinned root" not in out and b"Imported 1 blocks (10 bytes)" in out
    got, _ = run(capsysbinary, "cat", str(f))
    assert got == b"from stdin"


def test_incomplete_car_reports_pin_failure(repo, capsysbinary):
    dag = DagBuilder()
    f = dag.file([dag.raw(b"a"), dag.raw(b"b")])
    (repo / "partial.car").write_bytes(encode_header([f]) + encode_section(f, dag.store.get(f)))
    out, err = run(capsysbinary, "dag", "import", "partial.car", rc=1)
    assert b"FAILED" in out and err.decode().startswith("Error: pinning 1 root(s) failed")


def test_unsafe_names_refused_by_get(repo, capsysbinary):
    dag = DagBuilder()
    evil = dag.raw(b"owned")
    bad = dag.raw_node(dagpb.PBNode((dagpb.PBLink(evil, "..", 5),), pb.DIRECTORY_DATA))
    root = dag.directory({"inner": bad, "fine.txt": dag.raw(b"ok")})
    import_tree(repo, capsysbinary, dag, root)
    _, err = run(capsysbinary, "get", str(root), "-o", "dest", rc=1)
    assert "unsafe link name '..'" in one_line_error(err)
    assert not (repo / "dest").exists() and not (repo / "inner").exists()
    assert not [p for p in repo.iterdir() if p.name.startswith(".jzfs-get-")]


def test_corrupted_block_is_reported(repo, capsysbinary):
    run(capsysbinary, "config", "Datastore.Engine", "flatfs")
    dag = DagBuilder()
    data = content(5000)
    f = dag.chunked(data, chunk=1000, width=10)
    import_tree(repo, capsysbinary, dag, f)
    leaf_bytes = data[2000:3000]
    victim = next(p for p in (repo / "repo" / "blocks").rglob("*.data") if p.read_bytes() == leaf_bytes)
    victim.write_bytes(b"X" + leaf_bytes[1:])
    _, err = run(capsysbinary, "cat", str(f), rc=1)
    one_line_error(err)
    got, _ = run(capsysbinary, "cat", str(f), "--length", "2000")  # the range avoids the bad leaf
    assert got == data[:2000]


def test_dag_put_get_and_cid_commands(repo, capsysbinary, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"hello":"world"}')))
    out, _ = run(capsysbinary, "dag", "put")
    cid = out.decode().strip()
    assert cid == "bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
        b'{"list":[1,{"x":{"/":"%s"}}],"n":"outer"}' % cid.encode())))
    outer = run(capsysbinary, "dag", "put", "--store-codec", "dag-json")[0].decode().strip()
    out, _ = run(capsysbinary, "dag", "get", f"{outer}/list/1/x/hello")
    assert json.loads(out) == "world"
    out, _ = run(capsysbinary, "dag", "get", f"{outer}/list/1/x")
    assert json.loads(out) == {"hello": "world"}
    out, _ = run(capsysbinary, "dag", "get", outer, "--output-codec", "dag-cbor")
    assert out[:1] == b"\xa2"
    out, _ = run(capsysbinary, "dag", "resolve", f"{outer}/list/1/x/hello")
    assert out.decode().strip() == f"{cid}/hello"
    out, _ = run(capsysbinary, "cid", "format", "-v", "1", "-b", "base32", "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR")
    assert out.decode().strip() == "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    out, _ = run(capsysbinary, "cid", "base32", "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR")
    assert out.decode().strip() == "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    out, _ = run(capsysbinary, "cid", "format", "-f", "%P|%b|%h|%L|%S", cid)
    assert out.decode().strip() == f"cidv1-dag-cbor-sha2-256-32|base32|sha2-256|32|{cid[1:]}"
    out, _ = run(capsysbinary, "cid", "format", "-v", "0", "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")
    assert out.decode().strip() == "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR"
    _, err = run(capsysbinary, "cid", "format", "-v", "0", cid, rc=1)
    assert "cannot be CIDv0" in one_line_error(err)
    assert Path(repo).exists()


def test_add_then_get_ls_cat_with_real_hamt_and_symlink(repo, capsysbinary):
    """`jzfs add -r` (the real importer and HAMT builder) -> `jzfs get` gives the same tree back."""
    src = repo / "src"
    (src / "big").mkdir(parents=True)
    names = [f"{'n' * 56}-{i:04}" for i in range(2800)]  # over 256 KiB of links: sharded
    for i, name in enumerate(names):
        (src / "big" / name).write_bytes(str(i).encode())
    (src / "data.bin").write_bytes(content(700_000))
    os.symlink("big", src / "ln")
    out, _ = run(capsysbinary, "add", "-r", "-Q", "--profile", "unixfs-v0-2015", str(src))
    root = out.decode().strip()
    node = json.loads(run(capsysbinary, "dag", "get", f"{root}/big")[0])
    assert node["Data"]["/"]["bytes"].startswith("CAUS")  # UnixFS Type 5: a HAMT shard
    assert run(capsysbinary, "cat", f"{root}/big/{names[1234]}")[0] == b"1234"
    assert run(capsysbinary, "cat", f"{root}/data.bin", "-o", "600000")[0] == content(700_000)[600_000:]
    listed = json.loads(run(capsysbinary, "ls", "--json", f"{root}/big")[0])["Objects"][0]["Links"]
    assert sorted(e["Name"] for e in listed) == names
    run(capsysbinary, "get", root, "-o", "copy")
    for i in range(0, 2800, 97):
        assert (repo / "copy" / "big" / names[i]).read_bytes() == str(i).encode()
    assert sorted(p.name for p in (repo / "copy" / "big").iterdir()) == names
    assert (repo / "copy" / "data.bin").read_bytes() == content(700_000)
    assert os.readlink(repo / "copy" / "ln") == "big"
