"""The repository on disk: location, config file, identity.

Layout (like Kubo's `$IPFS_PATH`):

    $JZFS_PATH/            default ~/.jzfs
      config               JSON, Kubo-style keys (Identity, Addresses, Peering, Gateway, Import, …)
      blocks/              the blockstore (engine chosen in `Datastore.Engine`)
      pins.db              pins (SQLite)
      refs.db              versioning refs (SQLite) unless `Refs.Database` is a postgres:// URL
      api                  multiaddr of a running daemon's RPC API (removed on shutdown)

Defaults keep everything on loopback: no bootstrap peers, no mDNS, no gateways to fetch from.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config as cfg
from .errors import InvalidInput, RepoError

if TYPE_CHECKING:  # the crypto library loads only when a key is made or used (start-up time)
    from .identity import Identity
    from .user_config import UserConfig


def default_path() -> Path:
    return Path(os.environ.get(cfg.REPO_ENV) or os.path.expanduser(cfg.DEFAULT_REPO_DIR))


def default_config(identity: Identity, *, db: str | None = None,
                   profile: str = cfg.DEFAULT_PROFILE.name) -> dict[str, Any]:
    return {
        "Identity": {"PeerID": identity.peer_id, "PrivKey": identity.to_config()},
        "Addresses": {
            "Swarm": list(cfg.DEFAULT_SWARM_ADDRS),
            "API": cfg.DEFAULT_API_ADDR,
            "Gateway": cfg.DEFAULT_GATEWAY_ADDR,
        },
        # Empty on purpose: no public network unless the user opts in (`jzfs bootstrap add --default`).
        "Bootstrap": [],
        "Discovery": {"MDNS": {"Enabled": False}},
        "Peering": {"Peers": []},
        "Gateway": {"Fetch": [], "FetchFromPeers": True, "ExposeRoutingAPI": True},
        "Import": {"Profile": profile},
        "Datastore": {"Engine": "default"},
        "Refs": {"Database": db or "sqlite"},
        "Remotes": {},
        "Trust": {"Keys": []},
    }


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves either the old or the new content, never a mix."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _split_key(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise InvalidInput(f"invalid config key {key!r}")
    return parts


class Repo:
    """An open repository. Cheap to construct; the blockstore is opened lazily by Node."""

    def __init__(self, path: Path, config: dict[str, Any]) -> None:
        self.path = path
        self.config = config
        self._settings: UserConfig | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def init(cls, path: Path | str | None = None, *, db: str | None = None,
             profile: str | None = None, identity: Identity | None = None) -> Repo:
        """Create a new repository; fails if one exists there already."""
        p = Path(path) if path is not None else default_path()
        if (p / cfg.CONFIG_FILE).exists():
            raise RepoError(f"a jzfs repository already exists at {p}")
        if profile is not None and profile not in cfg.PROFILES:
            raise InvalidInput(f"unknown profile {profile!r} (known: {', '.join(cfg.PROFILES)})")
        if db is not None and not (db == "sqlite" or db.startswith(("postgres://", "postgresql://"))):
            raise InvalidInput("--db takes 'sqlite' or a postgres://user:pass@host:port/db URL")
        p.mkdir(parents=True, exist_ok=True)
        from .identity import Identity

        ident = identity or Identity.generate()
        conf = default_config(ident, db=db, profile=profile or cfg.DEFAULT_PROFILE.name)
        repo = cls(p, conf)
        repo.save()
        return repo

    @classmethod
    def open(cls, path: Path | str | None = None, *, create: bool = True) -> Repo:
        """Open the repository at `path` (default `$JZFS_PATH` or ~/.jzfs).

        With `create=True` a missing repository is initialised with defaults and a note goes to
        stderr, as the issue asks for commands that need a repo.
        """
        p = Path(path) if path is not None else default_path()
        conf_file = p / cfg.CONFIG_FILE
        if not conf_file.exists():
            if not create:
                raise RepoError(f"no jzfs repository at {p} (run `jzfs init`)")
            repo = cls.init(p)
            print(f"initialized a new jzfs repository at {p} (peer ID {repo.peer_id})",
                  file=sys.stderr)
            return repo
        try:
            conf = json.loads(conf_file.read_text())
        except (OSError, ValueError) as exc:
            raise RepoError(f"cannot read {conf_file}: {exc}") from None
        return cls(p, conf)

    def save(self) -> None:
        write_atomic(self.path / cfg.CONFIG_FILE,
                     (json.dumps(self.config, indent=2, sort_keys=False) + "\n").encode())

    # ------------------------------------------------------------------ config

    @property
    def settings(self) -> UserConfig:
        """The config file parsed into typed sections (`user_config.UserConfig`), once; a wrong
        type raises InvalidInput naming the key. Re-parsed after `set_config`."""
        if self._settings is None:
            from .user_config import UserConfig

            self._settings = UserConfig.parse(self.config)
        return self._settings

    def get_config(self, key: str) -> Any:
        """A raw value (the `jzfs config` command); the node itself reads `settings`."""
        node: Any = self.config
        for part in _split_key(key):
            if not isinstance(node, dict) or part not in node:
                raise InvalidInput(f"config key {key!r} has no value")
            node = node[part]
        return copy.deepcopy(node)

    def get_config_default(self, key: str, default: Any) -> Any:
        try:
            return self.get_config(key)
        except InvalidInput:
            return default

    def set_config(self, key: str, value: Any) -> None:
        self.set_configs({key: value})

    def set_configs(self, values: dict[str, Any]) -> None:
        """Set several keys with one (atomic, synced) write of the config file."""
        for key, value in values.items():
            parts = _split_key(key)
            node: Any = self.config
            for part in parts[:-1]:
                nxt = node.get(part)
                if nxt is None:
                    nxt = node[part] = {}
                if not isinstance(nxt, dict):
                    raise InvalidInput(f"config key {key!r}: {part!r} is not a map")
                node = nxt
            node[parts[-1]] = value
        self._settings = None
        self.save()

    # ------------------------------------------------------------------ identity

    @property
    def identity(self) -> Identity:
        from .identity import Identity

        return Identity.from_config(self.config["Identity"]["PrivKey"])

    @property
    def peer_id(self) -> str:
        return str(self.config["Identity"]["PeerID"])

    @property
    def api_file(self) -> Path:
        return self.path / "api"
