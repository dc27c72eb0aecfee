"""Helia's Delegated Routing V1 server and client (``interop/helia/delegated_routing.mjs``),
driven over JSON lines.

    with HeliaRouting() as h:
        url = h.serve()                                    # Helia's /routing/v1 on 127.0.0.1
        h.call("add_provider", cid=str(cid), peer=pid, addrs=["/ip4/127.0.0.1/tcp/1"])
        recs = h.call("client_providers", url=our_url, cid=str(cid))["records"]

The process has no libp2p at all (a Helia built with createHeliaLight and an in-memory router),
so it opens no sockets except the HTTP server it binds on 127.0.0.1 and the HTTP requests the
client makes to the URLs it is given (loopback ones in the tests).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .helia import HELIA_DIR, node_available
from .rpc import JsonLinesProcess

SCRIPT = HELIA_DIR / "delegated_routing.mjs"


class HeliaRouting:
    def __init__(self, *, node: str = "node") -> None:
        self.node = node
        self._tmp = tempfile.TemporaryDirectory(prefix="jzfs-helia-routing-")
        self._proc: JsonLinesProcess | None = None
        self.url: str | None = None

    def start(self, *, timeout: float = 60.0) -> HeliaRouting:
        ok, why = node_available()
        if not ok:
            raise RuntimeError(why)
        env = dict(os.environ)
        env.pop("DEBUG", None)
        self._proc = JsonLinesProcess([self.node, str(SCRIPT)], name="helia-routing",
                                      log_path=Path(self._tmp.name) / "helia-routing.log",
                                      env=env, cwd=str(HELIA_DIR))
        self._proc.spawn(ready_timeout=timeout)
        return self

    def call(self, cmd: str, timeout: float = 60.0, /, **args: Any) -> Any:
        if self._proc is None:
            raise RuntimeError("helia routing process not started")
        return self._proc.call(cmd, timeout, **args)

    def serve(self) -> str:
        self.url = self.call("serve")["url"]
        assert self.url is not None and self.url.startswith("http://127.0.0.1:"), self.url
        return self.url

    def log_tail(self) -> str:
        return self._proc.log_tail() if self._proc is not None else ""

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate(grace=15.0)
            self._proc = None
        self._tmp.cleanup()

    def __enter__(self) -> HeliaRouting:
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
