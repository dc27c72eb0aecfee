"""The libp2p Noise handshake and transport framing, pure (no I/O, no trio, no libp2p).

Spec: github.com/libp2p/specs/blob/master/noise/README.md. `Noise_XX_25519_ChaChaPoly_SHA256`
(the `noise` package, `noiseprotocol` on PyPI, does the Noise state machine); every message on
the wire is a 2-byte big-endian length + the Noise message (at most 65,535 bytes, so a transport
message carries at most 65,519 bytes of plaintext)::

    -> e                                    (msg 1, empty payload)
    <- e, ee, s, es, payload(responder)     (msg 2)
    -> s, se, payload(initiator)            (msg 3)

The payload proves who holds the Noise static key::

    message NoiseExtensions { repeated bytes webtransport_certhashes = 1;
                              repeated string stream_muxers = 2; }
    message NoiseHandshakePayload { bytes identity_key = 1; bytes identity_sig = 2;
                                    NoiseExtensions extensions = 4; }

`identity_key` is a libp2p PublicKey protobuf (Ed25519, RSA, secp256k1 or ECDSA; decoded and
checked by `ipns.crypto`), `identity_sig` its signature over
`"noise-libp2p-static-key:" + noise static public key`. The peer ID is derived from that key and,
when the dialer knows whom it dialed (`/p2p/` of the address), must match it.

Early muxer negotiation (specs connections/inlined-muxer-negotiation.md): each side lists its
muxers in `stream_muxers`; when both did, the muxer is the first of the initiator's list the
responder also lists, and neither side runs multistream-select for the muxer (`muxer` in the
result; None means "negotiate it with multistream-select as usual"). Without overlap we fall
back to multistream-select, which then fails with a clear "not supported".

- `NoiseHandshake(identity, initiator=...)`: h11-style: `initial_bytes()`, then
  `receive_data(bytes) -> bytes to send` until `done`; `result()`.
- `NoiseTransport`: after the handshake, `decrypt(data)` decrypts every complete message of a
  large read, `encrypt(chunks)` makes one buffer of Noise messages, one per chunk.
- `open_frames`/`seal_frames`: those two loops, shared with `net/transport/noise_io.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import base58
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from noise.connection import Keypair, NoiseConnection
from noise.exceptions import NoiseInvalidMessage

from ...errors import (
    InvalidInput,
    LocalProtocolError,
    NetworkError,
    RemoteProtocolError,
    SignatureError,
)
from ...ipld import varint
from ...ipns.crypto import PublicKey

PROTOCOL_ID = "/noise"
NOISE_PROTOCOL_NAME = b"Noise_XX_25519_ChaChaPoly_SHA256"
SIGNATURE_PREFIX = b"noise-libp2p-static-key:"
MAX_NOISE_MESSAGE = 65535  # noise spec: a message fits a 2-byte length
NOISE_MAX_PLAINTEXT = 65535 - 16  # minus the ChaChaPoly tag (go-libp2p MaxPlaintextLength)


# ------------------------------------------------------------------------- transport framing


def open_frames(buf: bytes | memoryview,
                decrypt: Callable[[bytes | memoryview], bytes]) -> tuple[list[bytes], int]:
    """Decrypt every complete length-prefixed Noise message in `buf`.

    Returns (plaintexts, bytes consumed); a partial message at the end stays for the next read.
    """
    pos = 0
    end = len(buf)
    plain: list[bytes] = []
    while end - pos >= 2:
        n = (buf[pos] << 8) | buf[pos + 1]
        if end - pos - 2 < n:
            break
        plain.append(decrypt(buf[pos + 2 : pos + 2 + n]))
        pos += 2 + n
    return plain, pos


def seal_frames(chunks: Sequence[bytes], encrypt: Callable[[bytes], bytes]) -> bytes:
    """One buffer of length-prefixed Noise messages, one per chunk (each <= 65,519 bytes)."""
    out = []
    for c in chunks:
        if len(c) > NOISE_MAX_PLAINTEXT:
            raise LocalProtocolError(f"noise: a {len(c)}-byte chunk is over {NOISE_MAX_PLAINTEXT}")
        ct = encrypt(c)
        out.append(len(ct).to_bytes(2, "big"))
        out.append(ct)
    return b"".join(out)


def _remote_decrypt(state: NoiseConnection) -> Callable[[bytes | memoryview], bytes]:
    # NoiseConnection.decrypt insists on `bytes`; its cipher state (cryptography's
    # ChaCha20Poly1305) takes a memoryview, so a message is decrypted straight from the socket
    # read it lies in. Its nonce advances only on success, as NoiseConnection's does.
    decrypt_ = partial(state.noise_protocol.cipher_state_decrypt.decrypt_with_ad, None)

    def decrypt(ct: bytes | memoryview) -> bytes:
        try:
            return decrypt_(ct)
        except (InvalidTag, NoiseInvalidMessage):
            raise RemoteProtocolError("noise: a message failed authentication") from None
    return decrypt


class NoiseTransport:
    """The transport phase: plaintext in and out, whole Noise messages only."""

    def __init__(self, state: NoiseConnection, buffered: bytes = b"") -> None:
        self._decrypt = _remote_decrypt(state)
        self._encrypt = state.encrypt
        self._buf = buffered

    @property
    def buffered(self) -> int:
        """Ciphertext bytes of an incomplete message held back."""
        return len(self._buf)

    def decrypt(self, data: bytes = b"") -> bytes:
        """Add received bytes; return the plaintext of every message now complete (maybe b"")."""
        plain = self.decrypt_messages(data)
        return plain[0] if len(plain) == 1 else b"".join(plain)

    def decrypt_messages(self, data: bytes = b"") -> list[bytes]:
        """Add received bytes; the plaintext of each message now complete, one per message.

        Messages are decrypted from views of `data` (no copy of the ciphertext); only a message
        split across reads is joined, and only the incomplete tail (< one message) is kept.
        Before, every read was appended to the previous tail and its messages joined: two
        copies of everything received.
        """
        if type(data) is not bytes:  # trio's memory streams hand out bytearrays
            data = bytes(data)
        plain: list[bytes] = []
        start = 0
        tail = self._buf
        if tail:
            if len(tail) + len(data) < 2:
                self._buf = tail + data
                return plain
            head = tail[:2] if len(tail) >= 2 else tail + data[: 2 - len(tail)]
            need = 2 + ((head[0] << 8) | head[1])
            if len(tail) + len(data) < need:
                self._buf = tail + data
                return plain
            start = need - len(tail)
            plain.append(self._decrypt(memoryview(tail + data[:start])[2:]))
        more, used = open_frames(memoryview(data)[start:], self._decrypt)
        plain.extend(more)
        self._buf = data[start + used:] if start + used < len(data) else b""
        return plain

    def encrypt(self, chunks: Sequence[bytes]) -> bytes:
        return seal_frames(chunks, self._encrypt)


# ------------------------------------------------------------------------- handshake payload


@dataclass
class HandshakePayload:
    identity_key: bytes = b""
    identity_sig: bytes = b""
    webtransport_certhashes: list[bytes] = field(default_factory=list)
    stream_muxers: list[str] = field(default_factory=list)


def _len_field(no: int, value: bytes) -> bytes:
    return varint.encode(no << 3 | 2) + varint.encode(len(value)) + value


def encode_payload(p: HandshakePayload) -> bytes:
    ext = b"".join([_len_field(1, h) for h in p.webtransport_certhashes]
                   + [_len_field(2, m.encode()) for m in p.stream_muxers])
    out = _len_field(1, p.identity_key) + _len_field(2, p.identity_sig)
    return out + _len_field(4, ext) if ext else out


def _fields(buf: bytes, what: str) -> list[tuple[int, bytes]]:
    """(field number, bytes) of every length-delimited field; other wire types are skipped."""
    out: list[tuple[int, bytes]] = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = varint.decode_protobuf(buf, pos, end, error=RemoteProtocolError, what=what)
        wire = key & 7
        if wire == 0:
            _, pos = varint.decode_protobuf(buf, pos, end, error=RemoteProtocolError, what=what)
        elif wire == 2:
            n, pos = varint.decode_protobuf(buf, pos, end, error=RemoteProtocolError, what=what)
            if n > end - pos:
                raise RemoteProtocolError(f"{what}: field runs past the end")
            out.append((key >> 3, buf[pos : pos + n]))
            pos += n
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise RemoteProtocolError(f"{what}: field runs past the end")
        else:
            raise RemoteProtocolError(f"{what}: unexpected protobuf wire type {wire}")
    return out


def decode_payload(raw: bytes) -> HandshakePayload:
    """Strict, bounded (by the 64 KiB Noise message) decoding; raises RemoteProtocolError."""
    p = HandshakePayload()
    for no, value in _fields(raw, "noise payload"):
        if no == 1:
            p.identity_key = value
        elif no == 2:
            p.identity_sig = value
        elif no == 4:
            for eno, evalue in _fields(value, "noise extensions"):
                if eno == 1:
                    p.webtransport_certhashes.append(evalue)
                elif eno == 2:
                    try:
                        p.stream_muxers.append(evalue.decode())
                    except UnicodeDecodeError:
                        raise RemoteProtocolError("noise extensions: muxer is not UTF-8") from None
    if not p.identity_key or not p.identity_sig:
        raise RemoteProtocolError("noise payload lacks the identity key or its signature")
    return p


# ------------------------------------------------------------------------- identities


def _local_key(identity: Any) -> tuple[bytes, Callable[[bytes], bytes]]:
    """(public key protobuf, sign) of `identity.Identity` or an `ipns.crypto.PrivateKey`."""
    pb = getattr(identity, "public_key_protobuf", None)
    if pb is None:
        pb = identity.public_key.protobuf
    return pb, identity.sign


def peer_id_of(key: PublicKey) -> str:
    return base58.b58encode(key.peer_id_multihash()).decode()


def peer_id_multihash(text: str) -> bytes:
    """The multihash of a peer ID string (base58btc, or a CIDv1 libp2p-key); InvalidInput."""
    if text[:1] in ("1", "Q"):
        try:
            return base58.b58decode(text)
        except ValueError:
            raise InvalidInput(f"invalid peer ID {text!r}") from None
    from ...routing.http.records import parse_peer_id  # rare: CID form (multibase, slower import)

    return parse_peer_id(text)


def verify_payload(payload: HandshakePayload, remote_static: bytes,
                   expected_peer_id: str | None) -> tuple[PublicKey, str]:
    """Check the remote's identity: its key, its signature over its Noise static key, its peer
    ID against the one we dialed. Returns (public key, peer ID)."""
    try:
        key = PublicKey.from_protobuf(payload.identity_key)
    except InvalidInput as exc:
        raise RemoteProtocolError(f"noise: remote identity key refused: {exc}") from None
    try:
        key.verify(payload.identity_sig, SIGNATURE_PREFIX + remote_static)
    except SignatureError:
        raise RemoteProtocolError(f"noise: remote's signature over its static key is invalid "
                                  f"({key.type_name} key)") from None
    peer_id = peer_id_of(key)
    if expected_peer_id is not None and key.peer_id_multihash() != peer_id_multihash(expected_peer_id):
        raise NetworkError(f"peer ID mismatch: dialed {expected_peer_id}, the remote is {peer_id}")
    return key, peer_id


# ------------------------------------------------------------------------- handshake


@dataclass
class HandshakeResult:
    remote_peer_id: str
    remote_public_key: PublicKey
    muxer: str | None  # agreed in the handshake (early negotiation), else None
    transport: NoiseTransport


class NoiseHandshake:
    """One side of the XX handshake, fed bytes, returning bytes to send.

    Args:
        identity: our libp2p identity (`identity.Identity` or `ipns.crypto.PrivateKey`).
        initiator: True for the dialer.
        expected_peer_id: the peer ID we dialed (initiator); None accepts any authenticated peer.
        muxers: stream muxers we offer for early negotiation (empty: none).
        static_key: our 32-byte X25519 Noise static key (default: a fresh one).
    """

    def __init__(self, identity: Any, *, initiator: bool, expected_peer_id: str | None = None,
                 muxers: Sequence[str] = (), static_key: bytes | None = None) -> None:
        if static_key is None:
            static_key = X25519PrivateKey.generate().private_bytes_raw()
        self._identity_pb, self._sign = _local_key(identity)
        self._initiator = initiator
        self._expected = expected_peer_id
        self._muxers = list(muxers)
        state = NoiseConnection.from_name(NOISE_PROTOCOL_NAME)
        state.set_keypair_from_private_bytes(Keypair.STATIC, static_key)
        if initiator:
            state.set_as_initiator()
        else:
            state.set_as_responder()
        state.start_handshake()
        self._state = state
        self._hs = state.noise_protocol.handshake_state  # kept: noise drops it once finished
        self._static_public = X25519PrivateKey.from_private_bytes(static_key).public_key() \
            .public_bytes_raw()
        self._buf = b""
        self._step = 0  # messages processed (sent or received)
        self._result: HandshakeResult | None = None

    @property
    def done(self) -> bool:
        return self._result is not None

    def result(self) -> HandshakeResult:
        if self._result is None:
            raise LocalProtocolError("noise: handshake not finished")
        return self._result

    def initial_bytes(self) -> bytes:
        """Message 1 for the initiator (send it at once); b"" for the responder."""
        if not self._initiator or self._step:
            return b""
        self._step = 1
        return self._frame(self._state.write_message(b""))

    def receive_data(self, data: bytes) -> bytes:
        """Feed received bytes; returns what to send now (possibly b"")."""
        if self.done:
            raise LocalProtocolError("noise: handshake already finished")
        self._buf += bytes(data)
        out = b""
        while not self.done and len(self._buf) >= 2:
            n = (self._buf[0] << 8) | self._buf[1]
            if len(self._buf) < 2 + n:
                break
            msg, self._buf = self._buf[2 : 2 + n], self._buf[2 + n :]
            out += self._on_message(msg)
        return out

    def _frame(self, msg: bytes) -> bytes:
        if len(msg) > MAX_NOISE_MESSAGE:
            raise LocalProtocolError(f"noise: handshake message of {len(msg)} bytes")
        return len(msg).to_bytes(2, "big") + bytes(msg)

    def _read(self, msg: bytes) -> bytes:
        try:
            return bytes(self._state.read_message(msg))
        except (InvalidTag, ValueError, IndexError) as exc:
            raise RemoteProtocolError(f"noise: bad handshake message {self._step}: "
                                      f"{type(exc).__name__} {exc}".rstrip()) from None
        except Exception as exc:  # the noise package's own errors (NoiseValueError, ...)
            if type(exc).__module__.startswith("noise."):
                raise RemoteProtocolError(f"noise: bad handshake message {self._step}: "
                                          f"{exc}") from None
            raise

    def _our_payload(self) -> bytes:
        sig = self._sign(SIGNATURE_PREFIX + self._static_public)
        return encode_payload(HandshakePayload(identity_key=self._identity_pb, identity_sig=sig,
                                               stream_muxers=self._muxers))

    def _on_message(self, msg: bytes) -> bytes:
        self._step += 1
        if self._initiator:
            if self._step != 2:  # initial_bytes() not sent
                raise LocalProtocolError("noise: initiator must send message 1 first")
            payload = decode_payload(self._read(msg))
            key, peer_id = verify_payload(payload, self._hs.rs.public_bytes, self._expected)
            muxer = _agree(self._muxers, payload.stream_muxers)
            self._step = 3
            out = self._frame(self._state.write_message(self._our_payload()))
            self._finish(key, peer_id, muxer)
            return out
        if self._step == 1:
            self._read(msg)  # msg 1: e (any payload ignored: it would be unauthenticated)
            self._step = 2
            return self._frame(self._state.write_message(self._our_payload()))
        payload = decode_payload(self._read(msg))
        key, peer_id = verify_payload(payload, self._hs.rs.public_bytes, self._expected)
        self._finish(key, peer_id, _agree(payload.stream_muxers, self._muxers))
        return b""

    def _finish(self, key: PublicKey, peer_id: str, muxer: str | None) -> None:
        if not self._state.handshake_finished:  # pragma: no cover - XX ends after 3 messages
            raise LocalProtocolError("noise: handshake not finished after message 3")
        transport = NoiseTransport(self._state, self._buf)
        self._buf = b""
        self._result = HandshakeResult(peer_id, key, muxer, transport)


def _agree(initiator_muxers: Sequence[str], responder_muxers: Sequence[str]) -> str | None:
    """The first of the initiator's muxers the responder lists too (both lists non-empty)."""
    theirs = set(responder_muxers)
    return next((m for m in initiator_muxers if m in theirs), None)
