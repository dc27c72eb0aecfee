"""cli/leave.py: the one way a command leaves the `jzfs` process without the interpreter's teardown."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from jiaozi_node.cli import leave
from jiaozi_node.cli import main as cli_main
from jiaozi_node.errors import InvalidInput


def _ask(a: argparse.Namespace) -> int:
    leave.leave_after_command()
    sys.stdout.write("x" * 200_000)  # more than one pipe buffer: must still arrive whole
    return 3


def _fail(a: argparse.Namespace) -> int:
    leave.leave_after_command()
    print("partial")
    raise InvalidInput("bad thing")


def _interrupt(a: argparse.Namespace) -> int:
    leave.leave_after_command()
    raise KeyboardInterrupt


def _now(a: argparse.Namespace) -> int:
    print("durable")
    leave.leave_now(0)
    print("closed the ordinary way")
    return 5


def _plain(a: argparse.Namespace) -> int:
    print("plain")
    return 4


def _crash(a: argparse.Namespace) -> int:
    leave.leave_after_command()
    raise RuntimeError("a bug")


HANDLERS = {f.__name__[1:]: f for f in (_ask, _fail, _interrupt, _now, _plain, _crash)}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jzfs")
    p.set_defaults(debug=False, repo_dir=None, api_auth=None)
    sub = p.add_subparsers()
    for name, func in HANDLERS.items():
        sub.add_parser(name).set_defaults(func=func)
    return p


# the program as the console script runs it (`main()`, no argv), with the commands above; an
# atexit hook shows whether the interpreter tore down
DRIVER = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("TEARDOWN"))
sys.path.insert(0, sys.argv.pop(1))
import test_leave
from jiaozi_node.cli import main as m
m.build_parser = lambda command: test_leave._parser()
sys.argv = ["jzfs", *sys.argv[1:]]
sys.exit(m.main())
"""


def _program(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", DRIVER, os.path.dirname(__file__), *argv],
                          capture_output=True, text=True, timeout=120)


def test_the_program_leaves_without_teardown_when_asked_with_whole_output_and_status() -> None:
    ask = _program("ask")
    assert (ask.returncode, ask.stdout, ask.stderr) == (3, "x" * 200_000, "")
    fail = _program("fail")  # the one-line error is printed, flushed, and the status is 1
    assert (fail.returncode, fail.stdout, fail.stderr) == (1, "partial\n", "Error: bad thing\n")
    interrupted = _program("interrupt")
    assert (interrupted.returncode, interrupted.stderr) == (130, "interrupted\n")
    now = _program("now")  # from inside the command: nothing after leave_now runs
    assert (now.returncode, now.stdout, now.stderr) == (0, "durable\n", "")


def test_the_program_ends_the_ordinary_way_unless_asked_or_on_a_traceback() -> None:
    plain = _program("plain")
    assert (plain.returncode, plain.stdout, plain.stderr) == (4, "plain\n", "TEARDOWN")
    crash = _program("crash")
    assert crash.returncode == 1 and "RuntimeError: a bug" in crash.stderr and crash.stderr.endswith("TEARDOWN")


def test_with_py_libp2p_loaded_the_program_leaves_without_teardown(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Its teardown cost 0.3-0.6 s per command: a command that loaded it counts as having asked."""
    prog = ("import atexit, sys, libp2p; atexit.register(lambda: sys.stderr.write('TEARDOWN')); "
            "from jiaozi_node.cli.main import main; sys.argv = ['jzfs'] + sys.argv[1:]; sys.exit(main())")
    env = {**os.environ, "JZFS_PATH": str(tmp_path / "repo")}
    ok = subprocess.run([sys.executable, "-c", prog, "version"], capture_output=True, text=True,
                        env=env, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("jzfs version") and "TEARDOWN" not in ok.stderr
    bad = subprocess.run([sys.executable, "-c", prog, "cid", "format", "notacid"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("Error:") and "TEARDOWN" not in bad.stderr


def test_main_with_argv_never_ends_the_calling_process(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """Tests, notebooks and the Python API call `main(argv)`: asking is recorded, never acted on,
    even with py-libp2p loaded; `leave_now` returns and the command closes the ordinary way."""
    def no_exit(rc: int) -> None:
        raise AssertionError(f"os._exit({rc}) in-process")

    monkeypatch.setattr(leave.os, "_exit", no_exit)
    monkeypatch.setattr(cli_main, "build_parser", lambda command: _parser())
    monkeypatch.setitem(sys.modules, "libp2p", sys.modules.get("libp2p") or argparse)
    assert cli_main.main(["ask"]) == 3 and leave.requested()
    assert cli_main.main(["now"]) == 5
    assert capsys.readouterr().out.endswith("durable\nclosed the ordinary way\n")
    assert not leave.requested()  # each call starts afresh: an earlier request never carries over
    assert cli_main.main(["fail"]) == 1 and cli_main.main(["interrupt"]) == 130
    with pytest.raises(RuntimeError):
        cli_main.main(["crash"])
    leave.leave_now(3)  # outside main: returns


def test_main_without_argv_in_process_resets_after_a_traceback(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`main()` as the program that ends in SystemExit (argparse) or a traceback leaves the state
    as an in-process call expects it."""
    monkeypatch.setattr(cli_main, "build_parser", lambda command: _parser())
    monkeypatch.setattr(sys, "argv", ["jzfs", "crash"])
    with pytest.raises(RuntimeError):
        cli_main.main()
    assert leave._as_program is False
