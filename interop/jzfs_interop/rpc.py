"""A JSON-lines request/response client for a peer subprocess (Kubo worker, Helia node).

The parent owns the subprocess: it starts it, talks to it, and ends it (stop command, then
SIGTERM, then SIGKILL, always by its own PID). Replies are matched by ``id``, so several calls
may be in flight from several threads. Calls are blocking; ``peer.aio.<method>(...)`` runs any
method in a worker thread for trio/asyncio tests (so a jzfs node in the same event loop keeps
serving while Kubo or Helia fetches from it).
"""

from __future__ import annotations

import collections
import functools
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


class PeerError(RuntimeError):
    """The peer answered a command with an error."""


class PeerTimeout(TimeoutError):
    """No answer before the deadline."""


class PeerDied(RuntimeError):
    """The peer process exited."""


class _Pending:
    __slots__ = ("event", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: dict | None = None


class JsonLinesProcess:
    """One subprocess speaking the JSON-lines protocol. Not started until ``spawn()``."""

    def __init__(self, argv: list[str], *, name: str, log_path: Path, env: dict | None = None,
                 cwd: str | None = None) -> None:
        self.argv = argv
        self.name = name
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._events: collections.deque[dict] = collections.deque(maxlen=100)
        self._ready = threading.Event()
        self.ready_msg: dict | None = None
        self._reader: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def spawn(self, *, ready_timeout: float = 60.0) -> dict:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=self.env, cwd=self.cwd, start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read_loop, name=f"{self.name}-reader",
                                        daemon=True)
        self._reader.start()
        if not self._ready.wait(ready_timeout):
            self.kill()
            raise PeerTimeout(f"{self.name} not ready after {ready_timeout}s\n{self.log_tail()}")
        if self.ready_msg is None:
            raise PeerDied(f"{self.name} exited before ready\n{self.log_tail()}")
        return self.ready_msg

    def _read_loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                self._events.append({"event": "garbage", "line": raw[:200].decode("latin-1")})
                continue
            if "event" in msg:
                if msg["event"] == "ready":
                    self.ready_msg = msg
                    self._ready.set()
                self._events.append(msg)
                continue
            with self._lock:
                p = self._pending.pop(msg.get("id"), None)
            if p is not None:
                p.reply = msg
                p.event.set()
        # EOF: wake everyone
        self._ready.set()
        with self._lock:
            pending, self._pending = self._pending, {}
        for p in pending.values():
            p.event.set()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""
        return f"--- {self.name} log tail ({self.log_path}) ---\n{data}"

    def call(self, cmd: str, timeout: float = 60.0, /, **args: Any) -> Any:
        """Send ``cmd`` with ``args``; wait ``timeout`` s for the reply (args may hold their own
        ``timeout`` key, which goes to the peer)."""
        if not self.alive:
            raise PeerDied(f"{self.name} is not running\n{self.log_tail()}")
        mid = next(self._ids)
        p = _Pending()
        with self._lock:
            self._pending[mid] = p
        line = json.dumps({"id": mid, "cmd": cmd, **args}) + "\n"
        try:
            with self._write_lock:
                assert self.proc is not None and self.proc.stdin is not None
                self.proc.stdin.write(line.encode())
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            with self._lock:
                self._pending.pop(mid, None)
            raise PeerDied(f"{self.name}: cannot send {cmd}: {e}\n{self.log_tail()}") from e
        if not p.event.wait(timeout):
            with self._lock:
                self._pending.pop(mid, None)
            raise PeerTimeout(f"{self.name}: {cmd} {args!r} got no answer within {timeout}s")
        if p.reply is None:
            raise PeerDied(f"{self.name} died during {cmd}\n{self.log_tail()}")
        if not p.reply.get("ok") and p.reply.get("name") == "TimeoutError":
            raise PeerTimeout(f"{self.name}: {cmd}: {p.reply.get('error')}")
        if not p.reply.get("ok"):
            raise PeerError(f"{self.name}: {cmd} failed: {p.reply.get('name')}: {p.reply.get('error')}")
        return p.reply.get("result")

    def terminate(self, *, stop_cmd: str | None = "stop", grace: float = 10.0) -> None:
        """Ask politely, then SIGTERM, then SIGKILL — only our own child, by PID."""
        if self.proc is None:
            return
        if self.alive and stop_cmd is not None:
            try:
                self.call(stop_cmd, grace)
            except (PeerError, PeerTimeout, PeerDied):
                pass
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_log()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()


class AsyncProxy:
    """``await peer.aio.method(*a, **kw)``: run a blocking method in a worker thread.

    Uses anyio, so it works under trio (pytest-trio) and asyncio. A cancelled await abandons
    the thread (the call keeps its own deadline).
    """

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str):
        fn = getattr(self._target, name)
        if not callable(fn):
            raise AttributeError(name)

        async def run(*args: Any, **kwargs: Any) -> Any:
            import anyio.to_thread

            return await anyio.to_thread.run_sync(
                functools.partial(fn, *args, **kwargs), abandon_on_cancel=True
            )

        run.__name__ = name
        return run


def elapsed(t0: float) -> float:
    return time.monotonic() - t0
