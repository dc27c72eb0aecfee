from __future__ import annotations

import io
import json
import sys

import pytest

from jiaozi_node.cli.main import main
from jiaozi_node.ipld import dagcbor
from jiaozi_node.ipld.cid import CID
from jiaozi_node.ipld.dagpb import PBNode, encode
from jiaozi_node.node.core import Node
from jiaozi_node.testing.blockstore import flip_byte_in_file


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    assert main(["init"]) == 0
    return tmp_path / "r"


def put_stdin(monkeypatch, capsysbinary, data: bytes, *flags: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    capsysbinary.readouterr()
    rc = main(["block", "put", *flags])
    out = capsysbinary.readouterr()
    return rc, out.out.decode().strip(), out.err.decode()


def test_put_get_stat_raw(repo, monkeypatch, capsysbinary):
    rc, cid, _ = put_stdin(monkeypatch, capsysbinary, b"hello\n")
    assert rc == 0
    assert cid == "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"  # same as Kubo
    assert main(["block", "get", cid]) == 0
    assert capsysbinary.readouterr().out == b"hello\n"
    assert main(["block", "stat", cid]) == 0
    assert capsysbinary.readouterr().out.decode() == f"Key: {cid}\nSize: 6\n"
    assert main(["block", "stat", cid, "--json"]) == 0
    assert json.loads(capsysbinary.readouterr().out) == {"Key": cid, "Size": 6}


def test_put_codecs_and_versions(repo, monkeypatch, capsysbinary, tmp_path):
    pb = encode(PBNode(data=b"\x08\x01"))
    rc, cid, _ = put_stdin(monkeypatch, capsysbinary, pb, "--cid-codec", "dag-pb", "--cid-version", "0")
    assert rc == 0 and cid.startswith("Qm")
    rc, cid1, _ = put_stdin(monkeypatch, capsysbinary, pb, "--cid-codec", "dag-pb")
    assert rc == 0 and CID.decode(cid1) == CID.decode(cid).to_v1()
    f = tmp_path / "c.cbor"
    f.write_bytes(dagcbor.encode({"a": 1}))
    assert main(["block", "put", "--cid-codec", "dag-cbor", "--mhtype", "sha2-512", str(f)]) == 0
    c = CID.decode(capsysbinary.readouterr().out.decode().strip())
    assert c.codec_name == "dag-cbor" and c.hash_code == 0x13
    with Node.open(repo) as node:
        assert node.blocks.get(c) == f.read_bytes()


@pytest.mark.parametrize("flags,data,msg", [
    (["--cid-codec", "dag-pb"], b"\xff\xff not protobuf", "not valid dag-pb"),
    (["--cid-version", "0"], b"x", "--cid-version 0 needs"),
    (["--cid-codec", "nope"], b"x", "unknown codec"),
    (["--mhtype", "md5"], b"x", "unsupported hash function"),
])
def test_put_rejects_bad_input(repo, monkeypatch, capsysbinary, flags, data, msg):
    rc, out, err = put_stdin(monkeypatch, capsysbinary, data, *flags)
    assert rc == 1 and out == "" and msg in err


def test_non_canonical_dag_cbor_is_a_one_line_error(repo, monkeypatch, capsysbinary):
    # {"b": 1, "a": 2}: keys out of canonical order (the cbor library's message spans 6 lines)
    rc, out, err = put_stdin(monkeypatch, capsysbinary, b"\xa2\x61\x62\x01\x61\x61\x02",
                             "--cid-codec", "dag-cbor")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("Error: input is not valid dag-cbor")
    assert "not in canonical order" in err and "^" not in err


def test_put_over_limit(repo, monkeypatch, capsysbinary):
    rc, out, err = put_stdin(monkeypatch, capsysbinary, b"x" * (2 * 1024 * 1024 + 1))
    assert rc == 1 and "limit" in err



def PACK_FILE(repo):  # noqa: N802 - the default engine's first pack file
    return repo / "blocks" / "pack" / "packs" / "00000000.pack"


def test_get_corrupt_block_fails_and_writes_nothing(repo, monkeypatch, capsysbinary):
    data = bytes(range(256)) * 40
    rc, cid, _ = put_stdin(monkeypatch, capsysbinary, data)
    flip_byte_in_file(PACK_FILE(repo), data[3000:3100])
    assert main(["block", "get", cid]) == 1
    out = capsysbinary.readouterr()
    assert out.out == b""
    assert "corrupt" in out.err.decode() and out.err.decode().startswith("Error:")


def test_get_missing_and_bad_cid(repo, capsysbinary):
    assert main(["block", "get", "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"]) == 1
    assert "not found" in capsysbinary.readouterr().err.decode()
    assert main(["block", "stat", "notacid"]) == 1
    assert "invalid CID" in capsysbinary.readouterr().err.decode()


def test_rm_refuses_pinned_and_reports_missing(repo, monkeypatch, capsysbinary):
    _, pinned, _ = put_stdin(monkeypatch, capsysbinary, b"keep", "--pin")
    _, loose, _ = put_stdin(monkeypatch, capsysbinary, b"drop")
    assert main(["block", "rm", pinned, loose]) == 1
    out = capsysbinary.readouterr()
    assert out.out.decode() == f"removed {loose}\n"
    assert f"cannot remove {pinned}: pinned (recursive)" in out.err.decode()
    assert main(["block", "rm", loose]) == 1
    assert "not found" in capsysbinary.readouterr().err.decode()
    assert main(["block", "rm", "-f", "-q", loose]) == 0
    assert capsysbinary.readouterr().out == b""
    with Node.open(repo) as node:
        assert node.blocks.has(CID.decode(pinned))


def test_cat_of_corrupt_block_fails_too(repo, monkeypatch, capsysbinary):
    data = bytes(range(256)) * 40
    _, cid, _ = put_stdin(monkeypatch, capsysbinary, data)  # a raw block is a valid UnixFS file
    assert main(["cat", cid]) == 0
    assert capsysbinary.readouterr().out == data
    flip_byte_in_file(PACK_FILE(repo), data[5000:5100])
    assert main(["cat", cid]) == 1
    out = capsysbinary.readouterr()
    assert out.out == b"" and "corrupt" in out.err.decode()
