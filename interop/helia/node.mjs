// A confined Helia 7 peer driven over JSON lines (jiaozi_node interop suite).
//
// Usage: node node.mjs '{"offline": false, "listen": ["/ip4/127.0.0.1/tcp/0"], "blockstore": "memory"}'
// Opt-in DHT: "dht": {"protocol": "/ipfs/kad/1.0.0", "clientMode": false} adds @libp2p/kad-dht
// (loopback peers kept by passthroughMapper, IPNS validator/selector from npm ipns).
//
// Protocol: one JSON object per line on stdin: {"id": 1, "cmd": "add_file", ...args}.
// One JSON object per line on stdout: {"id": 1, "ok": true, "result": ...} or
// {"id": 1, "ok": false, "error": "...", "name": "..."}; at start-up {"event": "ready", ...}.
// Every console.* call of any library goes to stderr, so stdout carries only the protocol.
//
// Safety: built from createHeliaLight() (never createHelia(), which adds delegated routing,
// public gateways, bootstrap, mDNS, DHT, UPnP and relay). libp2p has only TCP listening on
// 127.0.0.1, Noise, Yamux, Identify, Ping, Bitswap, no peer discovery, and a connection gater
// that refuses every multiaddr that is not loopback, both ways.

import './polyfill.mjs' // must stay the first import: Promise.withResolvers for Node 20

import { createReadStream, createWriteStream } from 'node:fs'
import * as fsp from 'node:fs/promises'
import path from 'node:path'
import readline from 'node:readline'
import { once } from 'node:events'

import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { car } from '@helia/car'
import { CarReader } from '@ipld/car'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryBlockstore } from 'blockstore-core'
import { FsBlockstore } from 'blockstore-fs'
import { MemoryDatastore } from 'datastore-core'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize, rabin } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle, flat } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'

// --- stdout belongs to the protocol ------------------------------------------------------
const protocolOut = process.stdout
for (const k of ['log', 'info', 'debug', 'warn', 'trace', 'dir']) {
  console[k] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n')
}
function send (obj) {
  protocolOut.write(JSON.stringify(obj) + '\n')
}

// --- loopback-only policy ------------------------------------------------------------------
function isLoopbackMultiaddr (ma) {
  const s = ma.toString()
  return /^\/ip4\/127\.\d+\.\d+\.\d+\//.test(s + '/') || s.startsWith('/ip6/::1/') || s === '/ip6/::1'
}
const loopbackOnlyGater = {
  denyDialMultiaddr: (ma) => !isLoopbackMultiaddr(ma),
  denyInboundConnection: (maConn) => !isLoopbackMultiaddr(maConn.remoteAddr),
  denyOutboundConnection: (_peer, maConn) => !isLoopbackMultiaddr(maConn.remoteAddr),
  denyInboundEncryptedConnection: (_peer, maConn) => !isLoopbackMultiaddr(maConn.remoteAddr),
  denyOutboundEncryptedConnection: (_peer, maConn) => !isLoopbackMultiaddr(maConn.remoteAddr),
  denyInboundUpgradedConnection: (_peer, maConn) => !isLoopbackMultiaddr(maConn.remoteAddr),
  denyOutboundUpgradedConnection: (_peer, maConn) => !isLoopbackMultiaddr(maConn.remoteAddr),
  filterMultiaddrForPeer: async (_peer, ma) => isLoopbackMultiaddr(ma)
}

// --- import options ------------------------------------------------------------------------
// Every option is explicit here: helia's own defaults (CIDv1, raw leaves, 1 MiB, balanced 1024)
// apply only to what the caller leaves out.
const HELIA_DEFAULTS = { cidVersion: 1, rawLeaves: true, chunkSize: 1_048_576, layout: 'balanced', maxChildren: 1024 }

function importerOptions (o = {}) {
  const opts = { ...HELIA_DEFAULTS, ...o }
  const out = {
    cidVersion: opts.cidVersion,
    rawLeaves: opts.rawLeaves
  }
  if (opts.profile != null) out.profile = opts.profile
  if (opts.chunker === 'rabin') {
    const r = {}
    for (const k of ['minChunkSize', 'maxChunkSize', 'avgChunkSize', 'window']) {
      if (opts[k] != null) r[k] = opts[k]
    }
    out.chunker = rabin(r)
  } else if (opts.chunker == null || opts.chunker === 'fixed' || opts.chunker === 'size') {
    out.chunker = fixedSize({ chunkSize: opts.chunkSize })
  } else {
    throw new Error(`unsupported chunker ${opts.chunker} (importer 17 exports fixedSize and rabin only)`)
  }
  if (opts.layout === 'balanced') out.layout = balanced({ maxChildrenPerNode: opts.maxChildren })
  else if (opts.layout === 'trickle') {
    const t = { maxChildrenPerNode: opts.maxChildren }
    if (opts.layerRepeat != null) t.layerRepeat = opts.layerRepeat
    out.layout = trickle(t)
  } else if (opts.layout === 'flat') out.layout = flat()
  else throw new Error(`unsupported layout ${opts.layout}`)
  for (const k of ['wrapWithDirectory', 'shardSplitThresholdBytes', 'shardSplitStrategy', 'shardFanoutBits',
    'reduceSingleLeafToSelf', 'leafType', 'fieldOrder', 'fileImportConcurrency', 'blockWriteConcurrency']) {
    if (opts[k] != null) out[k] = opts[k]
  }
  return out
}

// Walk a directory like `ipfs add -r`: hidden files included, entries in name order,
// empty directories kept, symlinks refused (no UnixFS symlink support wired here).
async function * treeSource (root, prefix) {
  const entries = await fsp.readdir(root, { withFileTypes: true })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  yield { path: prefix }
  for (const e of entries) {
    const full = path.join(root, e.name)
    const p = `${prefix}/${e.name}`
    if (e.isDirectory()) yield * treeSource(full, p)
    else if (e.isFile()) yield { path: p, content: createReadStream(full) }
    else throw new Error(`unsupported entry type (symlink/special): ${full}`)
  }
}

async function importEntries (source, blockstore, options) {
  const results = []
  for await (const r of importer(source, blockstore, importerOptions(options))) {
    results.push({ path: r.path ?? '', cid: r.cid.toString(), size: Number(r.size) })
  }
  return results
}

// --- node construction ---------------------------------------------------------------------
const cfg = JSON.parse(process.argv[2] ?? '{}')
const offline = cfg.offline === true
const listen = cfg.listen ?? ['/ip4/127.0.0.1/tcp/0']
for (const a of listen) {
  if (!isLoopbackMultiaddr(multiaddr(a))) throw new Error(`refusing non-loopback listen address ${a}`)
}

let blockstore
if (cfg.blockstore === 'fs') {
  if (cfg.dir == null) throw new Error('blockstore "fs" needs "dir"')
  blockstore = new FsBlockstore(cfg.dir)
  await blockstore.open()
} else {
  blockstore = new MemoryBlockstore()
}
const datastore = new MemoryDatastore()
const dhtCfg = cfg.dht ?? null
// imported only when asked for: a node_modules installed before these were pinned still runs
// every other command
const dhtMods = dhtCfg == null
  ? null
  : {
      ...(await import('@libp2p/kad-dht')),
      ...(await import('ipns/validator')),
      ...(await import('ipns/selector'))
    }

const t0 = performance.now()
let helia = createHeliaLight({ blockstore, datastore })
if (!offline) {
  helia = withBitswap(withLibp2pLight(helia, {
    addresses: { listen, announce: [], appendAnnounce: [], noAnnounce: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    connectionGater: loopbackOnlyGater,
    services: {
      identify: identify(),
      ping: ping(),
      ...(dhtCfg == null
        ? {}
        : {
            dht: dhtMods.kadDHT({
              protocol: dhtCfg.protocol ?? '/ipfs/kad/1.0.0',
              clientMode: dhtCfg.clientMode ?? false,
              peerInfoMapper: dhtMods.passthroughMapper,
              validators: { ipns: dhtMods.ipnsValidator },
              selectors: { ipns: dhtMods.ipnsSelector }
            })
          })
    }
  }))
}
await helia.start()
const fs = unixfs(helia)
const cars = car(helia)

function assertConfined () {
  if (offline) return
  const lp = helia.libp2p
  const addrs = lp.getMultiaddrs()
  for (const a of addrs) {
    if (!isLoopbackMultiaddr(a)) throw new Error(`helia listens on non-loopback ${a}`)
  }
  // Only the protocols we asked for (identify, ping, bitswap, the DHT if asked): no relay, no autonat.
  const bad = lp.getProtocols().filter(p => /relay|autonat|dcutr|upnp|fetch/.test(p) ||
    (/kad/.test(p) && (dhtCfg == null || p !== (dhtCfg.protocol ?? '/ipfs/kad/1.0.0'))))
  if (bad.length > 0) throw new Error(`unexpected protocols ${bad}`)
}
assertConfined()

function info () {
  if (offline) return { offline: true }
  return {
    offline: false,
    peer_id: helia.libp2p.peerId.toString(),
    multiaddrs: helia.libp2p.getMultiaddrs().map(String),
    protocols: helia.libp2p.getProtocols()
  }
}

// Every network wait gets a deadline (a CID nobody has is otherwise awaited forever); a
// failure after the deadline is reported as TimeoutError whatever the library called it.
const signals = new WeakMap()
function signalFor (args) {
  const s = AbortSignal.timeout(Math.round((args.timeout ?? 30) * 1000))
  signals.set(args, s)
  return s
}
function normaliseError (args, err) {
  if (signals.get(args)?.aborted) {
    return { error: `deadline of ${args.timeout ?? 30}s passed: ${err?.message ?? err}`, name: 'TimeoutError' }
  }
  return { error: String(err?.message ?? err), name: err?.name ?? 'Error' }
}

function needOnline () {
  if (offline) throw new Error('this Helia peer runs offline (no libp2p)')
}

async function writeStream (dest, iterable) {
  await fsp.mkdir(path.dirname(dest), { recursive: true })
  const out = createWriteStream(dest)
  let n = 0
  try {
    for await (const buf of iterable) {
      n += buf.length
      if (!out.write(buf)) await once(out, 'drain')
    }
  } finally {
    out.end()
    await once(out, 'close')
  }
  return n
}

async function getTree (cid, dest, signal) {
  const st = await fs.stat(cid, { signal })
  if (st.type === 'directory') {
    await fsp.mkdir(dest, { recursive: true })
    let files = 0
    for await (const e of fs.ls(cid, { signal })) {
      files += await getTree(e.cid, path.join(dest, e.name), signal)
    }
    return files
  }
  await writeStream(dest, fs.cat(cid, { signal }))
  return 1
}

const handlers = {
  async id () { return info() },
  async add_file (a) {
    const store = a.only_hash ? new MemoryBlockstore() : helia.blockstore
    const name = a.name ?? path.basename(a.path)
    const opts = a.options ?? {}
    const src = opts.wrapWithDirectory ? [{ path: name, content: createReadStream(a.path) }] : [{ content: createReadStream(a.path) }]
    const entries = await importEntries(src, store, opts)
    return { cid: entries[entries.length - 1].cid, entries }
  },
  async add_bytes (a) {
    const store = a.only_hash ? new MemoryBlockstore() : helia.blockstore
    const data = Buffer.from(a.data_b64, 'base64')
    const entries = await importEntries([{ content: data }], store, a.options ?? {})
    return { cid: entries[entries.length - 1].cid, entries }
  },
  async add_dir (a) {
    const store = a.only_hash ? new MemoryBlockstore() : helia.blockstore
    const st = await fsp.stat(a.path)
    if (!st.isDirectory()) throw new Error(`not a directory: ${a.path}`)
    const name = a.name ?? path.basename(path.resolve(a.path))
    const entries = await importEntries(treeSource(a.path, name), store, a.options ?? {})
    return { cid: entries[entries.length - 1].cid, entries }
  },
  async cat (a) {
    const signal = signalFor(a)
    const opts = { signal }
    if (a.offset != null) opts.offset = a.offset
    if (a.length != null) opts.length = a.length
    if (a.dest != null) return { size: await writeStream(a.dest, fs.cat(CID.parse(a.cid), opts)) }
    const chunks = []
    for await (const c of fs.cat(CID.parse(a.cid), opts)) chunks.push(c)
    const buf = Buffer.concat(chunks)
    return { size: buf.length, data_b64: buf.toString('base64') }
  },
  async get (a) {
    return { files: await getTree(CID.parse(a.cid), a.dest, signalFor(a)) }
  },
  async stat (a) {
    const st = await fs.stat(CID.parse(a.cid), { signal: signalFor(a) })
    return { type: st.type, cid: st.cid.toString(), size: Number(st.size ?? st.fileSize ?? 0) }
  },
  async has (a) { return { has: await helia.blockstore.has(CID.parse(a.cid)) } },
  async get_block (a) {
    const b = await helia.blockstore.get(CID.parse(a.cid), { signal: signalFor(a) })
    const chunks = []
    if (b instanceof Uint8Array) chunks.push(b)
    else for await (const c of b) chunks.push(c)
    return { data_b64: Buffer.concat(chunks).toString('base64') }
  },
  async dial (a) {
    needOnline()
    const conn = await helia.libp2p.dial(multiaddr(a.addr), { signal: signalFor(a) })
    return { peer_id: conn.remotePeer.toString(), remote_addr: conn.remoteAddr.toString() }
  },
  async ping (a) {
    needOnline()
    return { rtt_ms: await helia.libp2p.services.ping.ping(multiaddr(a.addr), { signal: signalFor(a) }) }
  },
  async hangup (a) {
    needOnline()
    await helia.libp2p.hangUp(multiaddr(a.addr))
    return {}
  },
  async peers () {
    needOnline()
    return {
      peers: helia.libp2p.getConnections().map(c => ({ peer_id: c.remotePeer.toString(), addr: c.remoteAddr.toString() }))
    }
  },
  async export_car (a) {
    const roots = (Array.isArray(a.cid) ? a.cid : [a.cid]).map(c => CID.parse(c))
    return { size: await writeStream(a.dest, cars.export(roots, { signal: signalFor(a) })) }
  },
  async import_car (a) {
    const reader = await CarReader.fromIterable(createReadStream(a.path))
    const roots = (await reader.getRoots()).map(String)
    await cars.import(reader)
    return { roots }
  },
  async provide (a) {
    needOnline()
    await helia.libp2p.contentRouting.provide(CID.parse(a.cid), { signal: signalFor(a) })
    return {}
  },
  async find_providers (a) {
    needOnline()
    const out = []
    const t0 = performance.now()
    for await (const p of helia.libp2p.contentRouting.findProviders(CID.parse(a.cid), { signal: signalFor(a) })) {
      out.push({ peer_id: p.id.toString(), multiaddrs: p.multiaddrs.map(String), ms: performance.now() - t0 })
      if (out.length >= (a.limit ?? 1)) break
    }
    return { providers: out }
  },
  async find_peer (a) {
    needOnline()
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const p = await helia.libp2p.peerRouting.findPeer(peerIdFromString(a.peer_id), { signal: signalFor(a) })
    return { peer_id: p.id.toString(), multiaddrs: p.multiaddrs.map(String) }
  },
  async dht_put (a) {
    needOnline()
    await helia.libp2p.contentRouting.put(Buffer.from(a.key_b64, 'base64'), Buffer.from(a.value_b64, 'base64'), { signal: signalFor(a) })
    return {}
  },
  async dht_get (a) {
    needOnline()
    const v = await helia.libp2p.contentRouting.get(Buffer.from(a.key_b64, 'base64'), { signal: signalFor(a) })
    return { value_b64: Buffer.from(v).toString('base64') }
  },
  async dht_info () {
    needOnline()
    const dht = helia.libp2p.services.dht
    if (dht == null) throw new Error('this Helia peer runs without a DHT')
    return { mode: dht.getMode(), routing_table_size: dht.routingTable?.size ?? null }
  },
  async stop () {
    await helia.stop()
    if (cfg.blockstore === 'fs') await blockstore.close()
    return {}
  }
}

send({ event: 'ready', startup_ms: performance.now() - t0, ...info() })

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
let stopping = false
const inFlight = new Set()
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
  let run
  if (msg.cmd === 'stop') {
    // let commands already in flight answer first (each has its own timeout)
    stopping = true
    run = Promise.allSettled([...inFlight]).then(() => h(msg))
  } else {
    run = h(msg)
    inFlight.add(run)
    run.finally(() => inFlight.delete(run)).catch(() => {})
  }
  run.then(
    (result) => {
      send({ id: msg.id, ok: true, result })
      if (msg.cmd === 'stop') process.exit(0)
    },
    (err) => send({ id: msg.id, ok: false, ...normaliseError(msg, err) })
  )
})
rl.on('close', async () => {
  // Parent went away: shut down rather than linger.
  if (!stopping) {
    try { await helia.stop() } catch {}
    process.exit(0)
  }
})
