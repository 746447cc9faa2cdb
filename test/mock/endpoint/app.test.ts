import { once } from 'node:events'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import fc from 'fast-check'
import request from 'supertest'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createEndpointApp, type EndpointDeps } from '../../../src/mock/endpoint/app.js'
import { sign } from '../../../src/template/signature.js'
import { ALICE, capturedLogger, memoryStore, SECOND_SECRET, TEST_SECRET } from '../../support.js'
import { describeAdapter } from '../../template/adapter-cases.js'

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

// What every adapter answers (size, encoding, signature, body, lookup, methods, headers) is the shared
// table of test/template/adapter-cases.ts, run here against the mock's endpoint too; this file keeps what
// only the endpoint does (its logs, its path matching, its options, hostile input as a whole).
describeAdapter('mock endpoint (src/mock/endpoint/app.ts)', async (options) => {
  const app = createEndpointApp({
    endpointPath: options.path,
    tokenField: 'userToken',
    secrets: options.secrets,
    bodyLimit: options.bodyLimit ?? BODY_LIMIT,
    lookupTimeoutMs: options.lookupTimeoutMs ?? 4000,
    store: options.store,
    logger: capturedLogger().logger,
  })
  const server: Server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
})

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

  describe('with a body shorter than its Content-Length', () => {
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
  it('never logs either secret', async () => {
    const endpoint = await startEndpoint({ secrets: [TEST_SECRET, SECOND_SECRET] })
    try {
      await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': VENDOR_SIGNATURE })
      await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': VENDOR_SIGNATURE_SECOND })
      await post(endpoint, VENDOR_BODY, { 'X-Talki-Signature': sign('third', VENDOR_BODY) })
      await vi.waitFor(() => expect(endpoint.log.lines).toHaveLength(3))
      const statuses = endpoint.log.lines.map((line) => JSON.parse(line).status)
      expect(statuses).toStrictEqual([200, 200, 401])
      const all = endpoint.log.lines.join('\n')
      expect(all).not.toContain(TEST_SECRET)
      expect(all).not.toContain(SECOND_SECRET)
    } finally {
      await endpoint.close()
    }
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

// Every refusal outside the customer route's own answers is an HttpRefusal answered in one place, for the
// router and the faster path alike, and written as every endpoint answer is.
describe('refusals and errors (one handler for the router and the faster path)', () => {
  it('answers an error thrown by middleware 500 internal_error with the contract headers', async () => {
    const endpoint = await startEndpoint({
      middleware: [
        () => {
          throw new Error('boom')
        },
      ],
    })
    try {
      const res = await signedPost(endpoint, VENDOR_BODY)
      expect(res.status).toBe(500)
      expect(res.body).toEqual({ error: 'internal_error' })
      expectContractHeaders(res.headers)
      expect(endpoint.log.lines.some((line) => line.includes('unexpected error'))).toBe(true)
    } finally {
      await endpoint.close()
    }
  })

  it('answers a state engine that cannot decide 503 store_unavailable with Retry-After, on both paths', async () => {
    const lost = () => Promise.reject(new Error('redis lost'))
    const endpoint = await startEndpoint({ decide: { decideBeforeUser: lost, decideForUser: lost } })
    try {
      for (const path of [PATH, `${PATH}?x=1`]) {
        const res = await request(endpoint.url)
          .post(path)
          .set('Content-Type', 'application/json')
          .set('X-Talki-Signature', VENDOR_SIGNATURE)
          .send(VENDOR_BODY)
        expect(res.status, path).toBe(503)
        expect(res.body).toEqual({ error: 'store_unavailable' })
        expect(res.headers['retry-after']).toBe('3')
        expectContractHeaders(res.headers)
      }
    } finally {
      await endpoint.close()
    }
  })

  it('answers another method 405 with Allow: POST, and an unknown path 404, with the contract headers', async () => {
    const endpoint = await startEndpoint()
    try {
      const wrongMethod = await request(endpoint.url).get(PATH)
      expect(wrongMethod.status).toBe(405)
      expect(wrongMethod.headers.allow).toBe('POST')
      expect(wrongMethod.body).toEqual({ error: 'method_not_allowed' })
      expectContractHeaders(wrongMethod.headers)
      const unknown = await request(endpoint.url).post('/elsewhere')
      expect(unknown.status).toBe(404)
      expect(unknown.body).toEqual({ error: 'not_found' })
      expectContractHeaders(unknown.headers)
    } finally {
      await endpoint.close()
    }
  })
})
