import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { UserRecord } from '../../src/mock/users/record.js'
import { sign } from '../../src/template/signature.js'
import { killAll, post, sleep } from '../process.js'
import { ALICE } from '../support.js'
import { adminCall, type DataDir, dataDir, figure, freePort, type Running, start } from './stress.js'

// No secret, no signature and no admin token in anything the server says: every stdout and stderr byte
// at LOG_LEVEL=trace, every endpoint answer (headers included), every admin API answer and the SSE
// stream. Besides the signatures sent, the HMACs the server could compute (of each body under each
// secret) are searched for too, so a "findings" leak of a computed signature would show.

const SECRETS = ['stress-Secret-One-7c1d', 'stress-Secret-Two-93ab']
const ADMIN_TOKEN = 'stress-Admin-Token-4f2e8a'
const WRONG_SECRET = 'not-the-secret-0000'

const USERS: UserRecord[] = [
  structuredClone(ALICE),
  {
    userToken: 'usr_flaky',
    name: 'Flaky',
    simulate: { sequence: [{ scenario: 'error', status: 503 }, 'ok'], windowMs: 10_000 },
  },
]

let data: DataDir
let running: Running
/** Every byte the server sent back, in any channel. */
const heard: string[] = []
/** Every signature sent, and every HMAC the server could have computed. */
const forbidden = new Set<string>([...SECRETS, ADMIN_TOKEN])

function remember(body: string, signature?: string) {
  if (signature) forbidden.add(signature)
  for (const secret of [...SECRETS, WRONG_SECRET]) {
    forbidden.add(sign(secret, body))
    forbidden.add(sign(secret, `${body}\n`))
    forbidden.add(sign(`${secret}\n`, body))
  }
}

async function endpoint(body: string, signature: string | null, headers: Record<string, string> = {}) {
  if (signature) remember(body, signature)
  else remember(body)
  const sent: Record<string, string> = { 'Content-Type': 'application/json', ...headers }
  if (signature !== null) sent['X-Talki-Signature'] = signature
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(running.url, { method: 'POST', headers: sent, agent: false }, (res) => {
      let text = JSON.stringify(res.rawHeaders)
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => {
        heard.push(text)
        resolve(res.statusCode ?? 0)
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function admin(method: string, path: string, token: string | null = ADMIN_TOKEN, body?: unknown) {
  const res = await adminCall(running.admin, method, path, {
    ...(token === null ? {} : { token }),
    ...(body === undefined ? {} : { body }),
  })
  heard.push(res.text)
  return res.status
}

beforeAll(async () => {
  data = await dataDir(USERS)
  const adminPort = await freePort()
  running = await start(data.dataFile, {
    TALKI_SECRET: SECRETS.join(','),
    ADMIN_TOKEN,
    ADMIN_PORT: String(adminPort),
    LOG_LEVEL: 'trace',
  })
})

afterAll(async () => {
  await killAll()
  await data.cleanup()
})

describe('secrets, signatures and the admin token never leave the server', () => {
  it('not in any log line, endpoint answer, admin answer or stream event', async () => {
    // The SSE stream, authenticated with ?token= as EventSource does, open for the whole drive.
    let streamed = ''
    const stream = httpRequest(`${running.admin}/api/requests/stream?token=${ADMIN_TOKEN}`, { agent: false })
    stream.on('response', (res) => {
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        streamed += chunk
      })
    })
    stream.on('error', () => {})
    stream.end()
    await sleep(200)

    const statuses: Record<string, number[]> = {}
    const note = (kind: string, status: number) => {
      statuses[kind] ??= []
      statuses[kind].push(status)
    }
    const tokens = ['usr_abc123', 'usr_flaky', 'usr_unknown', '__proto__', 'x'.repeat(256)]
    for (let round = 0; round < 20; round++) {
      for (const token of tokens) {
        const body = JSON.stringify({ userToken: token })
        const secret = SECRETS[round % 2] ?? ''
        const good = sign(secret, body)
        note('valid', await endpoint(body, round % 3 === 0 ? good.toUpperCase() : good))
        note('invalid', await endpoint(body, sign(WRONG_SECRET, body)))
        note('invalid', await endpoint(body, sign(secret, `${body}\n`)))
        note('invalid', await endpoint(`${body}\n`, good))
        note('invalid', await endpoint(body, sign(`${secret}\n`, body)))
        note('invalid', await endpoint(JSON.stringify({ userToken: token }, null, 2), good))
        note('missing', await endpoint(body, null))
        note('malformed', await endpoint(body, good.slice(1)))
        note('malformed', await endpoint(body, `sha256=${good}`))
        note('malformed', await endpoint(body, `${good},${good}`))
      }
      const bigBody = JSON.stringify({ userToken: 'usr_abc123', pad: 'p'.repeat(20_000) })
      note('too_large', await endpoint(bigBody, sign(SECRETS[0] ?? '', bigBody)))
      const body = JSON.stringify({ userToken: 'usr_abc123' })
      note('encoded', await endpoint(body, sign(SECRETS[0] ?? '', body), { 'Content-Encoding': 'gzip' }))
    }

    // The admin API, with the bearer, and with near misses of it.
    const calls: [string, string, unknown?][] = [
      ['GET', '/api/simulation'],
      ['PUT', '/api/simulation', { scenario: 'error', status: 503, count: 2 }],
      ['GET', '/api/simulation'],
      ['DELETE', '/api/simulation'],
      ['GET', '/api/users?limit=1000'],
      ['GET', '/api/users/usr_abc123'],
      ['PUT', '/api/users/usr_secretive', { name: 'Secretive', fields: { note: 'nothing to see' } }],
      ['GET', '/api/requests?limit=100000'],
      ['GET', '/api/openapi.json'],
    ]
    for (const [method, path, body] of calls) note('admin', await admin(method, path, ADMIN_TOKEN, body))
    for (const wrong of [`${ADMIN_TOKEN}x`, ADMIN_TOKEN.toUpperCase(), ADMIN_TOKEN.slice(0, -1)]) {
      note('admin_refused', await admin('GET', '/api/users', wrong))
      note('admin_refused', await admin('PUT', '/api/simulation', wrong, { scenario: 'slow' }))
    }
    note('admin_refused', await admin('GET', `/api/users?token=${ADMIN_TOKEN}`, null))
    note('admin', await admin('GET', '/api/requests?limit=100000'))
    // A signed request through the real endpoint with the node:http helper too (keeps the same bytes).
    const last = JSON.stringify({ userToken: 'usr_abc123' })
    remember(last, sign(SECRETS[1] ?? '', last))
    const wire = await post(running.url, last, { signature: sign(SECRETS[1] ?? '', last) })
    expect(wire).toMatchObject({ kind: 'response', status: 200 })
    if (wire.kind === 'response') heard.push(JSON.stringify(wire.headers) + wire.body)

    await sleep(300)
    stream.destroy()
    running.server.child.kill('SIGTERM')
    expect((await running.server.exited).code).toBe(0)
    heard.push(streamed, running.server.stdout(), running.server.stderr())

    // The drive did what it meant to: each kind got its answer.
    expect(new Set(statuses.valid)).toEqual(new Set([200, 404, 503]))
    expect(new Set(statuses.invalid)).toEqual(new Set([401]))
    expect(new Set(statuses.missing)).toEqual(new Set([401]))
    expect(new Set(statuses.malformed)).toEqual(new Set([401]))
    expect(new Set(statuses.too_large)).toEqual(new Set([413]))
    expect(new Set(statuses.encoded)).toEqual(new Set([415]))
    expect(statuses.admin?.every((status) => status < 300)).toBe(true)
    expect(new Set(statuses.admin_refused)).toEqual(new Set([401]))
    // The channels really carried something: log lines for every request, findings, stream events.
    const logLines = running.server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
    expect(logLines.filter((line) => line.includes('"msg":"request"')).length).toBeGreaterThan(1000)
    expect(streamed).toContain('"trailingNewlineAdded":true')
    expect(streamed).toContain('"secretWhitespace":true')
    expect(streamed.split('\ndata: ').length).toBeGreaterThan(500)

    const haystack = heard.join('\n').toLowerCase()
    const found = [...forbidden].filter((needle) => haystack.includes(needle.toLowerCase()))
    const requests = Object.values(statuses).reduce((sum, list) => sum + list.length, 0) + 1
    figure('secrets_requests_driven', requests)
    figure('secrets_bytes_searched', haystack.length)
    figure('secrets_needles', forbidden.size)
    figure('secrets_found', found.length)
    expect(found).toEqual([])
  })
})
