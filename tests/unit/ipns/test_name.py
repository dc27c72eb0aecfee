"""IPNS names: every spelling parses to the same multihash; Kubo's k51 form is printed."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.name import IpnsName


def test_spellings():
    key = PrivateKey.generate("ed25519")
    name = IpnsName.from_public_key(key.public_key)
    assert str(name).startswith("k51")
    for text in (str(name), name.peer_id, "/ipns/" + name.peer_id, name.cid.encode("base32"),
                 f"/ipns/{name}/some/path"):
        assert IpnsName.parse(text) == name
    assert name.peer_id.startswith("12D3KooW")
    assert IpnsName.from_routing_key(name.routing_key) == name
    assert name.inlined_key == key.public_key


def test_rsa_name():
    key = PrivateKey.generate("rsa")
    name = IpnsName.from_public_key(key.public_key)
    assert name.peer_id.startswith("Qm") and name.inlined_key is None
    assert IpnsName.parse(str(name)) == name


@pytest.mark.parametrize("text", ["", "/ipns/", "notaname", "bafkqaaa",
                                  "QmPZ9gcCEpqKTo6aq61g2nXGUhM4iCL3ewB6LDXZCtioEB" + "x",
                                  "k" * 300])
def test_invalid(text):
    with pytest.raises(InvalidInput):
        IpnsName.parse(text)


def test_routing_key_prefix():
    with pytest.raises(InvalidInput):
        IpnsName.from_routing_key(b"/pk/abc")
