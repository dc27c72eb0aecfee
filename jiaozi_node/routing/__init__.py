"""Content and peer routing: who has a CID, where a peer is, and signed records (IPNS).

One interface (`Router`, in `jiaozi_node.routing.base`) for the whole node. The DHT
(`routing.dht`), delegated HTTP routing (`routing.http`) and static peering are routers; they are
composed and queried in parallel (`routing.parallel`). Bitswap sessions, `jzfs routing …`, the
`/routing/v1` server and IPNS all go through that one composed router — never a DHT directly.
"""
