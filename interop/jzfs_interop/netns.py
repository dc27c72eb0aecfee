"""Loopback-only network namespaces for the interop suite.

The whole interop run (pytest process, Kubo worker, Helia node, any ``jzfs daemon`` subprocess)
lives in ONE network namespace that holds only ``lo``. Nothing can leave it, and every process in
it reaches every other one on 127.0.0.1.

Two ways in, both ending in the same state:

* ``enter_loopback_ns()``: the calling process itself moves into a fresh namespace with
  ``unshare(CLONE_NEWNET)`` (root), or ``unshare(CLONE_NEWUSER | CLONE_NEWNET)`` (unprivileged
  user namespaces), then brings ``lo`` up with an ioctl. Must be called while the process is
  single-threaded (namespaces are per thread; threads started later inherit it). This is what
  ``interop/conftest.py`` does at import time, so plain ``pytest interop`` is confined.
* ``interop/run.sh``: ``unshare -n`` + ``ip link set lo up`` + ``exec`` the given command.

When neither is permitted, ``ensure_confined()`` prints a loud warning and carries on (the peers'
own configs are still confined and asserted), unless ``JZFS_INTEROP_REQUIRE_NETNS=1``.
``JZFS_INTEROP_NO_NETNS=1`` skips the attempt (to exercise that fallback).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import socket
import struct
import sys
import threading
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFF_LOOPBACK = 0x8

ENV_REQUIRE = "JZFS_INTEROP_REQUIRE_NETNS"
ENV_DISABLE = "JZFS_INTEROP_NO_NETNS"  # "1": do not even try (exercise the fallback)
ENV_MARK = "JZFS_INTEROP_NETNS"  # set to "loopback-only" once confined; inherited by children


class NetnsError(RuntimeError):
    """Could not enter or verify a loopback-only network namespace."""


@dataclass(frozen=True)
class Confinement:
    """How this process is confined. ``netns`` False means: configs only (fallback)."""

    netns: bool
    how: str


def interfaces() -> list[str]:
    """Interface names of the CURRENT network namespace (not /sys, which shows the mounter's)."""
    return [name for _idx, name in socket.if_nameindex()]


def _ifflags(name: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh", name.encode(), 0)
        res = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req)
        return struct.unpack("16sh", res[:18])[1]


def bring_lo_up() -> None:
    """``ip link set lo up`` without needing the ``ip`` binary."""
    flags = _ifflags("lo")
    if flags & IFF_UP:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh", b"lo", flags | IFF_UP)
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, req)


def loopback_works() -> bool:
    """True when a TCP connection to 127.0.0.1 succeeds in this namespace."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            with socket.create_connection(srv.getsockname(), timeout=2):
                pass
        return True
    except OSError:
        return False


def is_loopback_only() -> bool:
    """True when this process's network namespace has only ``lo``, and it is up and working."""
    names = interfaces()
    if names != ["lo"]:
        return False
    return bool(_ifflags("lo") & IFF_UP) and loopback_works()


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _write(path: str, data: str) -> None:
    with open(path, "w") as f:
        f.write(data)


def enter_loopback_ns() -> str:
    """Move this process into a new network namespace with only ``lo`` (up).

    Returns how it was done. Raises NetnsError when not permitted. Safe to call twice
    (does nothing if already loopback-only).
    """
    if is_loopback_only():
        os.environ[ENV_MARK] = "loopback-only"
        return "already loopback-only"
    if os.environ.get(ENV_DISABLE) == "1":
        raise NetnsError(f"{ENV_DISABLE}=1 is set")
    n = _thread_count()
    if n != 1:
        raise NetnsError(
            f"process has {n} threads; unshare(CLONE_NEWNET) would move only the calling one. "
            "Call enter_loopback_ns() before starting threads, or use interop/run.sh"
        )
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    how = "unshare(CLONE_NEWNET)"
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EPERM, errno.EINVAL, errno.ENOSPC, errno.EACCES):
            raise NetnsError(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}")
        # Unprivileged: a user namespace in which we are root owns the new network namespace.
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            err2 = ctypes.get_errno()
            raise NetnsError(
                f"unshare(CLONE_NEWNET) failed ({os.strerror(err)}) and "
                f"unshare(CLONE_NEWUSER|CLONE_NEWNET) failed ({os.strerror(err2)})"
            )
        try:
            _write("/proc/self/setgroups", "deny")
        except OSError:
            pass
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
        how = "unshare(CLONE_NEWUSER|CLONE_NEWNET)"
    try:
        bring_lo_up()
    except OSError as e:
        raise NetnsError(f"entered a new netns but could not bring lo up: {e}") from e
    if not is_loopback_only():
        raise NetnsError(f"after {how}: interfaces {interfaces()}, loopback not usable")
    os.environ[ENV_MARK] = "loopback-only"
    return how


_state: Confinement | None = None


def ensure_confined(*, stream=sys.stderr) -> Confinement:
    """Make sure this process runs loopback-only, or fall back with a printed warning.

    Idempotent. Honours ``JZFS_INTEROP_REQUIRE_NETNS=1`` (raise instead of falling back).
    """
    global _state
    if _state is not None:
        return _state
    try:
        how = enter_loopback_ns()
        _state = Confinement(True, how)
    except NetnsError as e:
        if os.environ.get(ENV_REQUIRE) == "1":
            raise
        bar = "!" * 78
        print(
            f"\n{bar}\nWARNING: jzfs interop: NOT running in a loopback-only network namespace:\n"
            f"  {e}\n"
            "  Falling back to confined peer configs only (loopback listen addresses, no\n"
            "  bootstrap, no mDNS, no routing, loopback-only connection gater). To get the\n"
            "  namespace, run as root or with unprivileged user namespaces enabled, or use\n"
            f"  interop/run.sh. Set {ENV_REQUIRE}=1 to make this an error.\n{bar}\n",
            file=stream,
            flush=True,
        )
        _state = Confinement(False, f"fallback: {e}")
    return _state


def run_in_loopback_ns(argv: list[str]) -> list[str]:
    """Argv that runs ``argv`` in a NEW loopback-only namespace (``unshare -n`` + lo up).

    For a process that must NOT share the caller's namespace. Peers meant to talk to each
    other must share one namespace: start them as plain children of a confined process.
    """
    script = 'ip link set lo up && exec "$@"'
    return ["unshare", "-n", "--", "sh", "-c", script, "sh", *argv]


if __name__ == "__main__":  # python interop/jzfs_interop/netns.py: report the current state
    print({"interfaces": interfaces(), "loopback_only": is_loopback_only()})
