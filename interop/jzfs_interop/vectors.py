"""Deterministic test content and the reference CID vectors (tests/vectors/*.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SEED = b"jzfs-vectors-v1"
VECTORS_DIR = Path(__file__).resolve().parents[2] / "tests" / "vectors"


def content(n: int) -> bytes:
    """The first ``n`` bytes of SHAKE128(b"jzfs-vectors-v1") (every file is a prefix of it)."""
    return hashlib.shake_128(SEED).digest(n)


def write_content(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content(n))
    return path


def kubo_vectors() -> dict:
    return json.loads((VECTORS_DIR / "kubo_vectors.json").read_text())


def cidv1_vectors() -> dict:
    return json.loads((VECTORS_DIR / "cidv1_vectors.json").read_text())


def make_vector_tree(root: Path) -> Path:
    """The ``tree/`` of kubo_vectors.json's generation recipe, under ``root/tree``."""
    t = root / "tree"
    (t / "emptydir").mkdir(parents=True, exist_ok=True)
    (t / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
    (t / "a.txt").write_bytes(b"hello\n")
    (t / "b.bin").write_bytes(content(1000))
    (t / "sub" / "c.txt").write_bytes(b"ipfs\n")
    (t / "sub" / "empty").write_bytes(b"")
    (t / "sub" / "deeper" / "d.bin").write_bytes(content(300000))
    return t
