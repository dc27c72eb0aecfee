import pytest

from jiaozi_node.errors import InvalidInput, SignatureError
from jiaozi_node.identity import Identity, public_key_from_peer_id, verify_signature


def test_roundtrip_sign_verify_and_peer_id_matches_libp2p():
    ident = Identity.generate()
    again = Identity.from_config(ident.to_config())
    assert again.peer_id == ident.peer_id
    sig = ident.sign(b"msg")
    verify_signature(public_key_from_peer_id(ident.peer_id), sig, b"msg")
    with pytest.raises(SignatureError):
        verify_signature(ident.public_bytes, sig, b"other")
    from libp2p.crypto.ed25519 import Ed25519PrivateKey
    from libp2p.peer.id import ID

    k = Ed25519PrivateKey.from_bytes(ident.seed)
    assert ID.from_pubkey(k.get_public_key()).to_base58() == ident.peer_id


def test_rsa_style_peer_id_is_not_ed25519():
    with pytest.raises(InvalidInput):
        public_key_from_peer_id("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
