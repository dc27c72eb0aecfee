"""Where log records go (set once by the CLI: `jzfs --debug`).

py-libp2p logs its own failures (e.g. "Failed to open TCP stream") before raising them, and, as
its logger has no handler, Python's last-resort handler prints them on stderr in front of our
one-line `Error:`. Its records are handed to our logger tree instead (`jiaozi_node.libp2p.*`), and
only with --debug (from WARNING up). Without --debug our own warnings reach stderr as before
(logging.lastResort). py-libp2p resets its logger when it is first imported, so
net/libp2p_host.py calls `route_libp2p_logging()` again right after importing it.
"""

from __future__ import annotations

import logging
import sys

_debug = False


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (tests swap it), like logging.lastResort."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class _ToOurLogger(logging.Handler):
    """Hands py-libp2p's records to our logger tree (`jiaozi_node.libp2p.*`)."""

    def emit(self, record: logging.LogRecord) -> None:
        record.name = f"jiaozi_node.{record.name}"
        logging.getLogger(record.name).handle(record)


_FORWARD = _ToOurLogger()
_DEBUG_HANDLER = _CurrentStderr()
_DEBUG_HANDLER.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))


def configure(debug: bool) -> None:
    """--debug: our DEBUG records and py-libp2p's WARNING+ on stderr; else py-libp2p is silent."""
    global _debug
    _debug = debug
    ours = logging.getLogger("jiaozi_node")
    if debug:
        ours.setLevel(logging.DEBUG)
        if _DEBUG_HANDLER not in ours.handlers:
            ours.addHandler(_DEBUG_HANDLER)
    else:
        ours.setLevel(logging.NOTSET)
        if _DEBUG_HANDLER in ours.handlers:
            ours.removeHandler(_DEBUG_HANDLER)
    route_libp2p_logging()


def route_libp2p_logging() -> None:
    lib = logging.getLogger("libp2p")
    lib.propagate = False
    if _FORWARD not in lib.handlers:
        lib.addHandler(_FORWARD)
    lib.setLevel(logging.WARNING if _debug else logging.CRITICAL + 1)
