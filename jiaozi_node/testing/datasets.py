"""A small versioned dataset for web UI tests and demos: two branches, a merge, a CSV change, a
directory of many files (HAMT-sharded at 10 000), images, Markdown, and hostile strings in every
place a user controls (file names, commit messages, CSV cells, provenance) — see `XSS`.

    info = build_demo(node, tmp_path, many_files=10_000)
    info["commits"]["merge"], info["repo"], ...
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

# Each sets window.__xss if it ever runs; pages must show them as text.
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_ATTR = '"><img src=x onerror="window.__xss=2">'
XSS_URL = "javascript:window.__xss=3"
XSS = (XSS_SCRIPT, XSS_ATTR, XSS_URL)

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def _csv(rows: list[list[str]]) -> str:
    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if any(x in c for x in ',"\n') else c

    return "".join(",".join(q(c) for c in r) + "\n" for r in rows)


def _rows(n: int) -> list[list[str]]:
    cities = ["Oslo", "Lima", "Pune", "Kyiv", "Doha"]
    rows = [["id", "city", "temp", "date"]]
    rows += [[str(i), cities[i % 5], f"{(i * 7) % 40 - 5}.{i % 10}", f"2026-01-{1 + i % 28:02d}"] for i in range(n)]
    rows.append(["999", XSS_SCRIPT, "1.0", XSS_ATTR])
    return rows


def _write(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)


def build_demo(node: Any, work: Path, *, repo: str = "weather", many_files: int = 200,
               now: int = 1_780_000_000) -> dict[str, Any]:
    from ..versioning.objects import Input, Provenance

    vs = node.versioning
    vs.create_repo(repo, now=now)
    d = Path(work) / "data"
    rows = _rows(300)
    _write(d, {
        "data.csv": _csv(rows),
        "data.tsv": "a\tb\n1\t2\n",
        "README.md": f"# Weather\n\nSee [docs](https://example.org/) and [x]({XSS_URL}).\n\n{XSS_SCRIPT}\n",
        "notes.txt": f"first notes {XSS_SCRIPT}\n",
        "config.json": '{"b": [1, 2], "a": "' + XSS_SCRIPT.replace('"', '\\"') + '"}',
        "pic.png": PNG,
        f"{XSS_ATTR}.txt": "hostile name\n",
        "sub/inner.txt": "inner\n",
    })
    many = d / "many"
    many.mkdir()
    for i in range(many_files):
        fd = os.open(many / f"f{i:05d}.txt", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, f"{i}\n".encode())
        os.close(fd)
    c1 = vs.commit(repo, d, branch="main", message="first import\n\nwith many files", now=now).cid
    vs.branch_create(repo, "dev", from_ref="main")
    rows2 = [list(r) for r in rows]
    rows2[11][2] = "42.0"  # id 10 changes temperature
    rows2.insert(50, ["1000", "Nuuk", "-12.5", "2026-02-01"])
    (d / "data.csv").write_text(_csv(rows2))
    prov = Provenance((Input(ref=f"{repo}@main"), Input(cid=c1), Input(ref=XSS_URL)),
                      f"python clean.py {XSS_SCRIPT}", tuple(sorted({"threshold": "0.5", "note": XSS_ATTR,
                                                                     "url": XSS_URL}.items())))
    c2 = vs.commit(repo, d, branch="dev", message=f"fix temperature {XSS_SCRIPT} {XSS_ATTR}",
                   now=now + 60, provenance=prov).cid
    # main moves on separately: notes change
    _restore = rows
    (d / "data.csv").write_text(_csv(_restore))
    (d / "notes.txt").write_text("second notes\nmore\n")
    c3 = vs.commit(repo, d, branch="main", message="update notes", now=now + 120).cid
    merge = vs.merge(repo, "dev", into="main", message="Merge dev into main", now=now + 180)
    vs.tag_create(repo, "v1", ref="main", message="release one", now=now + 200)
    return {"repo": repo, "commits": {"first": c1, "dev": c2, "notes": c3, "merge": merge.head},
            "rows": rows, "rows2": rows2, "many_files": many_files}
