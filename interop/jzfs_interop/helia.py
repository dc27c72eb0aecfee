"""Real Helia 7 (Node.js) as a confined peer: ``interop/helia/node.mjs`` driven over JSON lines.

    with HeliaPeer() as helia:                           # online: TCP on 127.0.0.1 only
        cid = helia.add_file(path, KUBO_V0)              # Kubo-compatible CIDs
        helia.dial(kubo.multiaddr)
        helia.cat(cid_from_kubo, dest, timeout=30)

    with HeliaPeer(offline=True) as h:                   # no libp2p at all: CIDs, CARs
        h.add_file(path, HELIA_DEFAULT, only_hash=True)

Import options (every key optional; what is left out takes Helia's defaults = HELIA_DEFAULT):
``cidVersion`` 0|1, ``rawLeaves`` bool, ``chunker`` "fixed"|"rabin" (importer 17 has no
buzhash), ``chunkSize``, rabin ``minChunkSize``/``avgChunkSize``/``maxChunkSize``/``window``,
``layout`` "balanced"|"trickle"|"flat", ``maxChildren``, ``layerRepeat`` (trickle),
``reduceSingleLeafToSelf``, ``leafType`` "file"|"raw", ``wrapWithDirectory``,
``shardSplitThresholdBytes`` (HAMT threshold, default 262144), ``shardSplitStrategy``
"links-bytes"|"block-bytes", ``shardFanoutBits``, ``profile`` "unixfs-v0-2015"|"unixfs-v1-2025".
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from . import netns
from .rpc import AsyncProxy, JsonLinesProcess, PeerError, PeerTimeout

HELIA_DIR = Path(__file__).resolve().parent.parent / "helia"
NODE_SCRIPT = HELIA_DIR / "node.mjs"

#: Kubo's ``ipfs add`` defaults (profile unixfs-v0-2015): what Kubo's AddFile produces.
KUBO_V0: dict[str, Any] = {"cidVersion": 0, "rawLeaves": False, "chunker": "fixed",
                           "chunkSize": 262144, "layout": "balanced", "maxChildren": 174}
#: ``ipfs add --cid-version=1``: CIDv1 + raw leaves, otherwise Kubo's defaults.
KUBO_V1: dict[str, Any] = {**KUBO_V0, "cidVersion": 1, "rawLeaves": True}
#: Helia 7 / @helia/unixfs 8 defaults (IPIP-499 unixfs-v1-2025).
HELIA_DEFAULT: dict[str, Any] = {"cidVersion": 1, "rawLeaves": True, "chunker": "fixed",
                                 "chunkSize": 1048576, "layout": "balanced", "maxChildren": 1024}


def node_available() -> tuple[bool, str]:
    """(True, "") when node + installed node_modules are present, else (False, why)."""
    node = shutil.which("node")
    if node is None:
        return False, "node (Node.js >= 20) is not on PATH"
    try:
        v = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        major = int(v.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        return False, f"cannot run node --version: {e}"
    if major < 20:
        return False, f"Node.js {v.strip()} is too old (need >= 20)"
    if not (HELIA_DIR / "node_modules" / "helia").is_dir():
        return False, f"{HELIA_DIR}/node_modules missing: run interop/setup.sh (npm ci)"
    return True, ""


class HeliaPeer:
    """One Helia node in a Node.js subprocess. Owns the subprocess and its temp dir.

    Args:
        offline: no libp2p at all (import/export only). Online nodes listen on 127.0.0.1 only.
        port: TCP port on 127.0.0.1 (0 = any).
        blockstore: "memory" (default) or "fs" (blockstore-fs under the temp dir / ``dir``).
        dht: opt-in @libp2p/kad-dht: True (``/ipfs/kad/1.0.0``, server mode) or a dict
            ``{"protocol": "/ipfs/lan/kad/1.0.0", "clientMode": False}``.
        allow_no_netns: start online even outside a loopback-only namespace.
    """

    def __init__(self, *, offline: bool = False, port: int = 0, blockstore: str = "memory",
                 dir: str | Path | None = None, allow_no_netns: bool = False,
                 node: str = "node", dht: dict | bool | None = None) -> None:
        self.offline = offline
        # Opt-in DHT (@libp2p/kad-dht): True or {"protocol": ..., "clientMode": bool}
        self.dht = ({} if dht is True else dht) or None
        self.port = port
        self.blockstore = blockstore
        self._tmp = tempfile.TemporaryDirectory(prefix="jzfs-helia-")
        self.dir = Path(dir) if dir is not None else Path(self._tmp.name)
        self.allow_no_netns = allow_no_netns
        self.node = node
        self.peer_id: str = ""
        self.multiaddrs: list[str] = []
        self.protocols: list[str] = []
        self.startup_s: float | None = None
        self.aio = AsyncProxy(self)
        self._proc: JsonLinesProcess | None = None

    def start(self, *, timeout: float = 60.0) -> HeliaPeer:
        if not self.offline and not netns.is_loopback_only() and not self.allow_no_netns:
            raise RuntimeError(
                "refusing to start an online Helia outside a loopback-only network namespace; "
                "run under interop/conftest.py or interop/run.sh, or pass allow_no_netns=True"
            )
        ok, why = node_available()
        if not ok:
            raise RuntimeError(why)
        t0 = time.monotonic()
        cfg: dict[str, Any] = {"offline": self.offline,
                               "listen": [f"/ip4/127.0.0.1/tcp/{self.port}"],
                               "blockstore": self.blockstore}
        if self.blockstore == "fs":
            cfg["dir"] = str(self.dir / "blocks")
        if self.dht is not None:
            cfg["dht"] = self.dht
        import json

        env = dict(os.environ)
        env.pop("DEBUG", None)  # libp2p debug logs would be huge
        self._proc = JsonLinesProcess([self.node, str(NODE_SCRIPT), json.dumps(cfg)],
                                      name="helia", log_path=self.dir / "helia.log", env=env,
                                      cwd=str(HELIA_DIR))
        ready = self._proc.spawn(ready_timeout=timeout)
        if not self.offline:
            self.peer_id = ready["peer_id"]
            self.multiaddrs = ready["multiaddrs"]
            self.protocols = ready["protocols"]
            bad = [a for a in self.multiaddrs if not a.startswith("/ip4/127.")]
            if bad:
                self._proc.kill()
                raise AssertionError(f"Helia listens on non-loopback addresses {bad}")
        self.startup_s = time.monotonic() - t0
        self.node_startup_s = ready.get("startup_ms", 0) / 1000
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate(grace=15.0)
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> HeliaPeer:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.proc.pid if self._proc and self._proc.proc else None

    def _call(self, cmd: str, deadline: float, /, **args: Any) -> Any:
        if self._proc is None:
            raise RuntimeError("Helia peer not started")
        return self._proc.call(cmd, deadline, **args)

    @property
    def multiaddr(self) -> str:
        """First listen multiaddr, already ending in ``/p2p/<peer id>``."""
        return self.multiaddrs[0]

    # -- import / export ---------------------------------------------------------------------
    def add_file(self, path: str | Path, options: dict | None = None, *,
                 only_hash: bool = False, timeout: float = 600) -> str:
        """Import one file; its root CID. ``only_hash``: into a throw-away blockstore."""
        return self.add_file_entries(path, options, only_hash=only_hash, timeout=timeout)["cid"]

    def add_file_entries(self, path: str | Path, options: dict | None = None, *,
                         only_hash: bool = False, timeout: float = 600) -> dict:
        """Like add_file, returning ``{"cid", "entries": [{"path", "cid", "size"}]}``."""
        return self._call("add_file", timeout, path=str(Path(path).resolve()),
                          options=options or {}, only_hash=only_hash)

    def add_bytes(self, data: bytes, options: dict | None = None, *, only_hash: bool = False,
                  timeout: float = 120) -> str:
        return self._call("add_bytes", timeout, data_b64=base64.b64encode(data).decode(),
                          options=options or {}, only_hash=only_hash)["cid"]

    def add_dir(self, path: str | Path, options: dict | None = None, *, only_hash: bool = False,
                timeout: float = 600) -> dict:
        """Import a directory tree like ``ipfs add -r`` (hidden files kept, empty dirs kept).

        Returns ``{"cid": root, "entries": [{"path", "cid", "size"}, ...]}``; the root entry's
        path is the directory's name (with ``wrapWithDirectory`` the last entry is the wrapper).
        """
        return self._call("add_dir", timeout, path=str(Path(path).resolve()),
                          options=options or {}, only_hash=only_hash)

    def export_car(self, cid: str | list[str], dest: str | Path, *, timeout: float = 120) -> int:
        """Write a CARv1 of the DAG(s) under ``cid`` to ``dest``; its size in bytes."""
        return self._call("export_car", timeout, cid=cid, dest=str(Path(dest).resolve()))["size"]

    def import_car(self, path: str | Path, *, timeout: float = 120) -> list[str]:
        """Store every block of a CAR file; the CAR's roots."""
        return self._call("import_car", timeout, path=str(Path(path).resolve()))["roots"]

    # -- retrieval ---------------------------------------------------------------------------
    def cat(self, cid: str, dest: str | Path | None = None, *, timeout: float = 60,
            offset: int | None = None, length: int | None = None) -> bytes | int:
        """Read a UnixFS file (from the blockstore or from connected peers via Bitswap).

        With ``dest``: writes there and returns the size; without: returns the bytes.
        """
        args: dict[str, Any] = {"cid": cid, "timeout": timeout}
        if offset is not None:
            args["offset"] = offset
        if length is not None:
            args["length"] = length
        if dest is not None:
            return self._call("cat", timeout + 10, dest=str(Path(dest).resolve()), **args)["size"]
        return base64.b64decode(self._call("cat", timeout + 10, **args)["data_b64"])

    def get(self, cid: str, dest: str | Path, *, timeout: float = 60) -> int:
        """Export a file or directory tree to ``dest``; number of files written."""
        return self._call("get", timeout + 10, cid=cid, dest=str(Path(dest).resolve()),
                          timeout=timeout)["files"]

    def stat(self, cid: str, *, timeout: float = 30) -> dict:
        return self._call("stat", timeout + 10, cid=cid, timeout=timeout)

    def has(self, cid: str) -> bool:
        return self._call("has", 30, cid=cid)["has"]

    def get_block(self, cid: str, *, timeout: float = 30) -> bytes:
        return base64.b64decode(self._call("get_block", timeout + 10, cid=cid,
                                           timeout=timeout)["data_b64"])

    # -- network -----------------------------------------------------------------------------
    def dial(self, multiaddr: str, *, timeout: float = 30) -> str:
        """Connect to a peer; its peer ID."""
        return self._call("dial", timeout + 10, addr=multiaddr, timeout=timeout)["peer_id"]

    connect = dial

    def ping(self, multiaddr: str, *, timeout: float = 30) -> float:
        return self._call("ping", timeout + 10, addr=multiaddr, timeout=timeout)["rtt_ms"]

    def hangup(self, multiaddr: str) -> None:
        self._call("hangup", 30, addr=multiaddr)

    def peers(self) -> list[dict]:
        """Open connections: ``[{"peer_id", "addr"}]``."""
        return self._call("peers", 30)["peers"]

    list_peers = peers

    def identify(self) -> dict:
        return self._call("id", 30)

    # -- DHT (started with dht=...) -----------------------------------------------------------
    def provide(self, cid: str, *, timeout: float = 30) -> None:
        """Announce ``cid`` through libp2p content routing (the DHT)."""
        self._call("provide", timeout + 10, cid=cid, timeout=timeout)

    def find_providers(self, cid: str, *, limit: int = 1, timeout: float = 30) -> list[dict]:
        """``[{"peer_id", "multiaddrs", "ms"}]``: the first ``limit`` providers found."""
        return self._call("find_providers", timeout + 10, cid=cid, limit=limit,
                          timeout=timeout)["providers"]

    def find_peer(self, peer_id: str, *, timeout: float = 30) -> dict:
        return self._call("find_peer", timeout + 10, peer_id=peer_id, timeout=timeout)

    def dht_put(self, key: bytes, value: bytes, *, timeout: float = 30) -> None:
        """libp2p content routing PUT (the DHT validates with npm ``ipns`` for /ipns/ keys)."""
        self._call("dht_put", timeout + 10, key_b64=base64.b64encode(key).decode(),
                   value_b64=base64.b64encode(value).decode(), timeout=timeout)

    def dht_get(self, key: bytes, *, timeout: float = 30) -> bytes:
        """libp2p content routing GET: the best valid record Helia's DHT finds."""
        return base64.b64decode(self._call("dht_get", timeout + 10, timeout=timeout,
                                           key_b64=base64.b64encode(key).decode())["value_b64"])

    def dht_info(self) -> dict:
        """``{"mode", "routing_table_size"}``."""
        return self._call("dht_info", 30)


__all__ = ["HELIA_DEFAULT", "KUBO_V0", "KUBO_V1", "HeliaPeer", "PeerError", "PeerTimeout",
           "node_available"]
