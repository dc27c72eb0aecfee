"""Names from outside printed by the CLI: control characters, terminal escapes, bidi overrides
and backslashes are escaped (Kubo's EscNonPrint) in every text listing — ls, add, diff, status,
log, tags/branches, repo list, pin verify, errors — while --json keeps the exact string and `get`
keeps the real bytes."""

from __future__ import annotations

import json

import pytest

from jiaozi_node.cli.main import main
from jiaozi_node.ipld import Block
from jiaozi_node.node import Node
from jiaozi_node.unixfs.exporter_testing import DagBuilder

HOSTILE = {
    "title\x1b]0;pwned\x07.txt": "title\\x1b]0;pwned\\a.txt",  # sets the terminal title
    "clear\x1b[2J\x1b[H.txt": "clear\\x1b[2J\\x1b[H.txt",      # clears the screen
    "two\nlines.txt": "two\\nlines.txt",                       # forges a listing line
    "cr\rover.txt": "cr\\rover.txt",
    "bidi\u202etxt.exe": "bidi\\u202etxt.exe",                 # shows as "bidiexe.txt"
    "back\\slash": "back\\\\slash",
}
RAW_BAD = ("\x1b", "\x07", "\r", "\u202e")


@pytest.fixture
def jz(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "repo"))
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    capsys.readouterr()

    def run(*argv: str, ok: bool = True) -> tuple[str, str]:
        rc = main(["--offline", *argv])
        out, err = capsys.readouterr()
        assert (rc == 0) is ok, (rc, out, err)
        return out, err

    return run


def assert_clean(text: str) -> None:
    for ch in RAW_BAD:
        assert ch not in text, repr(text)


def test_ls_escapes_names_json_and_get_keep_them(jz, tmp_path):
    dag = DagBuilder()
    root = dag.directory({name: dag.raw(name.encode()) for name in HOSTILE})
    writable = {n: v for n, v in HOSTILE.items() if "\\" not in n}  # get refuses a backslash
    wroot = dag.directory({name: dag.raw(name.encode()) for name in writable})
    with Node.open(tmp_path / "repo") as node:
        node.blocks.put_many([Block(c, dag.store.get(c)) for c in dag.store.cids()])
    out, _ = jz("ls", str(root))
    assert_clean(out)
    lines = out.splitlines()
    assert len(lines) == len(HOSTILE)  # no forged line
    for shown in HOSTILE.values():
        assert any(line.endswith(" " + shown) for line in lines), (shown, out)
    out, _ = jz("ls", "--json", str(root))
    names = {lk["Name"] for lk in json.loads(out)["Objects"][0]["Links"]}
    assert names == set(HOSTILE)
    assert "\x1b" not in out  # JSON escapes it (\u001b)
    out, _ = jz("get", str(wroot), "-o", "tree")
    assert sorted(p.name for p in (tmp_path / "tree").iterdir()) == sorted(writable)
    err = jz("cat", f"{root}/no\x1b[2Jsuch", ok=False)[1]
    assert_clean(err)


def test_add_and_versioning_listings_escape(jz, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in HOSTILE:
        (data / name).write_text("v1")
    out, _ = jz("add", "-r", str(data))
    assert_clean(out)
    assert "\\x1b]0;pwned\\a.txt" in out
    err = jz("repo", "create", "ds\x1b[2J", ok=False)[1]  # names are checked; the error is escaped
    assert_clean(err)
    assert "ds\\x1b[2J" in err
    jz("repo", "create", "ds")
    c1 = jz("commit", "ds", str(data), "-b", "main", "-m", "first\x1b]0;owned\x07\n\tsecond line",
            "-Q")[0].strip()
    for name in HOSTILE:
        (data / name).write_text("v2")
    (data / "new\x1b[1m").write_text("x")
    out, _ = jz("status", "ds", str(data))
    assert_clean(out)
    assert "new\\x1b[1m" in out and "\\x1b[2J\\x1b[H.txt" in out
    jz("commit", "ds", str(data), "-b", "main", "-m", "second")
    out, _ = jz("diff", f"ds@{c1}", "ds@main")
    assert_clean(out)
    assert len(out.splitlines()) == len(HOSTILE) + 1
    out, _ = jz("log", "ds@main")
    assert_clean(out)
    assert "first\\x1b]0;owned\\a" in out and "\tsecond line" in out  # tabs stay, ESC does not
    out, _ = jz("log", "ds@main", "--json")
    assert any(c["message"].startswith("first\x1b]0;owned\x07") for c in json.loads(out))
    err = jz("tag", "create", "ds", "v\x1b[5m1", ok=False)[1]
    assert_clean(err)


def test_diff_rows_escapes_cells_keys_and_headers(jz, tmp_path):
    """`jzfs diff --rows`: CSV content is data from outside — added/removed rows, key values,
    header and column names are escaped in text output; --json keeps the exact strings."""
    data = tmp_path / "rows"
    data.mkdir()
    (data / "t.csv").write_text("id,v\x1b[8m\n1,a\n2,keep\n3,gone\x1b]0;x\x07\n")
    jz("repo", "create", "ds")
    c1 = jz("commit", "ds", str(data), "-b", "main", "-m", "a", "-Q")[0].strip()
    (data / "t.csv").write_text("id,v\x1b[8m\n1,x\u202e\n2,keep\n4\x1b[2J,bold\x1b[1m\n")
    jz("commit", "ds", str(data), "-b", "main", "-m", "b", "-Q")
    for extra in ((), ("--key", "id")):
        out, err = jz("diff", f"ds@{c1}", "ds@main", "--rows", "t.csv", *extra)
        assert_clean(out + err)
        assert "bold\\x1b[1m" in out and "gone\\x1b]0;x" in out and "v\\x1b[8m" in out, out
    out, _ = jz("diff", f"ds@{c1}", "ds@main", "--rows", "t.csv", "--key", "id")
    assert len(out.splitlines()) == 3, out  # ~1, -3, +4: no forged line
    assert "+ id=4\\x1b[2J: 4\\x1b[2J,bold\\x1b[1m" in out and "- id=3: 3,gone\\x1b]0;x\\a" in out, out
    (data / "t.csv").write_text("id\x1b[5m,v\n1,a\n")
    jz("commit", "ds", str(data), "-b", "main", "-m", "c", "-Q")
    out, _ = jz("diff", f"ds@{c1}", "ds@main", "--rows", "t.csv")
    assert_clean(out)
    assert "header: id,v\\x1b[8m -> id\\x1b[5m,v" in out, out
    out, _ = jz("diff", f"ds@{c1}", "ds@main", "--rows", "t.csv", "--json")
    assert json.loads(out)["headerB"] == ["id\x1b[5m", "v"]
