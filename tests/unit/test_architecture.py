"""Architecture: every pure protocol core stays pure through everything it imports.

The per-package purity tests look at a core's own import lines; this one follows the imports
TRANSITIVELY through jiaozi_node (static, from the source: module-level and function-level imports,
package `__init__`s included, `if TYPE_CHECKING:` blocks left out), so a core that imports a
helper that imports sqlite3 fails here. Pure means: no event loop, network, database, subprocess
or HTTP library anywhere below it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

import jiaozi_node

ROOT = Path(jiaozi_node.__file__).parent

PURE_CORES = (
    [f"jiaozi_node.ipld.{m}" for m in ("block", "cid", "codecs", "dagcbor", "dagjson", "dagpb", "multihash", "varint",
                                          "framing", "depth")]
    + [f"jiaozi_node.unixfs.{m}" for m in ("chunker", "buzhash", "rabin", "directory", "exporter", "exporter_data",
                                           "exporter_hamt", "hamt", "importer", "layout_balanced", "layout_trickle",
                                           "nodes", "pb", "resolve", "tree", "walk", "tar", "tree_plan", "listing")]
    + [f"jiaozi_node.car.{m}" for m in ("reader", "writer", "traverse")]
    + [f"jiaozi_node.bitswap.{m}" for m in ("message", "wantlist", "ledger", "engine", "client")]
    + [f"jiaozi_node.versioning.{m}" for m in ("objects", "signing", "diff", "merge", "history", "tree", "verify",
                                               "sync_core", "revspec", "rowdiff")]
    + ["jiaozi_node.gateway.http_common", "jiaozi_node.gateway.content", "jiaozi_node.api.tree_stream"]
    + [f"jiaozi_node.ipns.{m}" for m in ("crypto", "name", "record", "validator", "dnslink", "dataset",
                                         "inspect")]
    + [f"jiaozi_node.routing.http.{m}" for m in ("records", "filters", "paths", "maddr")]
    + [f"jiaozi_node.routing.dht.{m}" for m in ("message", "keys", "table", "lookup", "providers",
                                                "records", "server", "sweep")]
    + [f"jiaozi_node.net.lite.{m}" for m in ("multistream", "noise")]
)
# Top-level packages no pure core may reach, directly or through another jiaozi_node module.
FORBIDDEN = {"trio", "libp2p", "socket", "sqlite3", "psycopg", "lmdb", "asyncio", "anyio", "httpx", "httpcore",
             "hypercorn", "h11", "subprocess", "multiaddr", "threading"}


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    for p in (ROOT / rel / "__init__.py", (ROOT / rel).with_suffix(".py")):
        if p.is_file():
            return p
    return None


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):  # type: ignore[no-untyped-def]
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST):  # type: ignore[no-untyped-def]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


@cache
def _direct(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """(jiaozi_node modules, external top-level packages) that module `name` imports."""
    path = _module_file(name)
    assert path is not None, name
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    inner: set[str] = set()
    outer: set[str] = set()
    for node in _imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            mod = ".".join(base + ([node.module] if node.module else []))
            # `from . import x` / `from .pkg import sub`: x may be a submodule
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            targets = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        for t in targets:
            if t.split(".")[0] == "jiaozi_node":
                if _module_file(t) is not None:
                    inner.add(t)
            elif t and not (isinstance(node, ast.ImportFrom) and t != (node.module or "")):
                outer.add(t.split(".")[0])
    # importing a module runs its packages' __init__ first
    parts = name.split(".")
    for i in range(1, len(parts)):
        inner.add(".".join(parts[:i]))
    inner.discard(name)
    return frozenset(inner), frozenset(outer)


def _closure(name: str) -> dict[str, list[str]]:
    """Every external package reachable from `name`, with one import chain that reaches it."""
    chains: dict[str, list[str]] = {name: [name]}
    todo = [name]
    found: dict[str, list[str]] = {}
    while todo:
        mod = todo.pop()
        inner, outer = _direct(mod)
        for ext in outer:
            found.setdefault(ext, chains[mod])
        for m in inner:
            if m not in chains:
                chains[m] = chains[mod] + [m]
                todo.append(m)
    return found


@pytest.mark.parametrize("core", PURE_CORES)
def test_pure_core_reaches_no_io(core: str) -> None:
    bad = {ext: " -> ".join(chain) for ext, chain in _closure(core).items() if ext in FORBIDDEN}
    assert not bad, f"{core} reaches {sorted(bad)}: " + "; ".join(f"{k} via {v}" for k, v in bad.items())


def test_the_walker_sees_transitive_imports() -> None:
    """The test itself can fail: a module that imports sqlite3 two levels down is found."""
    assert "sqlite3" in _closure("jiaozi_node.store.refs")
    assert "trio" in _closure("jiaozi_node.node.retrieval")


def test_only_the_daemon_and_cli_reach_the_web_ui() -> None:
    """The web UI sits on top: no core (versioning, unixfs, node, ipld, ...) imports from it
    (`versioning.rowdiff` once took its dag-pb reader from `webui.listing`)."""
    allowed = {"jiaozi_node.api.server", "jiaozi_node.api.access", "jiaozi_node.cli.main",
               "jiaozi_node.cli.webui_cmd", "jiaozi_node.config", "jiaozi_node.user_config"}
    bad = []
    for path in ROOT.rglob("*.py"):
        name = "jiaozi_node." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        if name.startswith("jiaozi_node.webui") or name in allowed:
            continue
        bad += [f"{name} -> {m}" for m in _direct(name)[0] if m.startswith("jiaozi_node.webui")]
    assert not bad, bad


def test_one_directory_lister() -> None:
    """Issue 13: `jzfs ls`/RPC `ls` (unixfs.exporter.list_dir), the tree walk and the web UI list
    directories with one implementation, unixfs.listing; nothing else parses dag-pb links lean."""
    from jiaozi_node.unixfs import exporter, listing
    from jiaozi_node.webui import stream, tree

    assert exporter.dir_entries is listing.dir_entries and tree.dir_entries is listing.dir_entries
    assert tree.pb_links is listing.pb_links and stream.pb_links is listing.pb_links
    defs = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
            if "def pb_links(" in p.read_text() or "def dir_entries(" in p.read_text()]
    assert defs == ["unixfs/listing.py"], defs
