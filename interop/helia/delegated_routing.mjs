// Helia's Delegated Routing V1 HTTP server and client against jzfs (jiaozi_node interop suite).
//
// Usage: node delegated_routing.mjs      (JSON lines on stdin/stdout, like node.mjs)
//
// Server side: `serve` starts @helia/delegated-routing-v1-http-api-server on 127.0.0.1 (port 0)
// over a Helia built with createHeliaLight() and no network at all (no libp2p): its only router
// is an in-memory one that the test fills (`add_provider`, `add_peer`) and that keeps the IPNS
// records the server accepted (`get_record`; the server validates PUTs with the `ipns` package's
// validator before they reach the router). So every answer jzfs' client sees was produced by
// Helia's real routing composition and Helia's real HTTP server.
//
// Client side: `client_*` commands run @helia/delegated-routing-v1-http-api-client against a
// URL (our /routing/v1 server) and return what it parsed.
//
// One-shot (what a user of Helia's client would run, for bench/bench_delegated_routing.py):
//   node delegated_routing.mjs findprovs URL CID     -> provider peer IDs, one per line
//
// Every console.* call of any library goes to stderr: stdout carries only the protocol.

import './polyfill.mjs' // must stay the first import: Promise.withResolvers for Node 20

import readline from 'node:readline'

import { delegatedRoutingV1HttpApiClient } from '@helia/delegated-routing-v1-http-api-client'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
// helia, the server (fastify) and the stores are imported by `serve` only, so the one-shot
// client command loads what a user of Helia's client would load.

const protocolOut = process.stdout
for (const k of ['log', 'info', 'debug', 'warn', 'trace', 'dir']) {
  console[k] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n')
}
function send (obj) {
  protocolOut.write(JSON.stringify(obj) + '\n')
}

const b64 = (u8) => Buffer.from(u8).toString('base64')
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'))
const mhKey = (cid) => b64(cid.multihash.bytes)

class NotFoundError extends Error {
  constructor (m) { super(m); this.name = 'NotFoundError' }
}

// --- an in-memory router for Helia's routing composition (server side) ---------------------
const providers = new Map() // multihash b64 -> [{ id, multiaddrs, protocols }]
const peers = new Map() // peer id string -> { id, multiaddrs }
const records = new Map() // routing key b64 -> record bytes
const memoryRouter = {
  name: 'memory',
  async * findProviders (cid) {
    for (const p of providers.get(mhKey(cid)) ?? []) yield p
  },
  async provide () {},
  async cancelReprovide () {},
  async findPeer (id) {
    const p = peers.get(id.toString())
    if (p == null) throw new NotFoundError('peer not found')
    return p
  },
  async * getClosestPeers () {},
  async put (key, value) { records.set(b64(key), value) },
  async get (key) {
    const v = records.get(b64(key))
    if (v == null) throw new NotFoundError('record not found')
    return v
  }
}

let helia = null
let server = null
let client = null
let clientUrl = null

async function getClient (url) {
  if (client == null || clientUrl !== url) {
    if (client != null) await client.stop()
    client = delegatedRoutingV1HttpApiClient({ url, timeout: 20_000, cacheTTL: 0 })({ logger: defaultLogger() })
    await client.start()
    clientUrl = url
  }
  return client
}

function recordOut (r) {
  return {
    ID: peerIdFromCidLike(r.ID),
    Addrs: (r.Addrs ?? []).map(String),
    Protocols: r.Protocols ?? []
  }
}

function peerIdFromCidLike (id) {
  // the client hands IDs as CIDv1 libp2p-key; print them as base58btc peer IDs
  return peerIdFromString(CID.asCID(id) != null ? id.toString() : String(id)).toString()
}

function filterOpts (a) {
  const o = {}
  if (a.filterAddrs != null) o.filterAddrs = a.filterAddrs
  if (a.filterProtocols != null) o.filterProtocols = a.filterProtocols
  return o
}

const handlers = {
  async serve () {
    const { createHeliaLight } = await import('helia')
    const { createDelegatedRoutingV1HttpApiServer } = await import('@helia/delegated-routing-v1-http-api-server')
    const { MemoryBlockstore } = await import('blockstore-core')
    const { MemoryDatastore } = await import('datastore-core')
    helia = createHeliaLight({ blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore(), routers: [memoryRouter] })
    await helia.start()
    server = await createDelegatedRoutingV1HttpApiServer(helia, { listen: { host: '127.0.0.1', port: 0 } })
    const addr = server.server.address()
    if (addr.address !== '127.0.0.1') throw new Error(`server bound to ${addr.address}`)
    return { url: `http://127.0.0.1:${addr.port}` }
  },
  async add_provider (a) {
    const cid = CID.parse(a.cid)
    const list = providers.get(mhKey(cid)) ?? []
    list.push({ id: peerIdFromString(a.peer), multiaddrs: (a.addrs ?? []).map(m => multiaddr(m)), protocols: a.protocols ?? [] })
    providers.set(mhKey(cid), list)
    return {}
  },
  async add_peer (a) {
    peers.set(a.peer, { id: peerIdFromString(a.peer), multiaddrs: (a.addrs ?? []).map(m => multiaddr(m)) })
    return {}
  },
  async get_record (a) {
    const v = records.get(a.key_b64)
    return { record_b64: v == null ? null : b64(v) }
  },
  async put_record (a) {
    records.set(a.key_b64, unb64(a.record_b64))
    return {}
  },
  async client_providers (a) {
    const c = await getClient(a.url)
    const out = []
    for await (const r of c.getProviders(CID.parse(a.cid), filterOpts(a))) out.push(recordOut(r))
    return { records: out }
  },
  async client_peers (a) {
    const c = await getClient(a.url)
    const out = []
    for await (const r of c.getPeers(peerIdFromString(a.peer).toCID(), filterOpts(a))) out.push(recordOut(r))
    return { records: out }
  },
  async client_get_ipns (a) {
    const c = await getClient(a.url)
    try {
      return { record_b64: b64(await c.getIPNS(CID.parse(a.name))) }
    } catch (err) {
      return { record_b64: null, error: err.name, message: err.message }
    }
  },
  async client_put_ipns (a) {
    const c = await getClient(a.url)
    try {
      await c.putIPNS(CID.parse(a.name), unb64(a.record_b64))
      return { ok: true }
    } catch (err) {
      return { ok: false, error: err.name, message: err.message }
    }
  },
  async bench_client (a) {
    // a.n sequential provider lookups through one client (cache off): elapsed ms
    const c = await getClient(a.url)
    const cid = CID.parse(a.cid)
    let found = 0
    const t0 = performance.now()
    for (let i = 0; i < a.n; i++) {
      for await (const r of c.getProviders(cid)) { if (r != null) found++ }
    }
    return { elapsed_ms: performance.now() - t0, found }
  },
  async stop () {
    if (client != null) await client.stop()
    if (server != null) await server.close()
    if (helia != null) await helia.stop()
    return {}
  }
}

if (process.argv[2] === 'findprovs') {
  const c = await getClient(process.argv[3])
  for await (const r of c.getProviders(CID.parse(process.argv[4]))) {
    protocolOut.write(recordOut(r).ID + '\n')
  }
  await c.stop()
  process.exit(0)
}

send({ event: 'ready' })

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', (line) => {
  if (line.trim() === '') return
  let msg
  try {
    msg = JSON.parse(line)
  } catch (err) {
    send({ id: null, ok: false, error: `bad JSON: ${err.message}`, name: 'ProtocolError' })
    return
  }
  const h = handlers[msg.cmd]
  if (h == null) {
    send({ id: msg.id, ok: false, error: `unknown command ${msg.cmd}`, name: 'ProtocolError' })
    return
  }
  h(msg).then(
    (result) => {
      send({ id: msg.id, ok: true, result })
      if (msg.cmd === 'stop') process.exit(0)
    },
    (err) => send({ id: msg.id, ok: false, error: String(err?.stack ?? err), name: err?.name ?? 'Error' })
  )
})
rl.on('close', () => process.exit(0))
