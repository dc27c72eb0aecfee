"""Leaving the `jzfs` process without the interpreter's teardown: the one way every command does it.

Tearing the interpreter down after the last byte is out costs ~20 ms of CPU per process (a
daemon-served `get` runs two), 20-40 ms with trio loaded, 0.3-0.6 s of wall time with py-libp2p
loaded. A command skips it in one of two ways:

- `leave_after_command()`: `main` leaves once the handler has returned (or failed with the one-line
  error `main` prints, or was interrupted), with that exit status. Used by daemon-routed commands
  (`cli/daemon_bridge.py`, get/cat, `swarm connect`), `get`/`cat --peer`, clone/pull/fetch/push.
  A command that loaded py-libp2p (the daemon, a command that took the node online in this
  process) is treated as having asked.
- `leave_now(rc)`: leave at once, from inside the command, before it closes what it no longer
  needs to (`add`: the node's close would checkpoint SQLite, several fsyncs).

Invariant, for every caller: when a command asks, everything it writes (files, blocks, pins, refs,
config) is already closed, or synced as its store requires, and no thread of its own is still
writing; what is left is only the standard streams and logging, which are flushed here (a closed
pipe, `jzfs cat … | head`, is not an error). The exit status is the command's. An unexpected
exception (a traceback) is never cut short: the interpreter ends the ordinary way.

Only the program leaves early: `main()` with no arguments, as the `jzfs` console script and
`python -m jiaozi_node.cli.main` call it. `main(argv)` with a list, as tests, notebooks and the
Python API call it, never ends the process: the requests are recorded (`requested()`) and ignored,
`leave_now` returns, and the command closes everything the ordinary way.
"""

from __future__ import annotations

import os
import sys

_as_program = False  # main() runs as the `jzfs` process (set only for the length of that call)
_requested = False  # the running command asked to leave once it returns


def leave_after_command() -> None:
    """This command closes (and syncs) what it writes itself: `main` may leave without teardown."""
    global _requested
    _requested = True


def leave_now(rc: int = 0) -> None:
    """Everything this command writes is durable: leave now with status `rc` when run as the
    program; otherwise return, and the caller closes as usual."""
    if _as_program:
        _exit(rc)


def requested() -> bool:
    """Whether the running (or last direct-called) command asked to leave once it returns."""
    return _requested


def begin(as_program: bool) -> None:
    """Called by `main` before each command (a request of an earlier in-process call never carries over)."""
    global _as_program, _requested
    _as_program, _requested = as_program, False


def finish(rc: int) -> int:
    """Called by `main` with the command's status: leaves if run as the program and asked; else
    returns `rc` (and `main` is no longer the program)."""
    global _as_program
    leave, _as_program = _as_program and (_requested or "libp2p" in sys.modules), False
    if leave:
        _exit(rc)
    return rc


def _exit(rc: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`… | head`) is not an error here
            pass
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    os._exit(rc)
