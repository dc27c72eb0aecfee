"""pyproject.toml declares every third-party package jiaozi_node imports directly, and every
declared runtime dependency is imported somewhere in jiaozi_node (none only through another)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import jiaozi_node

ROOT = Path(jiaozi_node.__file__).parent
PYPROJECT = ROOT.parent / "pyproject.toml"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return {_norm(re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0]) for d in deps}


def _imported_distributions() -> set[str]:
    dist_of = packages_distributions()
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for m in mods:
                top = m.split(".")[0]
                if top in sys.stdlib_module_names or top in ("jiaozi_node", "__future__"):
                    continue
                found.update(_norm(d) for d in dist_of.get(top, [top]))
    return found


def test_direct_imports_are_declared_and_declared_are_imported() -> None:
    declared, imported = _declared(), _imported_distributions()
    optional = {"pyarrow", "selenium", "py-cid"}  # extras, imported only where they are installed
    undeclared = sorted(imported - declared - optional)
    assert not undeclared, f"imported but not declared: {undeclared}"
    assert not (declared - imported), f"declared but never imported: {sorted(declared - imported)}"
