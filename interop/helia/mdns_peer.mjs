// A js-libp2p 3 peer (Helia 7's stack) with @libp2p/mdns only, for interop/test_mdns.py.
//
// Usage: node mdns_peer.mjs SECONDS
// Prints JSON lines on stdout: {"event":"ready","peer_id","multiaddrs"}, then
// {"event":"discovered","peer_id","multiaddrs"} per mDNS sighting and
// {"event":"connected","peer_id"} per connection; exits after SECONDS.
// Listens on 127.0.0.1 only; a gater refuses every non-loopback address both ways. Run it only
// inside the loopback-only namespace (mDNS multicasts on every interface it has).

import './polyfill.mjs'

import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'

for (const k of ['log', 'info', 'debug', 'warn', 'trace', 'dir']) {
  console[k] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n')
}
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const loop = (ma) => /^\/ip4\/127\./.test(ma.toString())
const gater = {
  denyDialMultiaddr: (ma) => !loop(ma),
  denyInboundConnection: (c) => !loop(c.remoteAddr),
  denyOutboundConnection: (_p, c) => !loop(c.remoteAddr)
}

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: gater,
  peerDiscovery: [mdns({ interval: 1000 })],
  services: { identify: identify() }
})
node.addEventListener('peer:discovery', (e) => {
  out({ event: 'discovered', peer_id: e.detail.id.toString(), multiaddrs: e.detail.multiaddrs.map(String) })
})
node.addEventListener('peer:connect', (e) => out({ event: 'connected', peer_id: e.detail.toString() }))
await node.start()
out({ event: 'ready', peer_id: node.peerId.toString(), multiaddrs: node.getMultiaddrs().map(String) })
setTimeout(async () => { await node.stop(); process.exit(0) }, Number(process.argv[2] || 20) * 1000)
