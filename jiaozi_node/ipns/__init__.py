"""IPNS: signed, mutable names (the IPFS spec "IPNS Record"), keys, resolution, DNSLink.

Pure cores (no I/O, handed `now`): `crypto` (libp2p keys), `name` (IPNS names), `record`
(create / validate / select: the ONE validation every record goes through), `validator` (the
routing layer's `/ipns/` and `/pk/` validators), `dnslink` (TXT parsing). Adapters: `keystore`
(keys in the repo), `store` (published records and the resolve cache), `resolver` (cache, routers,
gateways, DNS), `publisher`, `service` (daemon: publishing and republishing).
"""
