"""Delegated Routing V1 over HTTP (https://specs.ipfs.tech/routing/http-routing-v1/).

- `records`, `maddr`, `filters`, `paths`: the pure core (peer IDs, multiaddrs, records, JSON/NDJSON
  bodies, IPIP-484 filters, URLs and request parsing). No I/O.
- `client.DelegatedRouter`: a `Router` over one HTTP endpoint (httpx on trio), one per URL in
  config `Routing.DelegatedRouters`.
- `server.RoutingApi`: `/routing/v1/{providers,peers,ipns}` served on the gateway address from
  the node's composed router (config `Gateway.ExposeRoutingAPI`, on by default).
"""
