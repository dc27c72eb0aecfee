// IPNS with real JS packages against jzfs (jiaozi_node interop suite), one command per run.
//
//   node ipns_tool.mjs validate ROUTING_KEY_B64 RECORD_B64
//        npm `ipns` ipnsValidator on a record (made by jzfs) -> {"ok": true} | {"ok": false, "error"}
//   node ipns_tool.mjs create VALUE SEQ LIFETIME_MS [v2]
//        a record made by npm `ipns` createIPNSRecord with a fresh Ed25519 key
//        -> {"name": k51…, "routing_key_b64", "record_b64"}
//   node ipns_tool.mjs resolve ROUTER_URL NAME
//        @helia/ipns resolving NAME through a Helia whose only router is a Delegated Routing V1
//        endpoint (ROUTER_URL/routing/v1/ipns, e.g. a jzfs daemon's gateway) -> {"value": "/ipfs/…"}
//   node ipns_tool.mjs publish ROUTER_URL VALUE
//        @helia/ipns publishing VALUE under a fresh key through that endpoint (PUT)
//        -> {"name": k51…}
//   node ipns_tool.mjs resolve-dht BOOTSTRAP_MULTIADDR NAME
//        @helia/ipns resolving NAME over the Amino DHT protocol (@libp2p/kad-dht, client mode,
//        /ipfs/kad/1.0.0, loopback peers kept) knowing only BOOTSTRAP -> {"value", "ms"}
//   node ipns_tool.mjs publish-dht BOOTSTRAP_MULTIADDR VALUE
//        @helia/ipns publishing VALUE under a fresh key to the DHT (PUT to the closest peers),
//        knowing only BOOTSTRAP -> {"name": k51…}
//   node ipns_tool.mjs fetch GATEWAY ROUTER_URL IPNS_PATH
//        @helia/verified-fetch of ipns://IPNS_PATH: the name through ROUTER_URL, the blocks
//        from the trustless GATEWAY (every block verified) -> {"status", "sha256", "body_b64"}
//
// Safety: createHeliaLight() with no libp2p at all; the only network is the URLs given (the
// harness passes 127.0.0.1 ones). Every console.* call goes to stderr.

import './polyfill.mjs' // must stay the first import: Promise.withResolvers for Node 20

import { createHash } from 'node:crypto'

import { delegatedRoutingV1HttpApiClient } from '@helia/delegated-routing-v1-http-api-client'
import { ipns } from '@helia/ipns'
import { createVerifiedFetch } from '@helia/verified-fetch'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromMultihash, peerIdFromPublicKey } from '@libp2p/peer-id'
import { createHeliaLight } from 'helia'
import { trustlessGatewayBlockBroker } from '@helia/trustless-gateway-client'
import { fallbackRouter } from '@helia/fallback-router'
import { createIPNSRecord, marshalIPNSRecord, multihashFromIPNSRoutingKey, multihashToIPNSRoutingKey } from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { multiaddr } from '@multiformats/multiaddr'

const out = process.stdout
for (const k of ['log', 'info', 'debug', 'warn', 'trace', 'dir']) {
  console[k] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n')
}
const b64 = (u8) => Buffer.from(u8).toString('base64')
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'))
const TIMEOUT_MS = 30_000

class NotFoundError extends Error {
  constructor (m) { super(m); this.name = 'NotFoundError' }
}

// A Helia router that keeps IPNS records at a Delegated Routing V1 endpoint and knows nothing else.
function delegatedIpnsRouter (url) {
  const client = delegatedRoutingV1HttpApiClient({ url, timeout: TIMEOUT_MS, cacheTTL: 0 })({ logger: defaultLogger() })
  const nameCid = (key) => peerIdFromMultihash(multihashFromIPNSRoutingKey(key)).toCID()
  return {
    name: 'delegated-ipns',
    async * findProviders () {},
    async provide () {},
    async cancelReprovide () {},
    async findPeer () { throw new NotFoundError('no peers here') },
    async * getClosestPeers () {},
    async put (key, value) { await client.putIPNS(nameCid(key), value, { signal: AbortSignal.timeout(TIMEOUT_MS) }) },
    async get (key) { return client.getIPNS(nameCid(key), { signal: AbortSignal.timeout(TIMEOUT_MS) }) }
  }
}

// helia 7.1.15's routing waits forever when every router is a fallback router: one that finds nothing.
const emptyRouter = {
  name: 'empty',
  async * findProviders () {},
  async provide () {},
  async cancelReprovide () {},
  async findPeer () { throw new NotFoundError('not found') },
  async * getClosestPeers () {},
  async put () {},
  async get () { throw new NotFoundError('not found') }
}

function isLoopbackMultiaddr (ma) {
  const str = ma.toString()
  return /^\/ip4\/127\.\d+\.\d+\.\d+\//.test(str + '/') || str.startsWith('/ip6/::1/')
}
const loopbackOnlyGater = {
  denyDialMultiaddr: (ma) => !isLoopbackMultiaddr(ma),
  denyInboundConnection: (c) => !isLoopbackMultiaddr(c.remoteAddr),
  denyOutboundConnection: (_p, c) => !isLoopbackMultiaddr(c.remoteAddr),
  filterMultiaddrForPeer: async (_p, ma) => isLoopbackMultiaddr(ma)
}

// A Helia with libp2p (TCP on 127.0.0.1, Noise, Yamux, Identify) and a client-mode kad-dht: no
// discovery, no bootstrap list, nothing but loopback (the gater refuses everything else).
async function dhtHelia () {
  const { withLibp2pLight } = await import('@helia/libp2p')
  const { tcp } = await import('@libp2p/tcp')
  const { noise } = await import('@libp2p/noise')
  const { yamux } = await import('@libp2p/yamux')
  const { identify } = await import('@libp2p/identify')
  const { ping } = await import('@libp2p/ping')
  const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
  const { ipnsSelector } = await import('ipns/selector')
  const helia = withLibp2pLight(createHeliaLight({}), {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], appendAnnounce: [], noAnnounce: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    connectionGater: loopbackOnlyGater,
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ protocol: '/ipfs/kad/1.0.0', clientMode: true, peerInfoMapper: passthroughMapper,
        validators: { ipns: ipnsValidator }, selectors: { ipns: ipnsSelector } })
    }
  })
  await helia.start()
  return helia
}

function nameOf (publicKey) {
  return peerIdFromPublicKey(publicKey).toCID().toString(base36)
}

function parseName (text) {
  const cid = CID.parse(text, text.startsWith('k') ? base36 : undefined)
  return cid.multihash
}

const [mode, ...args] = process.argv.slice(2)
try {
  if (mode === 'validate') {
    try {
      await ipnsValidator(unb64(args[0]), unb64(args[1]))
      out.write(JSON.stringify({ ok: true }) + '\n')
    } catch (err) {
      out.write(JSON.stringify({ ok: false, reason: String(err?.message ?? err), kind: err?.name }) + '\n')
    }
  } else if (mode === 'create') {
    const key = await generateKeyPair('Ed25519')
    const opts = args[3] === 'v2' ? { v1Compatible: false } : {}
    const rec = await createIPNSRecord(key, args[0], BigInt(args[1]), Number(args[2]), opts)
    const mh = peerIdFromPublicKey(key.publicKey).toMultihash()
    out.write(JSON.stringify({
      name: nameOf(key.publicKey),
      routing_key_b64: b64(multihashToIPNSRoutingKey(mh)),
      record_b64: b64(marshalIPNSRecord(rec))
    }) + '\n')
  } else if (mode === 'resolve' || mode === 'publish') {
    const helia = createHeliaLight({ routers: [delegatedIpnsRouter(args[0])] })
    await helia.start()
    const name = ipns(helia)
    if (mode === 'resolve') {
      let value = null
      for await (const r of name.resolve(parseName(args[1]), { signal: AbortSignal.timeout(TIMEOUT_MS), nocache: true })) {
        const v = r.record.value
        value = typeof v === 'string' ? v : new TextDecoder().decode(v)
      }
      out.write(JSON.stringify({ value }) + '\n')
    } else {
      const res = await name.publish('interop-key', args[1], { signal: AbortSignal.timeout(TIMEOUT_MS) })
      out.write(JSON.stringify({ name: nameOf(res.publicKey) }) + '\n')
    }
    await helia.stop()
  } else if (mode === 'resolve-dht') {
    const t0 = performance.now()
    const helia = await dhtHelia()
    await helia.libp2p.dial(multiaddr(args[0]), { signal: AbortSignal.timeout(TIMEOUT_MS) })
    const dht = helia.libp2p.services.dht
    for (let i = 0; i < 200 && dht.routingTable.size === 0; i++) await new Promise(r => setTimeout(r, 25))
    let value = null
    for await (const r of ipns(helia).resolve(parseName(args[1]), { signal: AbortSignal.timeout(TIMEOUT_MS), nocache: true, offline: false })) {
      const v = r.record.value
      value = typeof v === 'string' ? v : new TextDecoder().decode(v)
    }
    out.write(JSON.stringify({ value, ms: performance.now() - t0 }) + '\n')
    await helia.stop()
  } else if (mode === 'publish-dht') {
    const helia = await dhtHelia()
    await helia.libp2p.dial(multiaddr(args[0]), { signal: AbortSignal.timeout(TIMEOUT_MS) })
    const dht = helia.libp2p.services.dht
    for (let i = 0; i < 200 && dht.routingTable.size === 0; i++) await new Promise(r => setTimeout(r, 25))
    const res = await ipns(helia).publish('interop-dht-key', args[1], { signal: AbortSignal.timeout(TIMEOUT_MS) })
    out.write(JSON.stringify({ name: nameOf(res.publicKey) }) + '\n')
    await helia.stop()
  } else if (mode === 'fetch') {
    const [gateway, router, path] = args
    const helia = createHeliaLight({
      blockBrokers: [trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })],
      routers: [emptyRouter, delegatedIpnsRouter(router), fallbackRouter({ gateways: [gateway], shuffle: false })]
    })
    await helia.start()
    const vfetch = await createVerifiedFetch(helia)
    const resp = await vfetch(`ipns://${path}`, { signal: AbortSignal.timeout(TIMEOUT_MS) })
    const body = Buffer.from(await resp.arrayBuffer())
    const result = { status: resp.status, length: body.length, sha256: createHash('sha256').update(body).digest('hex') }
    if (body.length <= 65536) result.body_b64 = body.toString('base64')
    out.write(JSON.stringify(result) + '\n')
    await helia.stop()
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
  process.exit(0)
} catch (err) {
  out.write(JSON.stringify({ error: String(err?.stack ?? err) }) + '\n')
  process.exit(1)
}
