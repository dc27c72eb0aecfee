"""A DNS server on 127.0.0.1 for tests (dnslib): TXT records from a dict, optional hostile modes.

    with LocalDns({"_dnslink.example.org": ["dnslink=/ipfs/bafy…"]}) as dns:
        repo.set_config("DNS.Resolvers", {".": dns.url})     # udp://127.0.0.1:PORT

Names not in the dict answer NXDOMAIN. `mode="garbage"` answers random bytes, `"wrong-id"` an
answer with another id, `"silent"` nothing at all (for the hostile-input tests).
"""

from __future__ import annotations

import os
from typing import Any

import dnslib
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class _Resolver(BaseResolver):
    def __init__(self, owner: LocalDns) -> None:
        self.owner = owner

    def resolve(self, request: Any, handler: Any) -> Any:
        self.owner.queries.append(str(request.q.qname).rstrip("."))
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        txts = self.owner.records.get(name)
        if txts is None:
            reply.header.rcode = dnslib.RCODE.NXDOMAIN
            return reply
        for t in txts:
            reply.add_answer(dnslib.RR(request.q.qname, dnslib.QTYPE.TXT, rdata=dnslib.TXT(t), ttl=60))
        return reply


class _Handler(dnslib.server.DNSHandler):
    def get_reply(self, data: bytes) -> bytes:
        mode = self.server.resolver.owner.mode  # type: ignore[attr-defined]
        if mode == "garbage":
            return data[:2] + os.urandom(38)  # our id, then nonsense
        if mode == "silent":
            return b""
        reply = super().get_reply(data)
        if mode == "wrong-id":
            return bytes([data[0] ^ 0xFF, data[1]]) + reply[2:]
        return reply

    def send_data(self, data: bytes) -> Any:
        if not data:
            return None
        return super().send_data(data)


class LocalDns:
    def __init__(self, records: dict[str, list[str]] | None = None, *, mode: str = "ok") -> None:
        self.records = {k.lower().rstrip("."): v for k, v in (records or {}).items()}
        self.mode = mode
        self.queries: list[str] = []
        self._server = DNSServer(_Resolver(self), address="127.0.0.1", port=0, handler=_Handler,
                                 logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data"))

    @property
    def url(self) -> str:
        host, port = self._server.server.server_address[:2]
        return f"udp://{host}:{port}"

    def __enter__(self) -> LocalDns:
        self._server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self._server.server.server_close()
