"""The API package is the server side (plus its HTTP client): no CLI code in it, and the node
layer does not shape Kubo's JSON (that is the API's job)."""

from __future__ import annotations

import ast
from pathlib import Path

import jiaozi_node

ROOT = Path(jiaozi_node.__file__).parent


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.ImportFrom):
            out.add("." * n.level + (n.module or ""))
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
    return out


def test_api_never_imports_the_cli_nor_prints():
    bad = []
    for path in sorted((ROOT / "api").glob("*.py")):
        mods = _imports(path)
        if any(m in ("..cli", "jiaozi_node.cli") or m.startswith(("..cli.", "jiaozi_node.cli.")) for m in mods):
            bad.append(f"{path.name} imports the CLI")
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
               for n in ast.walk(tree)):
            bad.append(f"{path.name} prints")
    assert bad == []



def test_the_node_layer_builds_no_kubo_json():
    """id/swarm answers are shaped in api/swarm.py, not in node/ (which hands out the host)."""
    keys = ('"AgentVersion"', '"Peers"', '"Strings"', '"PublicKey"', '"Addresses"')
    bad = [f"{p.relative_to(ROOT)}: {k}" for p in sorted((ROOT / "node").glob("*.py"))
           for k in keys if k in p.read_text()]
    assert bad == []
