"""The versioning cores stay pure: no trio, libp2p, sockets, databases or clock in them."""

from __future__ import annotations

import ast
from pathlib import Path

import jiaozi_node.versioning as pkg

PURE = ["objects", "signing", "diff", "merge", "history", "tree", "verify", "sync_core"]
FORBIDDEN = {"trio", "libp2p", "socket", "sqlite3", "psycopg", "time", "datetime", "os", "subprocess"}


def test_pure_cores_import_no_io():
    root = Path(pkg.__file__).parent
    for name in PURE:
        tree = ast.parse((root / f"{name}.py").read_text())
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            for m in mods:
                assert m.split(".")[0] not in FORBIDDEN, f"versioning/{name}.py imports {m}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", f"versioning/{name}.py opens files"
