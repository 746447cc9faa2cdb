import { createHmac } from 'node:crypto'
import http from 'node:http'

// The slow scenario's lateness seen from both sides: 500 requests for a user whose own simulate is slow 1000 ms,
// one per millisecond, against a running server (PORT, ADMIN_PORT, TALKI_SECRET); "server" is the request
// log's latencyMs (arrival to answer), "client" includes this process's own event loop on the shared cores.
//   LOG_LEVEL=warn TALKI_SECRET=s3cret PORT=3700 ADMIN_PORT=3701 node dist/mock/main.js &
//   TALKI_SECRET=s3cret PORT=3700 ADMIN_PORT=3701 node bench/slow-both-sides.mjs
const port = Number(process.env.PORT ?? 3000)
const adminPort = Number(process.env.ADMIN_PORT ?? 3001)
const secret = process.env.TALKI_SECRET ?? 's3cret'
const agent = new http.Agent({ keepAlive: true, maxSockets: 600 })
const body = JSON.stringify({ userToken: 'usr_slow1s' })
const sig = createHmac('sha256', secret).update(body).digest('hex')
const post = () =>
  new Promise((resolve) => {
    const t = performance.now()
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/talki/customer',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'x-talki-signature': sig,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(performance.now() - t))
      },
    )
    req.end(body)
  })
const put = (path, data) =>
  new Promise((r) => {
    const b = JSON.stringify(data)
    http
      .request(
        {
          host: '127.0.0.1',
          port: adminPort,
          path,
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) },
        },
        (res) => {
          res.resume()
          res.on('end', r)
        },
      )
      .end(b)
  })
await put('/api/users/usr_slow1s', { name: 'S', simulate: { scenario: 'slow', delayMs: 1000 } })
await fetch(`http://127.0.0.1:${adminPort}/api/requests`, { method: 'DELETE' })
const all = []
for (let i = 0; i < 500; i++) {
  all.push(post())
  await new Promise((r) => setTimeout(r, 1))
}
const client = (await Promise.all(all)).map((x) => x - 1000).sort((a, b) => a - b)
const log = (await (await fetch(`http://127.0.0.1:${adminPort}/api/requests?limit=1000`)).json()).requests
  .filter((e) => e.token === 'usr_slow1s')
  .map((e) => e.latencyMs - 1000)
  .sort((a, b) => a - b)
const p = (a, q) => a[Math.min(a.length - 1, Math.floor(q * a.length))].toFixed(2)
console.log(
  'client late p50',
  p(client, 0.5),
  'p99',
  p(client, 0.99),
  '| server late p50',
  p(log, 0.5),
  'p99',
  p(log, 0.99),
  'n',
  log.length,
)
process.exit(0)
