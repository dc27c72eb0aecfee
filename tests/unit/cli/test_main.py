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
