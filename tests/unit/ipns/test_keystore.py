"""Keystore: Kubo's file layout and modes, self, formats, refusals."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput, NotFound
from jiaozi_node.ipns.crypto import PrivateKey
from jiaozi_node.ipns.keystore import Keystore


@pytest.fixture
def ks(tmp_path):
    return Keystore(tmp_path / "keystore", PrivateKey.generate())


def test_layout_and_modes(ks):
    info = ks.generate("my key")
    f = ks.path / "key_nv4sa23fpe"  # key_ + base32("my key"), as Kubo names the file
    assert f.exists() and f.stat().st_mode & 0o777 == 0o600 and ks.path.stat().st_mode & 0o777 == 0o700
    assert PrivateKey.from_protobuf(f.read_bytes()).public_key == ks.private_key("my key").public_key
    assert [k.name for k in ks.list()] == ["self", "my key"]
    assert ks.find_by_name_id(info.id) == "my key"


def test_refusals(ks):
    ks.generate("a")
    for bad in (lambda: ks.generate("a"), lambda: ks.generate("self"), lambda: ks.remove("self"),
                lambda: ks.rename("self", "x"), lambda: ks.generate("../x"), lambda: ks.generate(""),
                lambda: ks.generate("b", "dsa")):
        with pytest.raises(InvalidInput):
            bad()
    with pytest.raises(NotFound):
        ks.private_key("nope")
    ks.generate("b")
    with pytest.raises(InvalidInput):
        ks.rename("a", "b")
    info, existed = ks.rename("a", "b", force=True)
    assert existed and [k.name for k in ks.list()] == ["self", "b"]


@pytest.mark.parametrize("fmt", ["libp2p-protobuf-cleartext", "pem-pkcs8-cleartext"])
@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_export_import(ks, fmt, kind):
    info = ks.generate("k", kind)
    data = ks.export("k", fmt)
    assert ks.import_key("k2", data, fmt).id == info.id


def test_other_types_need_allow_any(ks):
    data = PrivateKey.generate("secp256k1").to_protobuf()
    with pytest.raises(InvalidInput, match="allow-any-key-type"):
        ks.import_key("s", data)
    assert ks.import_key("s", data, allow_any_type=True).id
    with pytest.raises(InvalidInput):
        ks.import_key("x", b"garbage")
