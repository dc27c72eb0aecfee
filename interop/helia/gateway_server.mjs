// Helia's HTTP gateway stack against jzfs (jiaozi_node interop suite, HTTP part). Two modes:
//
//   node gateway_server.mjs serve FILE.car
//     A small trustless gateway we did not write: a Helia node (no network at all: no libp2p, and
//     a block broker whose only router finds nobody) holding the blocks of FILE.car, answering GET/HEAD
//     /ipfs/{cid}[/path][?format=raw|car...] with @helia/verified-fetch. Prints
//     {"url": "http://127.0.0.1:PORT"} on stdout when listening (127.0.0.1 only).
//
//   node gateway_server.mjs fetch GATEWAY_URL IPFS_PATH [ACCEPT]
//     Helia as a gateway CLIENT: a Helia node whose only block broker is the trustless-gateway
//     client and whose only router is a fallback router naming GATEWAY_URL (a loopback URL; no
//     delegated routing, no public gateways) fetches ipfs://IPFS_PATH with @helia/verified-fetch
//     (which verifies every block) and prints {"status", "headers", "length", "sha256", "body_b64"?}.
//
// Every console.* call of any library goes to stderr: stdout carries only the one JSON line.

import './polyfill.mjs' // must stay the first import: Promise.withResolvers for Node 20

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import http from 'node:http'

import { createHeliaLight } from 'helia'
import { trustlessGatewayBlockBroker } from '@helia/trustless-gateway-client'
import { fallbackRouter } from '@helia/fallback-router'
import { createVerifiedFetch } from '@helia/verified-fetch'
import { CarReader } from '@ipld/car'

const out = process.stdout
for (const k of ['log', 'info', 'debug', 'warn', 'trace', 'dir']) {
  console[k] = (...a) => process.stderr.write(a.map(String).join(' ') + '\n')
}

const TIMEOUT_MS = 30_000

const emptyRouter = {
  name: 'empty',
  async * findProviders () {},
  async findPeer () { throw new Error('not found') }
}

async function serve (carPath) {
  // verified-fetch needs a block broker to open sessions; this one can never reach anything:
  // its only router finds no providers, so every answer comes from the local blockstore.
  const helia = createHeliaLight({ blockBrokers: [trustlessGatewayBlockBroker()], routers: [emptyRouter] })
  await helia.start()
  const reader = await CarReader.fromIterable(createReadStream(carPath))
  for await (const { cid, bytes } of reader.blocks()) {
    await helia.blockstore.put(cid, bytes)
  }
  const vfetch = await createVerifiedFetch(helia)
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1')
      if (!url.pathname.startsWith('/ipfs/')) {
        res.writeHead(404).end()
        return
      }
      const headers = {}
      if (req.headers.accept) headers.accept = req.headers.accept
      const resp = await vfetch(`ipfs://${url.pathname.slice(6)}${url.search}`, {
        method: req.method, headers, signal: AbortSignal.timeout(TIMEOUT_MS)
      })
      const outHeaders = {}
      resp.headers.forEach((v, k) => { outHeaders[k] = v })
      res.writeHead(resp.status, outHeaders)
      if (resp.body != null && req.method !== 'HEAD') {
        for await (const chunk of resp.body) res.write(chunk)
      }
      res.end()
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String(err))
    }
  })
  server.listen(0, '127.0.0.1', () => {
    out.write(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }) + '\n')
  })
  const stop = async () => { server.close(); await helia.stop(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

async function fetchFrom (gateway, ipfsPath, accept) {
  const dbg = (m) => { if (process.env.JZFS_DEBUG) process.stderr.write(m + "\n") }
  const helia = createHeliaLight({
    blockBrokers: [trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })],
    // helia 7.1.15's routing waits forever when every router is a fallback router (its idle
    // signal only fires after a non-fallback router finished): add one that finds nothing.
    routers: [emptyRouter, fallbackRouter({ gateways: [gateway], shuffle: false })]
  })
  dbg('starting')
  await helia.start()
  dbg('started')
  const vfetch = await createVerifiedFetch(helia)
  dbg('vfetch ready')
  const headers = accept ? { accept } : {}
  const resp = await vfetch(`ipfs://${ipfsPath}`, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) })
  dbg(`response ${resp.status}`)
  const body = Buffer.from(await resp.arrayBuffer())
  const hdrs = {}
  resp.headers.forEach((v, k) => { hdrs[k] = v })
  const result = {
    status: resp.status,
    headers: hdrs,
    length: body.length,
    sha256: createHash('sha256').update(body).digest('hex')
  }
  if (body.length <= 65536) result.body_b64 = body.toString('base64')
  out.write(JSON.stringify(result) + '\n')
  await helia.stop()
}

const [mode, ...args] = process.argv.slice(2)
try {
  if (mode === 'serve') await serve(args[0])
  else if (mode === 'fetch') { await fetchFrom(args[0], args[1], args[2]); process.exit(0) }
  else throw new Error(`unknown mode ${mode} (serve FILE.car | fetch GATEWAY PATH [ACCEPT])`)
} catch (err) {
  out.write(JSON.stringify({ error: String(err?.stack ?? err) }) + '\n')
  process.exit(1)
}
