"""One tree of errors for the whole package.

Errors name the condition. Where a builtin fits, the error subclasses it too (a missing block is a
`KeyError`, a malformed input is a `ValueError`), so callers that only know Python still catch them.
The CLI prints `Error: <message>` for any `JzfsError` and exits non-zero, never a traceback.
"""

from __future__ import annotations


class JzfsError(Exception):
    """Base of every error this package raises on purpose."""


class NotFound(JzfsError, KeyError):
    """A block, path, ref, repo or peer that does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want plain text
        return str(self.args[0]) if self.args else "not found"


class InvalidInput(JzfsError, ValueError):
    """Malformed user or wire input (CID strings, paths, flags)."""


class CodecError(InvalidInput):
    """Bytes that do not decode under the codec they claim (strict, canonical decoding)."""


class HashMismatch(JzfsError, ValueError):
    """Bytes whose hash does not match the CID they were offered or stored under."""


class CorruptBlock(HashMismatch):
    """A block in our own store whose bytes no longer hash to its CID."""


class LimitExceeded(JzfsError, ValueError):
    """An input over one of the limits in `jiaozi_node.config`."""


class ProtocolError(JzfsError):
    """Base for wire protocol errors."""


class RemoteProtocolError(ProtocolError):
    """The remote peer misbehaved (h11's naming)."""


class LocalProtocolError(ProtocolError):
    """We misused a protocol API."""


class NetworkError(JzfsError, ConnectionError):
    """A peer could not be dialed, or a connection/stream to it failed."""


class ProtocolNotSupported(NetworkError):
    """The peer answered "na" to every protocol we proposed (multistream-select)."""


class StreamReset(NetworkError):
    """The remote side (or we) reset a libp2p stream: its data is incomplete."""


class Timeout(JzfsError, TimeoutError):
    """Nobody could provide what we asked for in time."""


class RepoError(JzfsError):
    """A problem with the repository on disk (missing, locked, bad config)."""


class PinnedError(JzfsError):
    """An operation refused because a block is pinned."""


class RefConflict(JzfsError):
    """A compare-and-swap ref update lost the race: the branch moved."""


class MergeConflict(JzfsError):
    """A merge found paths changed differently on both sides."""


class SignatureError(JzfsError):
    """A missing, invalid or untrusted signature."""
