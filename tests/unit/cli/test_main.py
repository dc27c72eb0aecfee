"""cli/main.py: every command module is registered; a missing one is an error, not skipped."""

from __future__ import annotations

import pytest

from jiaozi_node.cli import main as cli_main


def test_a_missing_command_module_is_an_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", [*cli_main.COMMAND_MODULES, "jiaozi_node.cli.no_such_cmds"])
    with pytest.raises(ModuleNotFoundError):
        cli_main.build_parser()


def test_every_command_module_registers() -> None:
    sub = next(a for a in cli_main.build_parser()._actions if a.dest == "command")
    assert {"add", "cat", "get", "id", "pin", "clone", "pull", "version", "cid"} <= set(sub.choices)


def _sub(parser):  # type: ignore[no-untyped-def]
    return next(a for a in parser._actions if a.dest == "command")


def test_the_command_table_matches_the_full_parser() -> None:
    """COMMANDS (what `jzfs --help` lists without importing) names every registered command,
    with the module that registers it and the same help line."""
    full = _sub(cli_main.build_parser())
    assert set(full.choices) == set(cli_main.COMMANDS)
    assert {a.dest: a.help for a in full._choices_actions} == {n: h for n, (_m, h) in cli_main.COMMANDS.items()}


def _shape(parser):  # type: ignore[no-untyped-def]
    """Options, defaults (handler included) and subcommands of a parser, recursively."""
    subs = [a for a in parser._actions if a.dest != "help" and a.choices and isinstance(a.choices, dict)]
    return (sorted(tuple(a.option_strings) or (a.dest,) for a in parser._actions),
            {k: getattr(v, "__qualname__", repr(v)) for k, v in parser._defaults.items()},
            {n: _shape(p) for s in subs for n, p in s.choices.items()})


@pytest.mark.parametrize("name", sorted(cli_main.COMMANDS))
def test_a_command_parses_alone_as_in_the_full_parser(name: str) -> None:
    """Only the command's own module (and the modules extending it) are registered, and the
    command comes out exactly as in the full parser."""
    alone = _sub(cli_main.build_parser(name)).choices[name]
    assert _shape(alone) == _shape(_sub(cli_main.build_parser()).choices[name])


def test_command_of_skips_global_options() -> None:
    assert cli_main.command_of(["--repo-dir", "/x", "--offline", "add", "-Q", "f"]) == "add"
    assert cli_main.command_of(["--repo", "/x", "--api-auth=s", "cid", "format"]) == "cid"
    assert cli_main.command_of(["--help"]) is None and cli_main.command_of([]) is None
    assert cli_main.modules_for("commit") == ["jiaozi_node.cli.version_cmds", "jiaozi_node.cli.dataset_name_cmds"]
    assert cli_main.modules_for("nosuch") == [] and cli_main.modules_for(None) == []


def test_help_lists_every_command_and_unknown_ones_are_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        cli_main.main(["--help"])
    out = capsys.readouterr().out
    assert all(f"    {name} " in out for name in cli_main.COMMANDS) and "add files to the node" in out
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["nosuch"])
    assert exc.value.code == 2 and "invalid choice: 'nosuch'" in capsys.readouterr().err
