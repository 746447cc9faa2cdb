// The same work as the vendor sample on bare node:http, with nothing else: the raw body, the HMAC over it,
// a constant-time compare, a Map lookup, a JSON answer. It is the practical ceiling for this route on a
// given machine; no framework can be faster than this, so the ratio to it shows what a framework costs.
//
// Environment: PORT (0 = a free port), HOST (default 127.0.0.1), TALKI_SECRET, DATA_FILE; BARE_HEADERS=helmet
// answers with this project's headers instead (ANSWER_HEADERS of src/template/protocol.ts: helmet's defaults,
// no-store, JSON), so the benchmark shows what those headers alone cost (the bare-headers target).

import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const secret = process.env.TALKI_SECRET ?? ''
const { users } = JSON.parse(readFileSync(process.env.DATA_FILE ?? '', 'utf8'))
const index = new Map(users.map((user) => [user.userToken, user]))
const PATH = '/talki/customer'
const SIGNATURE = /^[0-9a-fA-F]{64}$/

function answerPlain(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  })
  res.end(text)
}

// BARE_HEADERS=helmet: the project's own answer headers, from its build (npm run bench builds first).
const helmet =
  process.env.BARE_HEADERS === 'helmet'
    ? (await import('../../dist/template/protocol.js')).ANSWER_HEADERS
    : undefined

function answerWithHeaders(res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...helmet, 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

const answer = helmet === undefined ? answerPlain : answerWithHeaders

function profile(user) {
  const out = {}
  if (user.name !== undefined) out.name = user.name
  if (user.email !== undefined) out.email = user.email
  if (user.plan !== undefined) out.plan = user.plan
  if (user.fields !== undefined) out.fields = user.fields
  return out
}

function handle(req, res, raw) {
  const sig = req.headers['x-talki-signature']
  const expected = createHmac('sha256', secret).update(raw).digest()
  if (
    typeof sig !== 'string' ||
    !SIGNATURE.test(sig) ||
    !timingSafeEqual(Buffer.from(sig, 'hex'), expected)
  ) {
    return answer(res, 401, { error: 'invalid_signature' })
  }
  let token
  try {
    token = JSON.parse(raw.toString('utf8')).userToken
  } catch {
    return answer(res, 400, { error: 'invalid_body' })
  }
  const user = typeof token === 'string' ? index.get(token) : undefined
  if (user === undefined) return answer(res, 404, { error: 'user_not_found' })
  answer(res, 200, profile(user))
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== PATH) return answer(res, 404, { error: 'not_found' })
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => handle(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)))
})

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address()
  const url = `http://${address}:${port}${PATH}`
  console.log(JSON.stringify({ level: 30, time: Date.now(), msg: 'endpoint listening', url }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
