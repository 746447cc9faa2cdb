import { once } from 'node:events'
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import request from 'supertest'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createEndpointApp, type EndpointDeps } from '../../src/mock/endpoint.js'
import { sign } from '../../src/template/signature.js'
import { ALICE, capturedLogger, memoryStore, SECOND_SECRET, TEST_SECRET } from '../support.js'

const PATH = '/talki/customer'
const BODY_LIMIT = 16 * 1024
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
const NOT_JSON = { error: 'invalid_body', detail: 'body is not UTF-8 JSON' }
const BAD_TOKEN = {
  error: 'invalid_body',
  detail: 'userToken must be a non-empty string of at most 256 characters',
}

/** A real endpoint on 127.0.0.1 with an in-memory store and a captured log. */
async function startEndpoint(overrides: Partial<EndpointDeps> = {}) {
  const store = memoryStore()
  const log = capturedLogger()
  const app = createEndpointApp({
    endpointPath: PATH,
    tokenField: 'userToken',
    secrets: [TEST_SECRET],
    bodyLimit: BODY_LIMIT,
    lookupTimeoutMs: 1000,
    store,
    logger: log.logger,
    ...overrides,
  })
  const server: Server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    store,
    log,
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
type Endpoint = Awaited<ReturnType<typeof startEndpoint>>

/** POSTs exact bytes; `undefined` headers are left out (supertest sends a Buffer with no Content-Type). */
function post(
  endpoint: Endpoint,
  body: string | Buffer,
  headers: Record<string, string | string[] | undefined> = {},
) {
  // serialize(identity): superagent would otherwise JSON-encode a Buffer sent as application/json.
  let req = request(endpoint.url)
    .post(PATH)
    .serialize((data) => data)
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) req = req.set(name, value as string)
  }
  return req.send(typeof body === 'string' ? Buffer.from(body) : body)
}

function signedPost(
  endpoint: Endpoint,
  body: string | Buffer,
  headers: Record<string, string | undefined> = {},
) {
  return post(endpoint, body, {
    'Content-Type': 'application/json',
    'X-Talki-Signature': sign(TEST_SECRET, body),
    ...headers,
  })
}

/** Every JSON answer of the contract: JSON, no-store, helmet's headers, no x-powered-by. */
function expectContractHeaders(headers: IncomingHttpHeaders | Record<string, string>) {
  expect(headers['content-type']).toMatch(/^application\/json/)
  expect(headers['cache-control']).toBe('no-store')
  expect(headers['x-content-type-options']).toBe('nosniff')
  expect(headers['x-frame-options']).toBe('SAMEORIGIN')
  expect(headers['strict-transport-security']).toMatch(/max-age=/)
  expect(headers['content-security-policy']).toContain("default-src 'self'")
  expect(headers['cross-origin-resource-policy']).toBe('same-origin')
  expect(headers['referrer-policy']).toBe('no-referrer')
  expect(headers['x-powered-by']).toBeUndefined()
  expect(headers.etag).toBeUndefined()
}

/** A request with node:http, for what supertest cannot send: lying lengths, streamed bodies. */
function rawPost(
  endpoint: Endpoint,
  headers: Record<string, string | number>,
  write: (req: ReturnType<typeof httpRequest>) => void,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; socketClosed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: endpoint.port,
      method: 'POST',
      path: PATH,
      headers,
      agent: false,
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close while we are still writing: that is the point of some tests.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error)
    })
    req.on('response', (res) => {
      const socket = res.socket
      const socketClosed = socket.destroyed ? Promise.resolve() : once(socket, 'close').then(() => {})
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          socketClosed,
        }),
      )
    })
    write(req)
  })
}

describe(`POST ${PATH}`, () => {
  let endpoint: Endpoint
  beforeAll(async () => {
    endpoint = await startEndpoint()
  })
  afterAll(async () => {
    await endpoint.close()
  })
  beforeEach(() => {
    endpoint.store.lookups = 0
    endpoint.log.lines.length = 0
  })

  describe("with the vendor page's example request", () => {
    it('answers 200 with the example profile, as JSON with the contract headers', async () => {
      const res = await post(endpoint, VENDOR_BODY, {
        'Content-Type': 'application/json',
        'X-Talki-Signature': VENDOR_SIGNATURE,
      })
      expect(res.status).toBe(200)
      expect(res.body).toStrictEqual(ALICE_PROFILE)
      expect(JSON.parse(res.text)).toStrictEqual(ALICE_PROFILE)
      expectContractHeaders(res.headers)
      expect(endpoint.store.lookups).toBe(1)
    })

    it('answers 200 for the signature in uppercase hex', async () => {
      const res = await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': VENDOR_SIGNATURE.toUpperCase() })
      expect(res.status).toBe(200)
      expect(res.body).toStrictEqual(ALICE_PROFILE)
    })
  })

  describe('with any Content-Type', () => {
    const types = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'application/json; charset=utf-8',
      undefined,
    ]
    for (const type of types) {
      it(`verifies over the raw bytes and answers 200 for ${type ?? 'no Content-Type'}`, async () => {
        const res = await post(endpoint, VENDOR_BODY, {
          'Content-Type': type,
          'X-Talki-Signature': VENDOR_SIGNATURE,
        })
        expect(res.status).toBe(200)
        expect(res.body).toStrictEqual(ALICE_PROFILE)
      })
    }
    it('really sends no Content-Type when none is set', async () => {
      let seen: string | undefined = 'unset'
      endpoint.server.once('request', (req) => {
        seen = req.headers['content-type']
      })
      await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': VENDOR_SIGNATURE })
      expect(seen).toBeUndefined()
    })
  })

  describe('with a Content-Encoding', () => {
    it('answers 415 unsupported_encoding for gzip, even with a good signature over the gzip bytes', async () => {
      const gzipped = gzipSync(VENDOR_BODY)
      const res = await post(endpoint, gzipped, {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
        'X-Talki-Signature': sign(TEST_SECRET, gzipped),
      })
      expect(res.status).toBe(415)
      expect(res.body).toStrictEqual({ error: 'unsupported_encoding' })
      expectContractHeaders(res.headers)
      expect(endpoint.store.lookups).toBe(0)
    })
    for (const encoding of ['identity', 'IDENTITY', 'Identity']) {
      it(`accepts ${encoding}`, async () => {
        const res = await signedPost(endpoint, VENDOR_BODY, { 'Content-Encoding': encoding })
        expect(res.status).toBe(200)
        expect(res.body).toStrictEqual(ALICE_PROFILE)
      })
    }
  })

  describe('with a body over BODY_LIMIT', () => {
    it('answers 413 payload_too_large with Connection: close, before checking the signature', async () => {
      const body = Buffer.alloc(BODY_LIMIT + 1, 0x20)
      const res = await post(endpoint, body, { 'X-Talki-Signature': sign(TEST_SECRET, body) })
      expect(res.status).toBe(413)
      expect(res.body).toStrictEqual({ error: 'payload_too_large' })
      expect(res.headers.connection).toBe('close')
      expectContractHeaders(res.headers)
      expect(endpoint.store.lookups).toBe(0)
    })

    it('accepts a body of exactly BODY_LIMIT bytes', async () => {
      const body = VENDOR_BODY.padEnd(BODY_LIMIT, ' ')
      const res = await signedPost(endpoint, body)
      expect(Buffer.byteLength(body)).toBe(BODY_LIMIT)
      expect(res.status).toBe(200)
      expect(res.body).toStrictEqual(ALICE_PROFILE)
    })

    it('refuses a Content-Length over the limit without waiting for the body, and closes the connection', async () => {
      const res = await rawPost(
        endpoint,
        { 'Content-Length': 50 * 1024 * 1024, 'X-Talki-Signature': VENDOR_SIGNATURE },
        (req) => {
          // Only the headers are sent: an answer proves the server did not wait to read 50 MB.
          req.flushHeaders()
        },
      )
      expect(res.status).toBe(413)
      expect(JSON.parse(res.body)).toStrictEqual({ error: 'payload_too_large' })
      expect(res.headers.connection).toBe('close')
      await res.socketClosed
      expect(endpoint.store.lookups).toBe(0)
    })

    it('stops reading a chunked body at the limit, answers 413 while the client is still sending, and closes', async () => {
      const res = await rawPost(
        endpoint,
        { 'Transfer-Encoding': 'chunked', 'X-Talki-Signature': VENDOR_SIGNATURE },
        (req) => {
          req.write(Buffer.alloc(BODY_LIMIT + 100, 0x20))
          // The request is never ended: the answer must not wait for it.
        },
      )
      expect(res.status).toBe(413)
      expect(JSON.parse(res.body)).toStrictEqual({ error: 'payload_too_large' })
      expect(res.headers.connection).toBe('close')
      await res.socketClosed
      expect(endpoint.store.lookups).toBe(0)
    })

    it('never answers 5xx when the caller half-closes before its Content-Length is reached, and keeps serving', async () => {
      const socket = connect(endpoint.port, '127.0.0.1')
      await once(socket, 'connect')
      let received = ''
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1')
      })
      socket.write(
        `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\nX-Talki-Signature: ${VENDOR_SIGNATURE}\r\n\r\n${VENDOR_BODY}`,
      )
      setTimeout(() => socket.end(), 50)
      await once(socket, 'close')
      expect(received === '' || /^HTTP\/1\.1 4\d\d /.test(received)).toBe(true)
      expect(endpoint.store.lookups).toBe(0)
      expect((await signedPost(endpoint, VENDOR_BODY)).status).toBe(200)
    })
  })

  describe('with other methods on the path', () => {
    for (const method of ['get', 'put', 'delete', 'patch', 'options'] as const) {
      it(`answers ${method.toUpperCase()} with 405 and Allow: POST`, async () => {
        const res = await request(endpoint.url)[method](PATH)
        expect(res.status).toBe(405)
        expect(res.headers.allow).toBe('POST')
        expect(res.body).toStrictEqual({ error: 'method_not_allowed' })
        expectContractHeaders(res.headers)
        expect(endpoint.store.lookups).toBe(0)
      })
    }
  })

  describe('with an unknown path', () => {
    for (const path of ['/', '/talki', '/talki/customers', '/talki/customer/x', '/admin', '/talki/%zz']) {
      it(`answers POST ${path} with 404 JSON`, async () => {
        const res = await request(endpoint.url)
          .post(path)
          .set('X-Talki-Signature', VENDOR_SIGNATURE)
          .send(Buffer.from(VENDOR_BODY))
        expect(res.status).toBe(404)
        expect(res.body).toStrictEqual({ error: 'not_found' })
        expectContractHeaders(res.headers)
        expect(endpoint.store.lookups).toBe(0)
      })
    }
  })

  describe('with the contract headers on every kind of answer', () => {
    const cases: { status: number; send: () => Promise<request.Response> }[] = [
      { status: 200, send: () => signedPost(endpoint, VENDOR_BODY) },
      { status: 400, send: () => signedPost(endpoint, 'nope') },
      { status: 401, send: () => post(endpoint, VENDOR_BODY) },
      { status: 404, send: () => signedPost(endpoint, '{"userToken":"usr_nobody"}') },
      { status: 405, send: () => request(endpoint.url).get(PATH) },
      { status: 413, send: () => signedPost(endpoint, Buffer.alloc(BODY_LIMIT + 1, 0x20)) },
      { status: 415, send: () => signedPost(endpoint, VENDOR_BODY, { 'Content-Encoding': 'br' }) },
    ]
    for (const row of cases) {
      it(`sends no-store and helmet's headers on ${row.status}`, async () => {
        const res = await row.send()
        expect(res.status).toBe(row.status)
        expectContractHeaders(res.headers)
      })
    }
  })

  describe('with hostile requests', () => {
    const good = sign(TEST_SECRET, VENDOR_BODY)
    const signedRow = (name: string, body: string | Buffer, status: number, answer: object) => ({
      name,
      body,
      headers: { 'X-Talki-Signature': sign(TEST_SECRET, body) } as Record<
        string,
        string | string[] | undefined
      >,
      status,
      answer,
    })
    const rows: {
      name: string
      body: string | Buffer
      headers: Record<string, string | string[] | undefined>
      status: number
      answer: object
    }[] = [
      {
        name: 'no signature header',
        body: VENDOR_BODY,
        headers: {},
        status: 401,
        answer: { error: 'missing_signature' },
      },
      {
        name: 'an empty signature header',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': '' },
        status: 401,
        answer: { error: 'missing_signature' },
      },
      {
        name: 'a signature one digit short',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': good.slice(1) },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a signature one digit long',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': `${good}0` },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a short signature',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': 'a3f8c2' },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a very long signature',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': 'a'.repeat(8000) },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a sha256= prefix',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': `sha256=${good}` },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a non-hex signature',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': 'z'.repeat(64) },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a space inside the signature',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': `${good.slice(0, 32)} ${good.slice(32)}` },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a comma-separated list',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': `${good},${good}` },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'the header sent twice',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': [good, good] },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a base64 signature',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': Buffer.from(good, 'hex').toString('base64') },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a Latin-1 letter in the signature',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': `${good.slice(1)}é` },
        status: 401,
        answer: { error: 'malformed_signature' },
      },
      {
        name: 'a signature under another secret',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': sign('guess', VENDOR_BODY) },
        status: 401,
        answer: { error: 'invalid_signature' },
      },
      {
        name: '64 zeros',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': '0'.repeat(64) },
        status: 401,
        answer: { error: 'invalid_signature' },
      },
      {
        name: 'a signature of the re-serialised body',
        body: '{ "userToken": "usr_abc123" }',
        headers: { 'X-Talki-Signature': good },
        status: 401,
        answer: { error: 'invalid_signature' },
      },
      {
        name: 'a signature with one digit changed',
        body: VENDOR_BODY,
        headers: { 'X-Talki-Signature': (good[0] === 'a' ? 'b' : 'a') + good.slice(1) },
        status: 401,
        answer: { error: 'invalid_signature' },
      },
      {
        name: 'a bad body with no signature (signature first)',
        body: '[]',
        headers: {},
        status: 401,
        answer: { error: 'missing_signature' },
      },
      signedRow('a signed empty body', '', 400, NOT_JSON),
      signedRow('signed non-JSON', 'userToken=usr_abc123', 400, NOT_JSON),
      signedRow('signed truncated JSON', '{"userToken":', 400, NOT_JSON),
      signedRow(
        'signed invalid UTF-8',
        Buffer.from([...Buffer.from('{"userToken":"usr_'), 0xc3, 0x28, ...Buffer.from('"}')]),
        400,
        NOT_JSON,
      ),
      signedRow('a signed array', '[{"userToken":"usr_abc123"}]', 400, BAD_TOKEN),
      signedRow('signed null', 'null', 400, BAD_TOKEN),
      signedRow('a signed number', '12345', 400, BAD_TOKEN),
      signedRow('a signed string', '"usr_abc123"', 400, BAD_TOKEN),
      signedRow('a signed empty object', '{}', 400, BAD_TOKEN),
      signedRow('a number token', '{"userToken":42}', 400, BAD_TOKEN),
      signedRow('a null token', '{"userToken":null}', 400, BAD_TOKEN),
      signedRow('an object token', '{"userToken":{"$ne":""}}', 400, BAD_TOKEN),
      signedRow('an array token', '{"userToken":["usr_abc123"]}', 400, BAD_TOKEN),
      signedRow('an empty token', '{"userToken":""}', 400, BAD_TOKEN),
      signedRow('a 257-character token', JSON.stringify({ userToken: 'x'.repeat(257) }), 400, BAD_TOKEN),
      signedRow(
        'the token hidden under __proto__',
        '{"__proto__":{"userToken":"usr_abc123"}}',
        400,
        BAD_TOKEN,
      ),
      signedRow('deeply nested arrays', `${'['.repeat(5000)}${']'.repeat(5000)}`, 400, BAD_TOKEN),
      signedRow('the token __proto__', '{"userToken":"__proto__"}', 404, { error: 'user_not_found' }),
      signedRow('the token constructor', '{"userToken":"constructor"}', 404, { error: 'user_not_found' }),
      signedRow('the token toString', '{"userToken":"toString"}', 404, { error: 'user_not_found' }),
      signedRow('the token hasOwnProperty', '{"userToken":"hasOwnProperty"}', 404, {
        error: 'user_not_found',
      }),
      signedRow('a 256-character unknown token', JSON.stringify({ userToken: 'x'.repeat(256) }), 404, {
        error: 'user_not_found',
      }),
      signedRow('an unknown token', '{"userToken":"usr_nobody"}', 404, { error: 'user_not_found' }),
      signedRow('a token in another case', '{"userToken":"USR_ABC123"}', 404, { error: 'user_not_found' }),
      signedRow('a body over the limit', `{"userToken":"${'x'.repeat(BODY_LIMIT)}"}`, 413, {
        error: 'payload_too_large',
      }),
      {
        name: 'a body over the limit with no signature (size first)',
        body: Buffer.alloc(BODY_LIMIT * 2, 0x61),
        headers: {},
        status: 413,
        answer: { error: 'payload_too_large' },
      },
      {
        name: 'gzip with no signature (encoding before signature)',
        body: gzipSync(VENDOR_BODY),
        headers: { 'Content-Encoding': 'gzip' },
        status: 415,
        answer: { error: 'unsupported_encoding' },
      },
      {
        name: 'deflate with a good signature',
        body: VENDOR_BODY,
        headers: { 'Content-Encoding': 'deflate', 'X-Talki-Signature': good },
        status: 415,
        answer: { error: 'unsupported_encoding' },
      },
      {
        name: 'a list of encodings',
        body: VENDOR_BODY,
        headers: { 'Content-Encoding': 'identity, gzip', 'X-Talki-Signature': good },
        status: 415,
        answer: { error: 'unsupported_encoding' },
      },
    ]

    for (const row of rows) {
      it(`answers ${row.status} ${JSON.stringify(row.answer)} for ${row.name}`, async () => {
        const res = await post(endpoint, row.body, row.headers)
        expect(res.status).toBe(row.status)
        expect(JSON.parse(res.text)).toStrictEqual(row.answer)
        expectContractHeaders(res.headers)
        if (row.status !== 404) expect(endpoint.store.lookups).toBe(0)
      })
    }

    it('still serves a valid request after all of them, back to back', async () => {
      const statuses: number[] = []
      for (const row of rows) statuses.push((await post(endpoint, row.body, row.headers)).status)
      expect(statuses).toEqual(rows.map((row) => row.status))
      const res = await signedPost(endpoint, VENDOR_BODY)
      expect(res.status).toBe(200)
      expect(res.body).toStrictEqual(ALICE_PROFILE)
    })
  })

  describe('with the logs', () => {
    it('writes one line per request with the token, status and latency, never the secret or the signature', async () => {
      const unknown = '{"userToken":"usr_nobody"}'
      const wrong = sign('guess', VENDOR_BODY)
      await signedPost(endpoint, VENDOR_BODY)
      await signedPost(endpoint, unknown)
      await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': wrong })
      await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': `sha256=${VENDOR_SIGNATURE}` })
      await vi.waitFor(() => expect(endpoint.log.lines).toHaveLength(4))
      const entries = endpoint.log.lines.map((line) => JSON.parse(line))
      expect(entries.map((e) => [e.token, e.status])).toEqual([
        ['usr_abc123', 200],
        ['usr_nobody', 404],
        [null, 401],
        [null, 401],
      ])
      for (const entry of entries) expect(entry.latencyMs).toEqual(expect.any(Number))
      const all = endpoint.log.lines.join('\n')
      for (const secretish of [TEST_SECRET, VENDOR_SIGNATURE, sign(TEST_SECRET, unknown), wrong]) {
        expect(all).not.toContain(secretish)
        expect(all.toLowerCase()).not.toContain(secretish.toLowerCase())
      }
    })
  })
})

describe(`POST ${PATH} with two secrets (rotation)`, () => {
  let endpoint: Endpoint
  beforeAll(async () => {
    endpoint = await startEndpoint({ secrets: [TEST_SECRET, SECOND_SECRET] })
  })
  afterAll(async () => {
    await endpoint.close()
  })

  for (const [name, signature] of [
    ['the first secret', VENDOR_SIGNATURE],
    ['the second secret', VENDOR_SIGNATURE_SECOND],
  ] as const) {
    it(`answers 200 for a signature under ${name}`, async () => {
      const res = await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': signature })
      expect(res.status).toBe(200)
      expect(res.body).toStrictEqual(ALICE_PROFILE)
    })
  }
  it('answers 401 invalid_signature for a signature under neither', async () => {
    const res = await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': sign('third', VENDOR_BODY) })
    expect(res.status).toBe(401)
    expect(res.body).toStrictEqual({ error: 'invalid_signature' })
  })
  it('never logs either secret', async () => {
    await vi.waitFor(() => expect(endpoint.log.lines).toHaveLength(3))
    const all = endpoint.log.lines.join('\n')
    expect(all).not.toContain(TEST_SECRET)
    expect(all).not.toContain(SECOND_SECRET)
  })
})

describe(`POST ${PATH} with USER_TOKEN_FIELD=customerId`, () => {
  let endpoint: Endpoint
  beforeAll(async () => {
    endpoint = await startEndpoint({ tokenField: 'customerId' })
  })
  afterAll(async () => {
    await endpoint.close()
  })
  it('answers the profile for {"customerId":"usr_abc123"}', async () => {
    const res = await signedPost(endpoint, '{"customerId":"usr_abc123"}')
    expect(res.status).toBe(200)
    expect(res.body).toStrictEqual(ALICE_PROFILE)
  })
  it('answers 400 invalid_body for {"userToken":"usr_abc123"}', async () => {
    const res = await signedPost(endpoint, VENDOR_BODY)
    expect(res.status).toBe(400)
    expect(res.body).toStrictEqual({
      error: 'invalid_body',
      detail: 'customerId must be a non-empty string of at most 256 characters',
    })
  })
})

describe(`POST ${PATH} with a store that fails`, () => {
  it('answers 503 lookup_timeout with Retry-After inside the deadline when the store hangs', async () => {
    const endpoint = await startEndpoint({
      lookupTimeoutMs: 50,
      store: { find: () => new Promise(() => {}) },
    })
    try {
      const started = performance.now()
      const res = await signedPost(endpoint, VENDOR_BODY)
      expect(performance.now() - started).toBeLessThan(2000)
      expect(res.status).toBe(503)
      expect(res.body).toStrictEqual({ error: 'lookup_timeout' })
      expect(res.headers['retry-after']).toMatch(/^\d+$/)
      expectContractHeaders(res.headers)
    } finally {
      await endpoint.close()
    }
  })

  it('answers 503 store_unavailable JSON, no stack trace, when the store throws', async () => {
    const endpoint = await startEndpoint({
      store: {
        find: async () => {
          throw new Error('connection refused at db.internal:5432')
        },
      },
    })
    try {
      const res = await signedPost(endpoint, VENDOR_BODY)
      expect(res.status).toBe(503)
      expect(res.text).toBe('{"error":"store_unavailable"}')
      expect(res.text).not.toContain('db.internal')
      expectContractHeaders(res.headers)
    } finally {
      await endpoint.close()
    }
  })
})

describe(`POST ${PATH} with arbitrary requests (property)`, () => {
  const LIMIT = 256
  let endpoint: Endpoint
  beforeAll(async () => {
    endpoint = await startEndpoint({ bodyLimit: LIMIT })
  })
  afterAll(async () => {
    await endpoint.close()
  })

  it('answers only 200, 400, 401, 404, 413 or 415 as contract JSON, never a 5xx, and keeps serving', async () => {
    const tokenBody = fc
      .oneof(
        fc.string({ maxLength: 300 }),
        fc.constantFrom('usr_abc123', '__proto__', 'constructor', ''),
        fc.integer(),
        fc.constant(null),
      )
      .map((token) => Buffer.from(JSON.stringify({ userToken: token })))
    const bodyArb = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
      fc.json({ maxDepth: 3 }).map((text) => Buffer.from(text)),
      tokenBody,
    )
    const signatureArb = fc.oneof(
      fc.constant('sign' as const),
      fc.constant(undefined),
      fc.string({ maxLength: 80 }),
      fc.stringMatching(/^[0-9a-fA-F]{64}$/),
    )
    const headerArb = fc.option(fc.string({ maxLength: 40 }), { nil: undefined })
    const encodingArb = fc.option(
      fc.oneof(
        fc.constantFrom('identity', 'gzip', 'br', 'deflate', 'IDENTITY'),
        fc.string({ maxLength: 20 }),
      ),
      {
        nil: undefined,
      },
    )

    await fc.assert(
      fc.asyncProperty(
        bodyArb,
        signatureArb,
        headerArb,
        encodingArb,
        async (body, signature, contentType, encoding) => {
          const res = await post(endpoint, body, {
            'X-Talki-Signature': signature === 'sign' ? sign(TEST_SECRET, body) : signature,
            'Content-Type': contentType,
            'Content-Encoding': encoding,
          })
          expect([200, 400, 401, 404, 413, 415]).toContain(res.status)
          expectContractHeaders(res.headers)
          if (res.status === 200) expect(res.body).toStrictEqual(ALICE_PROFILE)
          else expect(res.body.error).toEqual(expect.any(String))
          if (body.length > LIMIT) expect(res.status).toBe(413)
        },
      ),
      { numRuns: 200 },
    )
    const res = await signedPost(endpoint, VENDOR_BODY)
    expect(res.status).toBe(200)
    expect(res.body).toStrictEqual(ALICE_PROFILE)
    expect(endpoint.log.lines.join('\n')).not.toContain(TEST_SECRET)
  })
})

describe('the profile answer', () => {
  it('never carries userToken or simulate, even when the stored record has them', async () => {
    const endpoint = await startEndpoint({
      store: memoryStore([{ ...structuredClone(ALICE), simulate: { scenario: 'slow', delayMs: 1 } }]),
    })
    try {
      const res = await signedPost(endpoint, VENDOR_BODY)
      expect(res.status).toBe(200)
      expect(Object.keys(res.body).sort()).toEqual(['email', 'fields', 'name', 'plan'])
    } finally {
      await endpoint.close()
    }
  })
})

describe(`POST ${PATH} and ${PATH}?x=1 (the mock's faster path and Express's router)`, () => {
  const requests: { name: string; body: string; headers: Record<string, string> }[] = [
    { name: 'the vendor example', body: VENDOR_BODY, headers: { 'X-Talki-Signature': VENDOR_SIGNATURE } },
    { name: 'no signature', body: VENDOR_BODY, headers: {} },
    {
      name: 'an unknown user',
      body: '{"userToken":"usr_nobody"}',
      headers: { 'X-Talki-Signature': sign(TEST_SECRET, '{"userToken":"usr_nobody"}') },
    },
    {
      name: 'a body that is not JSON',
      body: 'nope',
      headers: { 'X-Talki-Signature': sign(TEST_SECRET, 'nope') },
    },
  ]
  const answerOf = async (endpoint: Endpoint, path: string, row: (typeof requests)[number]) => {
    let req = request(endpoint.url)
      .post(path)
      .serialize((data) => data)
      .set('Content-Type', 'application/json')
    for (const [name, value] of Object.entries(row.headers)) req = req.set(name, value)
    const res = await req.send(Buffer.from(row.body))
    const { date: _date, ...headers } = res.headers
    return { status: res.status, headers, body: res.text }
  }

  for (const row of requests) {
    it(`answers both alike (status, headers, body) for ${row.name}`, async () => {
      const endpoint = await startEndpoint()
      try {
        const exact = await answerOf(endpoint, PATH, row)
        const withQuery = await answerOf(endpoint, `${PATH}?x=1`, row)
        expect(withQuery).toStrictEqual(exact)
        expect(exact.headers['cache-control']).toBe('no-store')
      } finally {
        await endpoint.close()
      }
    })
  }

  it('runs middleware given to the app for both, before the route answers', async () => {
    const seen: string[] = []
    const endpoint = await startEndpoint({
      middleware: [
        (req, res, next) => {
          seen.push(req.url)
          res.setHeader('X-Request-Seen', 'yes')
          next()
        },
      ],
    })
    try {
      const row = requests[0] as (typeof requests)[number]
      const exact = await answerOf(endpoint, PATH, row)
      const withQuery = await answerOf(endpoint, `${PATH}?x=1`, row)
      expect(seen).toStrictEqual([PATH, `${PATH}?x=1`])
      expect(exact.headers['x-request-seen']).toBe('yes')
      expect(withQuery).toStrictEqual(exact)
      expect(exact.status).toBe(200)
      expect(JSON.parse(exact.body)).toStrictEqual(ALICE_PROFILE)
    } finally {
      await endpoint.close()
    }
  })
})
