"""jiaozi_node.net.lite.multistream: the pure multistream-select machines, byte-exact."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import LocalProtocolError, ProtocolNotSupported, RemoteProtocolError
from jiaozi_node.net.lite.multistream import (
    HEADER,
    Initiator,
    MessageDecoder,
    Responder,
    encode_message,
)

YAMUX = "/yamux/1.0.0"


def test_encode_message_is_length_text_newline() -> None:
    assert encode_message("/multistream/1.0.0") == b"\x13/multistream/1.0.0\n"
    assert encode_message("na") == b"\x03na\n"
    assert encode_message("/é") == b"\x04/\xc3\xa9\n"  # the length counts UTF-8 bytes
    with pytest.raises(LocalProtocolError):
        encode_message("a\nb")


def test_decoder_returns_messages_one_at_a_time_and_keeps_the_rest() -> None:
    wire = HEADER + encode_message(YAMUX) + b"\x00\x01binary junk"
    for i in range(len(wire)):  # any split
        d = MessageDecoder()
        d.feed(wire[:i])
        got = []
        while len(got) < 2 and (m := d.next_message()) is not None:
            got.append(m)
        d.feed(wire[i:])
        while len(got) < 2 and (m := d.next_message()) is not None:
            got.append(m)
        assert got == ["/multistream/1.0.0", YAMUX]
        assert d.rest() == b"\x00\x01binary junk"


@pytest.mark.parametrize("raw, match", [
    (b"\x03abc", "newline"),
    (b"\x03\xff\xfe\n", "UTF-8"),
    (b"\x00", "newline"),
    (b"\x81\x08" + b"a" * 1025, "limit"),
    (b"\xff\xff\xff", "limit"),  # a prefix already longer than the limit's encoding
])
def test_decoder_refuses_malformed_messages(raw: bytes, match: str) -> None:
    d = MessageDecoder()
    d.feed(raw)
    with pytest.raises(RemoteProtocolError, match=match):
        d.next_message()


def test_decoder_limit_is_configurable() -> None:
    d = MessageDecoder(max_message_bytes=8)
    d.feed(encode_message("/12345678"))
    with pytest.raises(RemoteProtocolError):
        d.next_message()


def test_initiator_lazy_proposal_accepted() -> None:
    ini = Initiator([YAMUX])
    assert ini.initial_bytes() == HEADER + encode_message(YAMUX)
    assert ini.receive_data(HEADER) == b""
    assert not ini.done
    assert ini.receive_data(encode_message(YAMUX) + b"pipelined") == b""
    assert ini.done and ini.protocol == YAMUX
    assert ini.rest() == b"pipelined"
    with pytest.raises(LocalProtocolError):
        ini.receive_data(b"x")


def test_initiator_tries_the_next_on_na_and_names_all_refused() -> None:
    ini = Initiator(["/a", "/b", "/c"])
    assert ini.receive_data(HEADER + encode_message("na")) == encode_message("/b")
    assert ini.receive_data(encode_message("na")) == encode_message("/c")
    with pytest.raises(ProtocolNotSupported, match="/a, /b, /c"):
        ini.receive_data(encode_message("na"))


def test_initiator_accepts_a_later_protocol() -> None:
    ini = Initiator(["/a", "/b"])
    out = ini.receive_data(HEADER + encode_message("na") + encode_message("/b") + b"rest")
    assert out == encode_message("/b") and ini.protocol == "/b" and ini.rest() == b"rest"


@pytest.mark.parametrize("answer, match", [
    (encode_message("/multistream/2.0.0"), "instead of"),
    (HEADER + encode_message("/other"), "answered"),
])
def test_initiator_refuses_wrong_answers(answer: bytes, match: str) -> None:
    with pytest.raises(RemoteProtocolError, match=match):
        Initiator(["/a"]).receive_data(answer)


def test_initiator_needs_a_protocol() -> None:
    with pytest.raises(LocalProtocolError):
        Initiator([])
    assert Initiator("/single").proposing == "/single"


def test_responder_answers_na_then_echoes() -> None:
    res = Responder(lambda p: p == YAMUX)
    assert res.initial_bytes() == HEADER
    out = res.receive_data(HEADER + encode_message("ls") + encode_message("/mplex/6.7.0"))
    assert out == encode_message("na") * 2 and not res.done
    out = res.receive_data(encode_message(YAMUX) + b"\x00\x00data")
    assert out == encode_message(YAMUX)
    assert res.protocol == YAMUX and res.rest() == b"\x00\x00data"


def test_responder_never_takes_na_or_ls() -> None:
    res = Responder(lambda p: True)
    assert res.receive_data(HEADER + encode_message("na") + encode_message("ls")) == \
        encode_message("na") * 2
    assert not res.done


def test_responder_refuses_a_missing_header() -> None:
    with pytest.raises(RemoteProtocolError, match="instead of"):
        Responder(lambda p: True).receive_data(encode_message(YAMUX))


def test_initiator_and_responder_agree_byte_by_byte() -> None:
    ini = Initiator(["/x", "/y", YAMUX])
    res = Responder(lambda p: p == YAMUX)
    to_res = ini.initial_bytes()
    to_ini = res.initial_bytes()
    while not (ini.done and res.done):
        back = b"".join(res.receive_data(to_res[i:i + 1]) for i in range(len(to_res))) \
            if not res.done else b""
        to_ini += back
        to_res = b"".join(ini.receive_data(to_ini[i:i + 1]) for i in range(len(to_ini))
                          if not ini.done) if not ini.done else b""
        to_ini = b""
    assert ini.protocol == res.protocol == YAMUX
