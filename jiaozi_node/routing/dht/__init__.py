"""Kademlia DHT (`/ipfs/kad/1.0.0`, `/ipfs/lan/kad/1.0.0`, or a private protocol ID).

Pure cores (no I/O, handed `now`): `message` (protobuf codec), `keys` (SHA-256 keyspace, XOR
distance), `table` (k-buckets), `lookup` (iterative lookup state machine), `providers`
(compact provider store), `records` (validated /pk/ and /ipns/ records), `server` (answers).
The trio adapter on `Libp2pHost` is `service` (`DhtRouter`, `start_dht`), with its wire I/O in
`transport` and the provide paths in `announce`; `dual` runs a WAN and a LAN DHT as one Router.

Why our own and not py-libp2p's `libp2p.kad_dht`: see docs/routing.md.
"""
