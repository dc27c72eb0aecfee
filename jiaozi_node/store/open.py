"""Open the repo's blockstore with the engine named in config `Datastore.Engine`.

`default` is the pack engine (append-only packs + log-structured index, chosen by measurement, see
docs/blockstore.md): the only one whose writes do not slow down as the store grows to millions of
blocks. `lmdb` (the default before it), `flatfs` (one file per block, like Kubo's) and `sqlite`
are fully working alternatives that pass the same conformance and crash tests. A repo whose
config says `default` but that already holds an LMDB store (made before the pack engine became
the default) keeps using it until `jzfs repo migrate --engine pack` (store/migrate.py) moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import STORE_LIMITS, StoreLimits
from ..errors import InvalidInput
from ..repo import Repo
from .base import Blockstore

BLOCKS_DIR = "blocks"
DEFAULT_ENGINE = "pack"
# What `default` meant before the pack engine: repos that already hold that engine's files keep it.
PREVIOUS_DEFAULT = "lmdb"


# Each engine gets its limits from `limits` (the owner's `Node.defaults.store`); an explicit
# keyword argument wins over the value taken from `limits`.
def _pack(path: Path, *, limits: StoreLimits = STORE_LIMITS, **kw: Any) -> Blockstore:
    from .pack import PackBlockstore

    return PackBlockstore(path, **{"max_batch_bytes": limits.max_batch_bytes, "limits": limits, **kw})


def _lmdb(path: Path, *, limits: StoreLimits = STORE_LIMITS, **kw: Any) -> Blockstore:
    from .lmdb_store import LmdbBlockstore

    return LmdbBlockstore(path, **{"max_map_size": limits.lmdb_map_size,
                                   "initial_map_size": limits.lmdb_initial_map_size,
                                   "max_batch_bytes": limits.max_batch_bytes, "list_chunk": limits.list_chunk,
                                   "small_block_bytes": limits.lmdb_small_block_bytes, **kw})


def _flatfs(path: Path, *, limits: StoreLimits = STORE_LIMITS, **kw: Any) -> Blockstore:
    from .flatfs import FlatfsBlockstore

    return FlatfsBlockstore(path, **kw)  # no size limits of its own (one file per block)


def _sqlite(path: Path, *, limits: StoreLimits = STORE_LIMITS, **kw: Any) -> Blockstore:
    from .sqlite_store import SqliteBlockstore

    return SqliteBlockstore(path, **{"max_batch_bytes": limits.max_batch_bytes,
                                     "busy_timeout_ms": limits.sqlite_busy_timeout_ms, **kw})


ENGINES: dict[str, Callable[..., Blockstore]] = {"pack": _pack, "lmdb": _lmdb, "flatfs": _flatfs,
                                                 "sqlite": _sqlite}


def engine_name(repo: Repo) -> str:
    name = repo.settings.datastore.engine
    if name in (None, "", "default"):
        blocks = repo.path / BLOCKS_DIR
        if (blocks / PREVIOUS_DEFAULT).is_dir() and not (blocks / DEFAULT_ENGINE).is_dir():
            return PREVIOUS_DEFAULT
        return DEFAULT_ENGINE
    if name not in ENGINES:
        raise InvalidInput(f"unknown Datastore.Engine {name!r} (known: default, {', '.join(ENGINES)})")
    return str(name)


def open_blockstore(repo: Repo, **kw: Any) -> Blockstore:
    """The repo's blockstore (verifies every block it reads; see store/keys.py for keying)."""
    return ENGINES[engine_name(repo)](repo.path / BLOCKS_DIR / engine_name(repo), **kw)
