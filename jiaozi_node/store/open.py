"""Open the repo's blockstore with the engine named in config `Datastore.Engine`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..repo import Repo
from .base import Blockstore

BLOCKS_DIR = "blocks"
DEFAULT_ENGINE = "flatfs"


def _flatfs(path: Path, **kw: Any) -> Blockstore:
    from .flatfs import FlatfsBlockstore

    return FlatfsBlockstore(path, **kw)


ENGINES: dict[str, Callable[..., Blockstore]] = {
    "flatfs": _flatfs,
}


def engine_name(repo: Repo) -> str:
    name = repo.get_config_default("Datastore.Engine", "default")
    if name in (None, "", "default"):
        return DEFAULT_ENGINE
    if name not in ENGINES:
        raise InvalidInput(f"unknown Datastore.Engine {name!r} (known: default, {', '.join(ENGINES)})")
    return str(name)


def open_blockstore(repo: Repo, **kw: Any) -> Blockstore:
    """The repo's blockstore (verifies every block it reads; see store/keys.py for keying)."""
    return ENGINES[engine_name(repo)](repo.path / BLOCKS_DIR, **kw)
