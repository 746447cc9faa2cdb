import { type IncomingHttpHeaders, request } from 'node:http'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EndpointOptions } from '../../src/template/customer-route.js'
import { createMapStore } from '../../src/template/map-store.js'
import { ANSWER_HEADERS, type UserRecord } from '../../src/template/protocol.js'
import { sign } from '../../src/template/signature.js'
import type { UserStore } from '../../src/template/user-store.js'
import { ALICE, SECOND_SECRET, TEST_SECRET } from '../support.js'

// One table of what every adapter answers (the endpoint's order of work: size, encoding, signature, body,
// lookup, answer), run over real HTTP against each adapter's test file. Each case changes one thing of a
// valid signed request. The signature grammar itself is tested once, in signature.test.ts.

export const PATH = '/talki/customer'
export const BODY_LIMIT = 1024
const LOOKUP_TIMEOUT_MS = 300
const VENDOR_BODY = '{"userToken":"usr_abc123"}'
// printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
const VENDOR_SIGNATURE = 'c9db3bfddcfc85e7f43790bfef0ccc2618adf476fbcbbd85227d8cf481212bd7'
// printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'rotated-secret-abcdef'
const VENDOR_SIGNATURE_SECOND = 'dc35afae4cdc5dec3f9f3cde9f80a0082427a7ebf047fb90eb33d93af403e2d4'
const ALICE_PROFILE = {
  name: 'Alice Johnson',
  email: 'alice@example.com',
  plan: 'pro',
  fields: { mrr: 149, company: 'Acme Inc', signedUpAt: '2024-01-15', seats: 5 },
}

/** Starts the adapter under test on 127.0.0.1 with a free port, with these options and PATH. */
export type StartAdapter = (options: EndpointOptions & { path: string }) => Promise<{
  url: URL
  close(): Promise<void>
}>

/** What goes on the wire; a valid signed request unless a case changes it. */
interface WireRequest {
  method: string
  path: string
  headers: Record<string, string | number>
  body: string | Buffer
  /** Send the headers and this much of the body, and never end the request. */
  unfinished?: boolean
}

interface WireAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** Resolves when the server has closed the connection. */
  closed: Promise<boolean>
}

function validRequest(): WireRequest {
  return {
    method: 'POST',
    path: PATH,
    headers: { 'Content-Type': 'application/json', 'X-Talki-Signature': VENDOR_SIGNATURE },
    body: VENDOR_BODY,
  }
}

/** A valid request whose body is `body`, signed over exactly those bytes. */
function signedBody(body: string | Buffer, headers: Record<string, string | number> = {}): WireRequest {
  const request = validRequest()
  return {
    ...request,
    body,
    headers: { ...request.headers, 'X-Talki-Signature': sign(TEST_SECRET, body), ...headers },
  }
}

function exchange(base: URL, wire: WireRequest): Promise<WireAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(wire.path, base), {
      method: wire.method,
      headers: wire.headers,
      agent: false,
      timeout: 5000,
    })
    let closed: (value: boolean) => void = () => {}
    const socketClosed = new Promise<boolean>((resolve) => {
      closed = resolve
    })
    req.on('socket', (socket) => socket.once('close', () => closed(true)))
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')))
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          closed: socketClosed,
        }),
      )
    })
    if (wire.unfinished) {
      req.write(wire.body)
      setTimeout(() => req.destroy(), 4000).unref()
    } else req.end(wire.body)
  })
}

interface Case {
  name: string
  request: WireRequest
  status: number
  body?: unknown
  /** Headers beyond ANSWER_HEADERS that the answer must carry, exactly. */
  headers?: Record<string, string>
  /** The server closes the connection after answering. */
  closes?: boolean
  /** The store is asked (false: the request is refused before the lookup). */
  looksUp: boolean
}

const withHeaders = (headers: Record<string, string | number>, drop: string[] = []): WireRequest => {
  const request = validRequest()
  const kept = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !drop.includes(name)))
  return { ...request, headers: { ...kept, ...headers } }
}
const other = (change: Partial<WireRequest>): WireRequest => ({ ...validRequest(), ...change })
const notJson = { error: 'invalid_body', detail: 'body is not UTF-8 JSON' }

const CASES: Case[] = [
  // answer
  { name: 'the vendor example', request: validRequest(), status: 200, body: ALICE_PROFILE, looksUp: true },
  {
    name: 'a query string on the path',
    request: other({ path: `${PATH}?x=1` }),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  {
    name: 'a signature under the second secret (rotation)',
    request: withHeaders({ 'X-Talki-Signature': VENDOR_SIGNATURE_SECOND }),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  {
    name: 'an uppercase hex signature',
    request: withHeaders({ 'X-Talki-Signature': VENDOR_SIGNATURE.toUpperCase() }),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  {
    name: 'Content-Type text/plain',
    request: withHeaders({ 'Content-Type': 'text/plain' }),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  {
    name: 'no Content-Type',
    request: withHeaders({}, ['Content-Type']),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  {
    name: 'a Content-Type that does not parse',
    request: withHeaders({ 'Content-Type': 'no/such/;;type' }),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  {
    name: 'Content-Encoding: identity',
    request: withHeaders({ 'Content-Encoding': 'identity' }),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  {
    name: 'a body of exactly BODY_LIMIT bytes',
    request: signedBody(VENDOR_BODY.padEnd(BODY_LIMIT, ' ')),
    status: 200,
    body: ALICE_PROFILE,
    looksUp: true,
  },
  // size
  {
    name: 'a body one byte over BODY_LIMIT',
    request: signedBody(VENDOR_BODY.padEnd(BODY_LIMIT + 1, ' ')),
    status: 413,
    body: { error: 'payload_too_large' },
    headers: { connection: 'close' },
    closes: true,
    looksUp: false,
  },
  {
    name: 'a declared Content-Length of 50 MB, only headers sent',
    request: { ...withHeaders({ 'Content-Length': 50 * 1024 * 1024 }), body: '', unfinished: true },
    status: 413,
    body: { error: 'payload_too_large' },
    headers: { connection: 'close' },
    closes: true,
    looksUp: false,
  },
  {
    name: 'a chunked body past BODY_LIMIT that never ends',
    request: {
      ...withHeaders({ 'Transfer-Encoding': 'chunked' }),
      body: Buffer.alloc(BODY_LIMIT * 4, 0x20),
      unfinished: true,
    },
    status: 413,
    body: { error: 'payload_too_large' },
    headers: { connection: 'close' },
    closes: true,
    looksUp: false,
  },
  // encoding
  {
    name: 'a gzip body signed over its gzip bytes',
    request: signedBody(gzipSync(VENDOR_BODY), { 'Content-Encoding': 'gzip' }),
    status: 415,
    body: { error: 'unsupported_encoding' },
    looksUp: false,
  },
  // signature (one row per verdict; the grammar's cases are in signature.test.ts)
  {
    name: 'no signature header',
    request: withHeaders({}, ['X-Talki-Signature']),
    status: 401,
    body: { error: 'missing_signature' },
    looksUp: false,
  },
  {
    name: 'a sha256= prefixed signature',
    request: withHeaders({ 'X-Talki-Signature': `sha256=${VENDOR_SIGNATURE}` }),
    status: 401,
    body: { error: 'malformed_signature' },
    looksUp: false,
  },
  {
    name: 'the signature of other bytes',
    request: signedBody(VENDOR_BODY, { 'X-Talki-Signature': sign(TEST_SECRET, `${VENDOR_BODY}\n`) }),
    status: 401,
    body: { error: 'invalid_signature' },
    looksUp: false,
  },
  // body
  {
    name: 'a signed body that is not JSON',
    request: signedBody('nope'),
    status: 400,
    body: notJson,
    looksUp: false,
  },
  { name: 'a signed empty body', request: signedBody(''), status: 400, body: notJson, looksUp: false },
  {
    name: 'a signed body without the token',
    request: signedBody('{"user":"usr_abc123"}'),
    status: 400,
    body: { error: 'invalid_body', detail: 'userToken must be a non-empty string of at most 256 characters' },
    looksUp: false,
  },
  // lookup
  {
    name: 'an unknown user',
    request: signedBody('{"userToken":"usr_nobody"}'),
    status: 404,
    body: { error: 'user_not_found' },
    looksUp: true,
  },
  {
    name: 'the token __proto__',
    request: signedBody('{"userToken":"__proto__"}'),
    status: 404,
    body: { error: 'user_not_found' },
    looksUp: true,
  },
  {
    name: 'a store that does not answer within the deadline',
    request: signedBody('{"userToken":"usr_never"}'),
    status: 503,
    body: { error: 'lookup_timeout' },
    headers: { 'retry-after': '3' },
    looksUp: true,
  },
  {
    name: 'a store that throws',
    request: signedBody('{"userToken":"usr_failing"}'),
    status: 503,
    body: { error: 'store_unavailable' },
    headers: { 'retry-after': '3' },
    looksUp: true,
  },
  // methods and paths
  ...['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].map(
    (method): Case => ({
      name: `${method} on the path`,
      request: other({ method, body: '' }),
      status: 405,
      body: { error: 'method_not_allowed' },
      headers: { allow: 'POST' },
      looksUp: false,
    }),
  ),
  {
    name: 'HEAD on the path',
    request: other({ method: 'HEAD', body: '' }),
    status: 405,
    headers: { allow: 'POST' },
    looksUp: false,
  },
  {
    name: 'a POST to another path',
    request: other({ path: `${PATH}s` }),
    status: 404,
    body: { error: 'not_found' },
    looksUp: false,
  },
]

/** The users behind every adapter: Alice; `usr_never` never answers, `usr_failing` throws. */
function scriptedStore(): UserStore & { lookups: string[] } {
  const users = createMapStore<UserRecord>([ALICE])
  const lookups: string[] = []
  return {
    lookups,
    find(token) {
      lookups.push(token)
      if (token === 'usr_never') return new Promise(() => {})
      if (token === 'usr_failing') return Promise.reject(new Error('connection refused'))
      return users.find(token)
    },
  }
}

export interface AdapterTraits {
  /**
   * The platform reads the whole body before the handler runs (Lambda behind API Gateway): the rows
   * whose body never ends test the platform, not the handler, and are left out.
   */
  buffered?: boolean
}

/** Runs the whole table against one adapter over real HTTP. */
export function describeAdapter(name: string, start: StartAdapter, traits: AdapterTraits = {}): void {
  const cases = traits.buffered ? CASES.filter((row) => !row.request.unfinished) : CASES
  describe(`the ${name} adapter answers as the endpoint contract says`, () => {
    const store = scriptedStore()
    let server: Awaited<ReturnType<StartAdapter>>
    beforeAll(async () => {
      server = await start({
        secrets: [TEST_SECRET, SECOND_SECRET],
        store,
        bodyLimit: BODY_LIMIT,
        lookupTimeoutMs: LOOKUP_TIMEOUT_MS,
        path: PATH,
        onError: () => {},
      })
    })
    afterAll(() => server.close())

    for (const row of cases) {
      it(`answers ${row.status} to ${row.name}`, async () => {
        store.lookups.length = 0
        const answer = await exchange(server.url, row.request)
        expect(answer.status).toBe(row.status)
        if (row.body !== undefined) expect(JSON.parse(answer.body)).toStrictEqual(row.body)
        else expect(answer.body).toBe('')
        for (const [header, value] of Object.entries(ANSWER_HEADERS)) {
          expect(answer.headers[header.toLowerCase()], header).toBe(value)
        }
        expect(answer.headers['x-powered-by']).toBeUndefined()
        for (const [header, value] of Object.entries(row.headers ?? {})) {
          expect(answer.headers[header], header).toBe(value)
        }
        if (row.closes) expect(await answer.closed).toBe(true)
        expect(store.lookups.length > 0, 'looked the user up').toBe(row.looksUp)
      })
    }

    it('answers the lookup timeout within the deadline, not later', async () => {
      const startedAt = performance.now()
      const answer = await exchange(server.url, signedBody('{"userToken":"usr_never"}'))
      expect(answer.status).toBe(503)
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(LOOKUP_TIMEOUT_MS - 20)
      expect(performance.now() - startedAt).toBeLessThan(LOOKUP_TIMEOUT_MS + 1500)
    })
  })
}
