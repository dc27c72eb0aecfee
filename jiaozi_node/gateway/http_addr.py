"""HTTP listen addresses as multiaddrs (`/ip4/127.0.0.1/tcp/5001`), for the servers and for the
CLI's daemon client; no imports beyond the errors, so a `jzfs` command that only talks to its
daemon does not load gateway/http_common.py (CIDs, MIME types, HTML)."""

from __future__ import annotations

from ..errors import InvalidInput


def multiaddr_to_host_port(addr: str) -> tuple[str, int]:
    """`/ip4/127.0.0.1/tcp/8080` -> ("127.0.0.1", 8080); ip6 and dns forms too."""
    parts = addr.strip("/").split("/")
    if len(parts) != 4 or parts[0] not in ("ip4", "ip6", "dns", "dns4", "dns6") or parts[2] != "tcp":
        raise InvalidInput(f"unsupported HTTP listen address {addr!r} (want /ip4/HOST/tcp/PORT)")
    try:
        port = int(parts[3])
    except ValueError:
        raise InvalidInput(f"invalid port in {addr!r}") from None
    if not 0 <= port <= 65535:
        raise InvalidInput(f"invalid port in {addr!r}")
    return parts[1], port


def host_port_to_multiaddr(host: str, port: int) -> str:
    proto = "ip6" if ":" in host else "ip4"
    return f"/{proto}/{host}/tcp/{port}"


def is_loopback_host(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
