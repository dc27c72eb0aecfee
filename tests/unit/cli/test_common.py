"""cli/common.py: boolean flags never swallow the next argument; Kubo's `--flag=false` form."""

from __future__ import annotations

import argparse

import pytest

from jiaozi_node.cli.common import bool_flag, normalize_bool_flags
from jiaozi_node.cli.main import build_parser, main
from jiaozi_node.errors import InvalidInput


def test_bool_flag_forms():
    p = argparse.ArgumentParser()
    bool_flag(p, "--pin", default=True, help="pin")
    bool_flag(p, "--progress", "-p", default=False, help="bar")
    p.add_argument("paths", nargs="*")
    parse = lambda argv: p.parse_args(normalize_bool_flags(argv))  # noqa: E731
    a = parse(["--progress", "FILE"])
    assert a.progress is True and a.pin is True and a.paths == ["FILE"]
    a = parse(["--pin=false", "-p", "FILE"])
    assert a.pin is False and a.progress is True and a.paths == ["FILE"]
    a = parse(["--pin", "FILE", "--no-progress"])
    assert a.pin is True and a.progress is False and a.paths == ["FILE"]
    assert parse(["--pin=TRUE", "--progress=0"]).pin is True
    assert parse(["-p=true"]).progress is True
    with pytest.raises(InvalidInput, match="expected true or false"):
        normalize_bool_flags(["--pin=maybe"])
    # after `--` nothing is rewritten; an unregistered `--x=false` is left to argparse
    assert normalize_bool_flags(["--", "--pin=false"]) == ["--", "--pin=false"]
    assert normalize_bool_flags(["--chunker=size-10"]) == ["--chunker=size-10"]


@pytest.mark.parametrize("argv,attr,value", [
    (["add", "--progress", "F"], "progress", True),
    (["add", "--pin", "F"], "pin", True),
    (["add", "--raw-leaves", "F"], "raw_leaves", True),
    (["add", "--raw-leaves=false", "F"], "raw_leaves", False),
    (["dag", "import", "--pin-roots", "F"], "pin_roots", True),
    (["dag", "import", "--pin-roots=false", "F"], "pin_roots", False),
    (["ls", "--size", "F"], "size", True),
    (["ls", "--resolve-type=false", "F"], "resolve_type", False),
    (["pin", "add", "-r", "F"], "recursive", True),
    (["pin", "add", "-r=false", "F"], "recursive", False),
    (["block", "put", "--pin", "F"], "pin", True),
    (["dag", "put", "--pin=true", "F"], "pin", True),
])
def test_every_boolean_flag_leaves_the_path_alone(argv, attr, value):
    parser = build_parser()
    args, extras = parser.parse_known_args(normalize_bool_flags(argv))
    assert getattr(args, attr) is value
    found = list(getattr(args, "paths", None) or getattr(args, "files", None) or getattr(args, "cids", None)
                 or []) + extras
    assert found == ["F"]


def test_add_progress_then_file_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JZFS_PATH", str(tmp_path / "r"))
    assert main(["init"]) == 0
    f = tmp_path / "f.txt"
    f.write_bytes(b"hello\n")
    capsys.readouterr()
    assert main(["--offline", "add", "--progress", str(f)]) == 0
    assert capsys.readouterr().out == "added bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am f.txt\n"
    assert main(["--offline", "add", "--pin", "--raw-leaves", "-Q", str(f)]) == 0
    assert capsys.readouterr().out.strip() == "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"
    assert main(["--offline", "add", "--pin=false", "-q", str(f)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["--offline", "add", "--pin=nope", str(f)])
    assert exc.value.code == 2
    assert "expected true or false" in capsys.readouterr().err


def test_esc_as_kubo_escnonprint():
    from jiaozi_node.cli.common import esc

    assert esc("plain name.txt") == "plain name.txt"
    assert esc("héllo 世界") == "héllo 世界"  # printable non-ASCII stays
    assert esc("a\x1b[31mred\x07") == "a\\x1b[31mred\\a"
    assert esc("two\nlines\r\t") == "two\\nlines\\r\\t"
    assert esc("back\\slash") == "back\\\\slash"
    assert esc("rtl\u202eexe.txt") == "rtl\\u202eexe.txt"
    assert esc("nbsp\u00a0x\x7f") == "nbsp\\u00a0x\\x7f"
    assert esc("bad" + b"\xff".decode("utf-8", "surrogateescape")) == "bad\\xff"
    assert esc("tab\tkept\x1b", keep="\t") == "tab\tkept\\x1b"
    assert esc(r"C:\dir", keep="\\") == r"C:\dir"
