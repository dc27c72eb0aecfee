"""DNSLink (pure): DNS questions and answers, TXT parsing, which resolver answers a domain.

`/ipns/example.org` resolves through the TXT records of `_dnslink.example.org` (and, as the
DNSLink spec allows, of `example.org` itself): a string `dnslink=/ipfs/CID` or
`dnslink=/ipns/NAME`. When several are present the lexicographically first valid one wins, as the
spec says, so every resolver picks the same.

Resolvers come from config `DNS.Resolvers` in Kubo's shape: `{"eth.": "https://…/dns-query",
".": "udp://127.0.0.1:5353"}` — the longest matching domain suffix wins, `"."` matches all. URLs
are `https://` (DNS over HTTPS, RFC 8484) or `udp://HOST:PORT` (plain DNS). With no resolver for a
domain nothing is looked up (no DNS by default: the loopback rule).
"""

from __future__ import annotations

from collections.abc import Mapping

import dnslib

from ..errors import InvalidInput, NotFound

PREFIX = "dnslink="
NAMESPACES = ("/ipfs/", "/ipns/")


def is_domain(text: str) -> bool:
    """A DNSLink candidate: has a dot, DNS characters only, fits DNS limits."""
    t = text.rstrip(".")
    if "." not in t or len(t) > 253:
        return False
    labels = t.split(".")
    return all(0 < len(lb) <= 63 and all(c.isalnum() or c in "-_" for c in lb) and
               not lb.startswith("-") for lb in labels)


def resolver_for(domain: str, resolvers: Mapping[str, str]) -> str | None:
    """The URL of the resolver for `domain` (longest suffix of config DNS.Resolvers), or None."""
    fqdn = domain.rstrip(".").lower() + "."
    best, best_len = None, -1
    for suffix, url in resolvers.items():
        s = suffix.lower().strip(".") + "."
        if (s == "." or fqdn == s or fqdn.endswith("." + s)) and len(s) > best_len and url:
            best, best_len = url, len(s)
    return best


def build_query(domain: str, qid: int) -> bytes:
    q = dnslib.DNSRecord.question(domain.rstrip(".") + ".", "TXT")
    q.header.id = qid
    return bytes(q.pack())


def parse_answer(data: bytes, *, qid: int | None, domain: str, max_records: int) -> list[str]:
    """TXT strings answering `domain` (CNAME chains inside the answer are followed by name).
    NotFound for NXDOMAIN; InvalidInput for a malformed or mismatched answer."""
    try:
        msg = dnslib.DNSRecord.parse(data)
    except (dnslib.DNSError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed DNS answer: {exc}") from None
    if qid is not None and msg.header.id != qid:
        raise InvalidInput("DNS answer with the wrong id")
    rcode = msg.header.rcode
    if rcode == dnslib.RCODE.NXDOMAIN:
        raise NotFound(f"{domain}: no such domain")
    if rcode != dnslib.RCODE.NOERROR:
        raise InvalidInput(f"DNS error {dnslib.RCODE.get(rcode)} for {domain}")
    names = {domain.rstrip(".").lower()}
    for rr in msg.rr:
        if rr.rtype == dnslib.QTYPE.CNAME and str(rr.rname).rstrip(".").lower() in names:
            names.add(str(rr.rdata).rstrip(".").lower())
    out: list[str] = []
    for rr in msg.rr:
        if rr.rtype != dnslib.QTYPE.TXT or str(rr.rname).rstrip(".").lower() not in names:
            continue
        text = b"".join(bytes(p) for p in rr.rdata.data).decode("utf-8", "replace")
        out.append(text)
        if len(out) >= max_records:
            break
    return out


def dnslink_from_txt(strings: list[str]) -> str | None:
    """The DNSLink path in a TXT set (`/ipfs/…` or `/ipns/…`), or None."""
    values = sorted(s[len(PREFIX):].strip() for s in strings if s.startswith(PREFIX))
    for v in values:
        if v.startswith(NAMESPACES) and len(v) > len("/ipfs/"):
            return v
    return None
