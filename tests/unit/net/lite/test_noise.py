"""jiaozi_node.net.lite.noise: the pure libp2p Noise handshake, both ends ours, plus forged peers."""

from __future__ import annotations

import os
from dataclasses import dataclass

import base58
import pytest

from jiaozi_node.errors import LocalProtocolError, NetworkError, RemoteProtocolError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID, LIBP2P_KEY
from jiaozi_node.ipns.crypto import ED25519, PrivateKey, encode_key_protobuf
from jiaozi_node.net.lite.noise import (
    NOISE_MAX_PLAINTEXT,
    SIGNATURE_PREFIX,
    HandshakePayload,
    NoiseHandshake,
    decode_payload,
    encode_payload,
)

YAMUX = "/yamux/1.0.0"


def run(ini: NoiseHandshake, res: NoiseHandshake, *, chop: int = 0) -> None:
    """Shuttle bytes between two handshakes until both are done (`chop`: deliver in pieces)."""
    to_res, to_ini = ini.initial_bytes(), res.initial_bytes()
    for _ in range(10):
        if ini.done and res.done:
            return
        if to_res and not res.done:
            pieces = [to_res[i:i + chop] for i in range(0, len(to_res), chop)] if chop else [to_res]
            to_ini += b"".join(res.receive_data(p) for p in pieces if not res.done)
        to_res = b""
        if to_ini and not ini.done:
            to_res = ini.receive_data(to_ini)
        to_ini = b""
    raise AssertionError("handshake did not finish")


@pytest.mark.parametrize("key_type", ["ed25519", "rsa", "secp256k1", "ecdsa"])
def test_handshake_authenticates_every_key_type(key_type: str) -> None:
    me = Identity.generate()
    them = PrivateKey.generate(key_type)
    them_id = base58.b58encode(them.public_key.peer_id_multihash()).decode()
    ini = NoiseHandshake(me, initiator=True, expected_peer_id=them_id, muxers=[YAMUX])
    res = NoiseHandshake(them, initiator=False, muxers=[YAMUX])
    run(ini, res, chop=7)
    a, b = ini.result(), res.result()
    assert a.remote_peer_id == them_id and a.remote_public_key == them.public_key
    assert b.remote_peer_id == me.peer_id
    assert a.muxer == b.muxer == YAMUX
    # transport: both directions, several messages per read, messages split across reads
    wire = a.transport.encrypt([b"hello", b"x" * NOISE_MAX_PLAINTEXT, b""])
    assert b.transport.decrypt(wire[:3]) == b""
    assert b.transport.decrypt(wire[3:30000]) == b"hello"
    assert b.transport.decrypt(wire[30000:]) == b"x" * NOISE_MAX_PLAINTEXT
    assert a.transport.decrypt(b.transport.encrypt([b"back"])) == b"back"


def test_transport_messages_at_every_cut_point() -> None:
    """decrypt_messages: one plaintext per message, whatever the socket reads' boundaries (a
    message split in its length header, in its body, several per read, empty ones); a tampered
    byte anywhere is refused."""
    ini = NoiseHandshake(Identity.generate(), initiator=True)
    res = NoiseHandshake(Identity.generate(), initiator=False)
    run(ini, res)
    msgs = [b"a", b"", b"y" * 300, b"z" * 70, b"q"]
    for cut in range(1, 40):
        a, b = ini.result().transport, res.result().transport
        wire = a.encrypt(msgs)
        got: list[bytes] = []
        for i in range(0, len(wire), cut):
            got.extend(b.decrypt_messages(bytearray(wire[i: i + cut])))
        assert got == msgs and b.buffered == 0
    for pos in (0, 1, 2, 10):
        wire = bytearray(ini.result().transport.encrypt([b"tamper me"]))
        wire[pos] ^= 1
        with pytest.raises((RemoteProtocolError, NetworkError)):
            res.result().transport.decrypt_messages(bytes(wire))
            raise NetworkError("held back")  # a corrupted length: an incomplete message


def test_expected_peer_id_in_cid_form_is_accepted() -> None:
    them = Identity.generate()
    mh = base58.b58decode(them.peer_id)
    ini = NoiseHandshake(Identity.generate(), initiator=True,
                         expected_peer_id=CID(1, LIBP2P_KEY, mh).encode("base36"))
    run(ini, NoiseHandshake(them, initiator=False))
    assert ini.result().remote_peer_id == them.peer_id


def test_wrong_peer_at_the_address_is_refused() -> None:
    dialed = Identity.generate().peer_id
    ini = NoiseHandshake(Identity.generate(), initiator=True, expected_peer_id=dialed)
    res = NoiseHandshake(Identity.generate(), initiator=False)
    with pytest.raises(NetworkError, match="peer ID mismatch: dialed " + dialed):
        run(ini, res)
    assert not res.done  # we never sent message 3


@pytest.mark.parametrize("ours, theirs, agreed", [
    ([YAMUX], [YAMUX], YAMUX),
    ([YAMUX], [], None),  # the peer does not do early negotiation: multistream-select follows
    ([], [YAMUX], None),
    (["/mplex/6.7.0"], [YAMUX], None),
    ([YAMUX, "/mplex/6.7.0"], ["/mplex/6.7.0", YAMUX], YAMUX),  # the initiator's order decides
])
def test_early_muxer_negotiation(ours: list[str], theirs: list[str], agreed: str | None) -> None:
    ini = NoiseHandshake(Identity.generate(), initiator=True, muxers=ours)
    res = NoiseHandshake(Identity.generate(), initiator=False, muxers=theirs)
    run(ini, res)
    assert ini.result().muxer == res.result().muxer == agreed


@dataclass
class Forger:
    """An identity that lies: a chosen key protobuf and/or a signature over something else."""

    real: PrivateKey
    key_pb: bytes | None = None
    sign_other: bool = False

    @property
    def public_key_protobuf(self) -> bytes:
        return self.key_pb if self.key_pb is not None else self.real.public_key.protobuf

    def sign(self, msg: bytes) -> bytes:
        return self.real.sign(SIGNATURE_PREFIX + os.urandom(32) if self.sign_other else msg)


@pytest.mark.parametrize("forger, match", [
    (Forger(PrivateKey.generate("ed25519"), sign_other=True), "signature"),  # replayed signature
    # the key announced is not the one that signs
    (Forger(PrivateKey.generate("ed25519"),
            key_pb=PrivateKey.generate("ed25519").public_key.protobuf), "signature"),
    # key type mismatch: an RSA key labelled Ed25519, an Ed25519 signature labelled secp256k1
    (Forger(PrivateKey.generate("rsa"),
            key_pb=encode_key_protobuf(ED25519, PrivateKey.generate("rsa").public_key.data)),
     "identity key refused"),
    (Forger(PrivateKey.generate("ed25519"),
            key_pb=encode_key_protobuf(2, PrivateKey.generate("secp256k1").public_key.data)),
     "signature"),
    (Forger(PrivateKey.generate("ed25519"), key_pb=b"\x08\x07\x12\x01x"), "identity key refused"),
])
@pytest.mark.parametrize("forger_is_initiator", [False, True])
def test_forged_identities_are_refused(forger: Forger, match: str, forger_is_initiator: bool) -> None:
    honest = Identity.generate()
    if forger_is_initiator:
        ini, res = NoiseHandshake(forger, initiator=True), NoiseHandshake(honest, initiator=False)
    else:
        ini, res = NoiseHandshake(honest, initiator=True), NoiseHandshake(forger, initiator=False)
    with pytest.raises(RemoteProtocolError, match=match):
        run(ini, res)


@pytest.mark.parametrize("garbage", [b"", b"\x00" * 10, os.urandom(200), os.urandom(65535)])
def test_garbage_handshake_messages_are_refused(garbage: bytes) -> None:
    ini = NoiseHandshake(Identity.generate(), initiator=True)
    ini.initial_bytes()
    with pytest.raises(RemoteProtocolError, match="bad handshake message 2"):
        ini.receive_data(len(garbage).to_bytes(2, "big") + garbage)
    res = NoiseHandshake(Identity.generate(), initiator=False)
    res.receive_data(NoiseHandshake(Identity.generate(), initiator=True).initial_bytes())
    with pytest.raises(RemoteProtocolError, match="bad handshake message 3"):
        res.receive_data(len(garbage).to_bytes(2, "big") + garbage)


def test_truncated_handshake_frame_waits_for_more() -> None:
    ini = NoiseHandshake(Identity.generate(), initiator=True)
    res = NoiseHandshake(Identity.generate(), initiator=False)
    msg2 = res.receive_data(ini.initial_bytes())
    assert ini.receive_data(msg2[:-1]) == b"" and not ini.done
    assert ini.receive_data(msg2[-1:]) != b""
    assert ini.done


def test_tampered_transport_message_is_refused() -> None:
    ini = NoiseHandshake(Identity.generate(), initiator=True)
    res = NoiseHandshake(Identity.generate(), initiator=False)
    run(ini, res)
    wire = bytearray(ini.result().transport.encrypt([b"data"]))
    wire[5] ^= 1
    with pytest.raises(RemoteProtocolError, match="authentication"):
        res.result().transport.decrypt(bytes(wire))
    with pytest.raises(RemoteProtocolError):  # a message shorter than the tag
        NoiseHandshakeRun().transport.decrypt(b"\x00\x03abc")


def NoiseHandshakeRun():  # noqa: N802 - tiny helper: a finished responder's result
    ini = NoiseHandshake(Identity.generate(), initiator=True)
    res = NoiseHandshake(Identity.generate(), initiator=False)
    run(ini, res)
    return res.result()


def test_oversized_chunk_is_a_local_error() -> None:
    t = NoiseHandshakeRun().transport
    with pytest.raises(LocalProtocolError):
        t.encrypt([b"x" * (NOISE_MAX_PLAINTEXT + 1)])


def test_transport_data_pipelined_behind_message_3_is_kept() -> None:
    ini = NoiseHandshake(Identity.generate(), initiator=True)
    res = NoiseHandshake(Identity.generate(), initiator=False)
    msg2 = res.receive_data(ini.initial_bytes())
    msg3 = ini.receive_data(msg2)
    early = ini.result().transport.encrypt([b"first data"])
    assert res.receive_data(msg3 + early) == b""
    assert res.result().transport.buffered == len(early)
    assert res.result().transport.decrypt() == b"first data"


def test_api_misuse_is_a_local_error() -> None:
    ini = NoiseHandshake(Identity.generate(), initiator=True)
    with pytest.raises(LocalProtocolError):
        ini.result()
    with pytest.raises(LocalProtocolError):  # message 1 never sent
        ini.receive_data(b"\x00\x01x")


def test_payload_codec_round_trip_and_cross_check_with_py_libp2p() -> None:
    from libp2p.security.noise.pb import noise_pb2

    p = HandshakePayload(b"key", b"sig", [b"h1", b"h2"], [YAMUX, "/mplex/6.7.0"])
    raw = encode_payload(p)
    assert decode_payload(raw) == p
    theirs = noise_pb2.NoiseHandshakePayload()
    theirs.ParseFromString(raw)
    assert (theirs.identity_key, theirs.identity_sig) == (b"key", b"sig")
    assert list(theirs.extensions.stream_muxers) == [YAMUX, "/mplex/6.7.0"]
    assert list(theirs.extensions.webtransport_certhashes) == [b"h1", b"h2"]
    # the legacy early-data field 3, a varint and a fixed64 field: skipped as protobuf requires
    assert decode_payload(raw + b"\x1a\x02ed" + b"\x28\x96\x01" + b"\x31" + bytes(8)) == p


@pytest.mark.parametrize("raw, match", [
    (b"\x0a\x05ab", "past the end"),
    (b"\x0a", "truncated"),
    (b"\x0b", "wire type"),
    (b"\x0a\x01k", "lacks"),
    (b"\x0a\x01k\x12\x01s\x22\x03\x12\x01\xff", "UTF-8"),
    (b"\x0a\x01k\x12\x01s\x22\x02\x12\x05", "past the end"),
    (b"\x0a\x01k\x12\x01s\x0d\x00\x00", "past the end"),
])
def test_garbage_payloads_are_refused(raw: bytes, match: str) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        decode_payload(raw)
