"""The project stands alone: no file refers to the machine it was built on (absolute paths into
the build workspace, its virtualenv) or to documents that are not in this repository."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIRS = ("jiaozi_node", "bench", "interop", "tests", "docs", ".ci")
SUFFIXES = {".py", ".md", ".sh", ".toml", ".js", ".mjs", ".ts", ".txt", ".cfg", ".ini", ".yml", ".yaml", ""}
# Built from parts so this file does not match itself.
FORBIDDEN = ("/" + "work/", "../" + "shared", "INTEROP" + ".md")


def _files() -> list[Path]:
    out = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for d in DIRS:
        for p in (ROOT / d).rglob("*"):
            if "node_modules" in p.parts or "__pycache__" in p.parts or not p.is_file():
                continue
            if p.suffix in SUFFIXES and p.stat().st_size < 2_000_000:
                out.append(p)
    return out


def test_no_references_outside_the_repository() -> None:
    hits = []
    for p in _files():
        text = p.read_text(errors="replace")
        for bad in FORBIDDEN:
            if bad in text:
                line = text[:text.index(bad)].count("\n") + 1
                hits.append(f"{p.relative_to(ROOT)}:{line}: {bad}")
    assert not hits, "\n".join(hits)
