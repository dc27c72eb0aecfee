"""multistream-select 1.0.0, pure (no I/O, no trio): which protocol a connection or stream speaks.

Spec: github.com/multiformats/multistream-select. Each message is a uvarint length, then UTF-8
text ending in "\\n" (the length counts the newline); both sides first send the header
`/multistream/1.0.0`. The dialer proposes one protocol at a time; the listener echoes the one it
takes or answers `na`. `ls` (list protocols) is answered with `na`, which the spec allows.

- `encode_message(text)`: one framed message.
- `MessageDecoder`: incremental, one message at a time on demand (`next_message`), so the bytes a
  peer pipelines right behind the negotiation stay untouched in `rest()`.
- `Initiator(protocols)`: the dialer. Lazy: `initial_bytes()` is the header and the first proposal
  in one write (what go-libp2p's `SelectProtoOrFail` sends); on `na` the next one is proposed.
- `Responder(supported)`: the listener for inbound streams/connections.

Both machines are fed with `receive_data(bytes) -> bytes to send`; once `done`, `protocol` is the
agreed protocol and `rest()` the bytes read past the negotiation. Errors: RemoteProtocolError for
a malformed or over-long message (limit: NetLimits.max_mss_message_bytes),
ProtocolNotSupported when the peer refused every proposal (naming them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from ...config import NET_LIMITS
from ...errors import LocalProtocolError, ProtocolNotSupported, RemoteProtocolError
from ..wire import MSS_LINE, mss_message, mss_text, split_mss_message

PROTOCOL_ID = MSS_LINE[:-1].decode()  # "/multistream/1.0.0"
NA = "na"
LS = "ls"


def encode_message(text: str) -> bytes:
    """uvarint(len) + UTF-8 text + "\\n"."""
    if "\n" in text:
        raise LocalProtocolError(f"multistream-select: {text!r} contains a newline")
    return mss_message(text.encode() + b"\n")


HEADER = encode_message(PROTOCOL_ID)
NA_MESSAGE = encode_message(NA)


class MessageDecoder:
    """Feed bytes, take complete messages one by one; what is not taken stays in `rest()`."""

    def __init__(self, *, max_message_bytes: int = NET_LIMITS.max_mss_message_bytes) -> None:
        self._max = max_message_bytes
        self._buf = b""

    def feed(self, data: bytes) -> None:
        if data:
            self._buf = self._buf + bytes(data) if self._buf else bytes(data)

    def next_message(self) -> str | None:
        """The next complete message's text (newline removed), or None until more bytes come.

        Raises RemoteProtocolError: announced over the limit, no trailing newline, not UTF-8.
        """
        msg, rest = split_mss_message(self._buf, max_bytes=self._max)
        if msg is None:
            return None
        self._buf = rest
        return mss_text(msg)

    def rest(self) -> bytes:
        return self._buf


class _Negotiation(ABC):
    """What both sides share: the decoder, the peer's header check, the chosen protocol."""

    def __init__(self, max_message_bytes: int) -> None:
        self._header_seen = False
        self._decoder = MessageDecoder(max_message_bytes=max_message_bytes)
        self.protocol: str | None = None

    @property
    def done(self) -> bool:
        return self.protocol is not None

    def receive_data(self, data: bytes) -> bytes:
        """Feed what the peer sent; returns the bytes to send now."""
        if self.done:
            raise LocalProtocolError("multistream-select: negotiation already finished")
        self._decoder.feed(data)
        out = b""
        while not self.done:
            text = self._decoder.next_message()
            if text is None:
                break
            if self._header_seen:
                out += self._on_message(text)
            elif text != PROTOCOL_ID:
                raise RemoteProtocolError(f"multistream-select: peer sent {text[:80]!r} "
                                          f"instead of {PROTOCOL_ID}")
            else:
                self._header_seen = True
        return out

    @abstractmethod
    def _on_message(self, text: str) -> bytes:
        """One message of the peer's after its header; returns our answer (may be b"")."""

    def rest(self) -> bytes:
        """Bytes received past the negotiation (the peer's first data)."""
        return self._decoder.rest()


class Initiator(_Negotiation):
    """The dialer's side: propose `protocols` in order until the peer takes one.

    `receive_data` returns the next proposal after an `na`."""

    def __init__(self, protocols: Sequence[str], *,
                 max_message_bytes: int = NET_LIMITS.max_mss_message_bytes) -> None:
        if isinstance(protocols, str):
            protocols = [protocols]
        if not protocols:
            raise LocalProtocolError("multistream-select: no protocol to propose")
        super().__init__(max_message_bytes)
        self._protocols = list(protocols)
        self._index = 0

    @property
    def proposing(self) -> str:
        return self._protocols[self._index]

    def initial_bytes(self) -> bytes:
        """Header + first proposal, to be sent in one write without waiting for the peer."""
        return HEADER + encode_message(self._protocols[0])

    def _on_message(self, text: str) -> bytes:
        if text == self.proposing:
            self.protocol = text
            return b""
        if text == NA:
            self._index += 1
            if self._index == len(self._protocols):
                raise ProtocolNotSupported("peer does not support " + ", ".join(self._protocols))
            return encode_message(self.proposing)
        raise RemoteProtocolError(f"multistream-select: peer answered {text[:80]!r} "
                                  f"to {self.proposing!r}")


class Responder(_Negotiation):
    """The listener's side: take the first proposal `supported(protocol)` accepts.

    `receive_data` returns our answers (`na`, or the echoed protocol)."""

    def __init__(self, supported: Callable[[str], bool], *,
                 max_message_bytes: int = NET_LIMITS.max_mss_message_bytes) -> None:
        super().__init__(max_message_bytes)
        self._supported = supported

    def initial_bytes(self) -> bytes:
        """Our header: may be sent at once, before the peer's arrives (as go-multistream does)."""
        return HEADER

    def _on_message(self, text: str) -> bytes:
        if text != LS and text != NA and self._supported(text):
            self.protocol = text
            return encode_message(text)
        return NA_MESSAGE
