"""Dataset manifests: signed, decoded strictly, trust-checked; name specs; backwards detection."""

from __future__ import annotations

import pytest

from jiaozi_node.errors import InvalidInput, SignatureError
from jiaozi_node.identity import Identity
from jiaozi_node.ipld.cid import CID
from jiaozi_node.ipns import dataset as ds

C1 = CID.of(b"one", codec=0x71)
C2 = CID.of(b"two", codec=0x71)


def test_manifest_roundtrip_and_trust():
    ident = Identity.generate()
    m = ds.Manifest("weather", {"heads/main": C1, "tags/v1": C2}, ident.peer_id, 1).signed(ident)
    back = ds.Manifest.decode(m.encode(), max_bytes=1 << 20)
    assert back == m and back.verify([ident.peer_id]) == ident.peer_id
    with pytest.raises(SignatureError, match="untrusted"):
        back.verify([])
    forged = ds.Manifest("weather", {"heads/main": C2}, ident.peer_id, 1, m.sig)
    with pytest.raises(SignatureError, match="bad manifest signature"):
        ds.Manifest.decode(forged.encode(), max_bytes=1 << 20).verify([ident.peer_id])
    with pytest.raises(SignatureError):
        ds.Manifest("w", {}, Identity.generate().peer_id, 1).signed(ident)


@pytest.mark.parametrize("data", [b"", b"\xa0", b"\x01\x02"])
def test_manifest_garbage(data):
    with pytest.raises(InvalidInput):
        ds.Manifest.decode(data, max_bytes=1 << 20)


def test_specs_and_refs():
    assert ds.parse_name_spec("/ipns/k51abc@main") == ("/ipns/k51abc", "main")
    assert ds.parse_name_spec("/ipns/data.example.org") == ("/ipns/data.example.org", None)
    for bad in ("k51abc", "/ipns/", "/ipns/a/b@main", "/ipns/a@"):
        with pytest.raises(InvalidInput):
            ds.parse_name_spec(bad)
    refs = {"heads/main": C1, "tags/v1": C2}
    assert ds.pick_ref(refs, None) == ("heads/main", C1)
    assert ds.pick_ref(refs, "v1") == ("tags/v1", C2)
    with pytest.raises(InvalidInput):
        ds.pick_ref(refs, "dev")
    assert ds.dataset_key_name("weather") == "dataset-weather"


def test_backwards():
    anc = {(C1, C2)}  # C1 is an ancestor of C2

    def is_anc(a, b):
        return (a, b) in anc

    assert ds.backwards(is_anc, C2, C1) is True
    assert ds.backwards(is_anc, C1, C2) is False  # forward
    assert ds.backwards(is_anc, None, C1) is False
    assert ds.backwards(is_anc, C1, C1) is False
