"""Architecture rules, checked by scanning imports (ast, no execution).

- `jiaozi_node/net/libp2p_host.py` is the only module that imports `libp2p`, apart from the
  fixes to py-libp2p it applies (`net/transport/`).
- Pure cores (ipld, unixfs, car, the bitswap/versioning cores, gateway/http_common, config,
  errors) import neither trio nor libp2p.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jiaozi_node

PKG = Path(jiaozi_node.__file__).resolve().parent
LIBP2P_ALLOWED = {"net/libp2p_host.py"}
PURE = ["ipld/", "unixfs/", "car/", "config.py", "errors.py", "gateway/http_common.py",
        "bitswap/message.py", "ipld/framing.py", "bitswap/wantlist.py", "bitswap/ledger.py",
        "bitswap/engine.py", "bitswap/client.py",
        "versioning/objects.py", "versioning/signing.py", "versioning/diff.py",
        "versioning/merge.py", "net/wire.py"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(PKG).as_posix(), p) for p in sorted(PKG.rglob("*.py"))]


def test_only_the_host_adapter_imports_libp2p():
    offenders = [rel for rel, p in _modules() if "libp2p" in _imports(p)
                 and rel not in LIBP2P_ALLOWED and not rel.startswith("net/transport/")]
    assert offenders == [], f"modules importing libp2p outside net/libp2p_host.py: {offenders}"
    assert "libp2p" in _imports(PKG / "net/libp2p_host.py")


def test_pure_cores_import_no_trio_or_libp2p():
    checked = 0
    offenders = []
    for rel, p in _modules():
        if not any(rel == pat or (pat.endswith("/") and rel.startswith(pat)) for pat in PURE):
            continue
        checked += 1
        bad = _imports(p) & {"trio", "libp2p", "anyio", "socket", "asyncio"}
        if bad:
            offenders.append((rel, sorted(bad)))
    assert checked >= 5  # the scan found the cores (ipld/, config.py, errors.py at least)
    assert offenders == []
