"""DNS TXT look-ups for DNSLink (trio adapter over `ipns.dnslink`): plain DNS over UDP to a
configured resolver, or DNS over HTTPS (RFC 8484). Nothing is asked unless config
`DNS.Resolvers` names a resolver for the domain.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

import trio

from ..config import IPNS_LIMITS, IpnsLimits
from ..errors import InvalidInput, NotFound, Timeout
from . import dnslink

log = logging.getLogger(__name__)


class DnsClient:
    def __init__(self, resolvers: Mapping[str, str], *, limits: IpnsLimits = IPNS_LIMITS) -> None:
        self.resolvers = dict(resolvers or {})
        self.limits = limits

    @classmethod
    def from_config(cls, repo: object, *, limits: IpnsLimits = IPNS_LIMITS) -> DnsClient:
        """From the repo's `DNS.Resolvers` (type-checked by `UserConfig.parse`)."""
        return cls(repo.settings.dns.resolvers, limits=limits)  # type: ignore[attr-defined]

    async def txt(self, domain: str) -> list[str]:
        url = dnslink.resolver_for(domain, self.resolvers)
        if url is None:
            raise NotFound(f"no DNS resolver configured for {domain} (set config DNS.Resolvers, "
                           "e.g. {\".\": \"udp://127.0.0.1:53\"}; nothing is looked up by default)")
        qid = secrets.randbelow(65536)
        query = dnslink.build_query(domain, qid)
        with trio.move_on_after(self.limits.dns_timeout_s) as scope:
            if url.startswith("udp://"):
                data = await self._udp(url, query)
            elif url.startswith("https://") or url.startswith("http://"):
                data = await self._doh(url, query)
                qid = None  # DoH: the id is 0 by convention; HTTP pairs question and answer
            else:
                raise InvalidInput(f"unsupported DNS resolver URL {url!r} (udp://HOST:PORT or https://)")
        if scope.cancelled_caught:
            raise Timeout(f"DNS resolver {url} did not answer for {domain} within "
                          f"{self.limits.dns_timeout_s:g} s")
        return dnslink.parse_answer(data, qid=qid, domain=domain,
                                    max_records=self.limits.max_txt_records)

    async def _udp(self, url: str, query: bytes) -> bytes:
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise InvalidInput(f"DNS resolver URL needs a host and port: {url!r}")
        family = trio.socket.AF_INET6 if ":" in parts.hostname else trio.socket.AF_INET
        sock = trio.socket.socket(family, trio.socket.SOCK_DGRAM)
        with sock:
            await sock.connect((parts.hostname, parts.port))
            await sock.send(query)
            while True:
                data = await sock.recv(self.limits.max_dns_response_bytes)
                if len(data) >= 2 and data[:2] == query[:2]:
                    return data
                log.info("dns: dropped a datagram that does not answer our question")

    async def _doh(self, url: str, query: bytes) -> bytes:
        import httpx

        async with httpx.AsyncClient(timeout=self.limits.dns_timeout_s) as client:
            async with client.stream("POST", url, content=b"\0\0" + query[2:], headers={
                    "Content-Type": "application/dns-message",
                    "Accept": "application/dns-message"}) as resp:
                if resp.status_code != 200:
                    raise InvalidInput(f"DNS over HTTPS {url}: HTTP {resp.status_code}")
                buf = bytearray()
                async for chunk in resp.aiter_bytes():
                    buf += chunk
                    if len(buf) > self.limits.max_dns_response_bytes:
                        raise InvalidInput(f"DNS over HTTPS {url}: answer too large")
                return bytes(buf)

    async def dnslink(self, domain: str) -> str:
        """The DNSLink path of `domain`: `_dnslink.domain` first, then the domain itself."""
        errors = []
        for qname in ("_dnslink." + domain.rstrip("."), domain.rstrip(".")):
            try:
                found = dnslink.dnslink_from_txt(await self.txt(qname))
            except NotFound as exc:
                errors.append(str(exc))
                if "no DNS resolver" in str(exc):
                    raise
                continue
            if found:
                return found
        raise NotFound(f"no DNSLink record for {domain}" + (f" ({errors[-1]})" if errors else ""))
