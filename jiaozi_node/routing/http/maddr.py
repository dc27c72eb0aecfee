"""Multiaddr strings from delegated routers, checked strictly (pure: no I/O, no third-party parser).

`parse(text)` returns the protocol names of a human-readable multiaddr and its canonical text,
or raises InvalidInput. Each protocol's value is checked the way the multiaddr table defines it
(IPv4/IPv6 addresses, ports 0–65535, DNS names, peer IDs, multibase certhashes, ...); an unknown
protocol name is refused, so an address we could not use or filter is dropped, never passed on.
The table covers what libp2p peers announce (the multiaddr registry's transports, security and
application protocols); `/ipfs/` is read as its current name `/p2p/`.
"""

from __future__ import annotations

import ipaddress

from ...errors import InvalidInput

# name -> kind of value (None: the protocol takes no value)
_TABLE: dict[str, str | None] = {
    "ip4": "ip4", "ip6": "ip6", "ip6zone": "text", "ipcidr": "cidr",
    "tcp": "port", "udp": "port", "dccp": "port", "sctp": "port",
    "dns": "dns", "dns4": "dns", "dns6": "dns", "dnsaddr": "dns", "sni": "dns",
    "p2p": "peer", "certhash": "multibase", "memory": "uint", "unix": "path", "http-path": "text",
    "quic": None, "quic-v1": None, "webtransport": None, "ws": None, "wss": None, "tls": None,
    "noise": None, "http": None, "https": None, "p2p-circuit": None, "webrtc": None,
    "webrtc-direct": None, "utp": None, "udt": None,
}
_ALIASES = {"ipfs": "p2p"}
_MULTIBASE_PREFIXES = set("bBcCfFkKmMuUzZ")
_DNS_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
_B64URL_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+/=")


def _bad(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"invalid multiaddr {text[:120]!r}: {why}")


def _check_value(kind: str, value: str, text: str) -> str:
    if not value:
        raise _bad(text, "missing value")
    if kind == "ip4":
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise _bad(text, f"{value!r} is not an IPv4 address") from None
    if kind == "ip6":
        try:
            return str(ipaddress.IPv6Address(value))
        except ValueError:
            raise _bad(text, f"{value!r} is not an IPv6 address") from None
    if kind in ("port", "uint", "cidr"):
        if not value.isdigit() or not value.isascii() or len(value) > 20:
            raise _bad(text, f"{value!r} is not a number")
        n = int(value)
        limit = {"port": 65535, "cidr": 128}.get(kind, 2**64 - 1)
        if n > limit:
            raise _bad(text, f"{value} is out of range")
        return str(n)
    if kind == "dns":
        if len(value) > 253 or not set(value) <= _DNS_OK or ".." in value:
            raise _bad(text, f"{value[:60]!r} is not a DNS name")
        return value
    if kind == "peer":
        from .records import canonical_peer_id

        try:
            return canonical_peer_id(value)
        except InvalidInput as exc:
            raise _bad(text, str(exc)) from None
    if kind == "multibase":
        if value[0] not in _MULTIBASE_PREFIXES or len(value) < 2 or not set(value[1:]) <= _B64URL_OK:
            raise _bad(text, f"{value[:60]!r} is not a multibase string")
        return value
    # text (ip6zone, http-path) and path (unix): printable, no spaces
    if not value.isprintable() or " " in value:
        raise _bad(text, "value is not printable text")
    return value


def parse(text: str) -> tuple[list[str], str]:
    """(protocol names, canonical text) of a multiaddr string; InvalidInput if it is not one."""
    if not isinstance(text, str) or not text.startswith("/") or len(text) > 4096:
        raise InvalidInput(f"not a multiaddr: {str(text)[:120]!r}")
    parts = text.split("/")[1:]
    names: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(parts):
        name = _ALIASES.get(parts[i], parts[i])
        if name not in _TABLE:
            raise _bad(text, f"unknown protocol {parts[i][:40]!r}")
        kind = _TABLE[name]
        i += 1
        names.append(name)
        out.append(name)
        if kind is None:
            continue
        if kind == "path":  # unix: the rest of the address is the path
            value = "/".join(parts[i:])
            out.append(_check_value(kind, value, text))
            break
        if i >= len(parts):
            raise _bad(text, f"{name} needs a value")
        out.append(_check_value(kind, parts[i], text))
        i += 1
    if not names:
        raise InvalidInput(f"not a multiaddr: {text[:120]!r}")
    return names, "/" + "/".join(out)
