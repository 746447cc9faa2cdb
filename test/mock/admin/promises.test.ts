import { rm } from 'node:fs/promises'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { buildOpenApiDocument } from '../../../src/mock/admin/openapi.js'
import { fillDefaults, SCENARIO_NAMES } from '../../../src/mock/simulation/scenarios.js'
import { post } from '../../process.js'
import { ALICE, signedRequest, startStack } from '../../support.js'
import { BOB, CAROL, cleanups, expectIssues, listen, sendRaw, setup, snapshot } from './harness.js'

// The promises of the README's "Admin API" section one by one: every answer here also passes the
// contract check of the harness (status, type and body as the document says).

const MERGE_PATCH = 'application/merge-patch+json'

describe('GET /api/scenarios', () => {
  it('lists every scenario in the README order with its parameters, read from the schemas', async () => {
    const { app } = await setup()
    const res = await request(app).get('/api/scenarios')
    expect(res.status).toBe(200)
    const names = res.body.scenarios.map((s: { name: string }) => s.name)
    expect(names).toEqual([
      'ok',
      'slow',
      'not_found',
      'unauthorized',
      'error',
      'down',
      'reset',
      'hang',
      'malformed',
      'wrong_shape',
      'flaky',
      'tls_expired',
      'tls_wrong_host',
      'tls_untrusted',
      'tls_hang',
    ])
    expect(new Set(names)).toEqual(new Set(SCENARIO_NAMES))
    const slow = res.body.scenarios[1]
    expect(slow.parameters).toEqual([
      expect.objectContaining({
        name: 'delayMs',
        type: 'integer',
        minimum: 0,
        maximum: 600000,
        default: 6000,
      }),
      expect.objectContaining({ name: 'jitterMs', type: 'integer', minimum: 0, maximum: 600000, default: 0 }),
    ])
    expect(res.body.scenarios[4].parameters).toEqual([
      expect.objectContaining({ name: 'status', type: 'enum', values: [500, 502, 503, 504], default: 500 }),
    ])
    expect(res.body.scenarios[10].parameters[0]).toEqual(
      expect.objectContaining({
        name: 'failWith',
        type: 'scenario',
        default: { scenario: 'error', status: 503 },
      }),
    )
    expect(res.body.override.parameters).toEqual([
      expect.objectContaining({ name: 'count', type: 'integer', minimum: 1 }),
      expect.objectContaining({ name: 'probability', type: 'number', minimum: 0, maximum: 1 }),
    ])
    expect(res.body.sequence.parameters).toEqual([
      expect.objectContaining({ name: 'windowMs', type: 'integer', default: 10000 }),
    ])
    for (const scenario of res.body.scenarios) {
      for (const parameter of scenario.parameters) expect(parameter.description).toMatch(/\w/)
    }
  })

  it('shows the defaults the server fills: a bare name filled equals its listed defaults', async () => {
    const { app } = await setup()
    const res = await request(app).get('/api/scenarios')
    for (const { name, parameters } of res.body.scenarios as {
      name: (typeof SCENARIO_NAMES)[number]
      parameters: { name: string; default: unknown }[]
    }[]) {
      const listed = Object.fromEntries(parameters.map((p) => [p.name, p.default]))
      expect(fillDefaults(name), name).toEqual({ scenario: name, ...listed })
    }
  })
})

describe('downUntil', () => {
  it('is when a global down reopens the port, and null once it is cleared', async () => {
    const { app } = await setup()
    const before = Date.now()
    const put = await request(app).put('/api/simulation').send({ scenario: 'down', durationMs: 2500 })
    const until = Date.parse(put.body.downUntil)
    expect(until).toBeGreaterThanOrEqual(before + 2500)
    expect(until).toBeLessThanOrEqual(Date.now() + 2500)
    expect((await request(app).get('/api/simulation')).body.downUntil).toBe(put.body.downUntil)
    expect((await request(app).delete('/api/simulation')).status).toBe(204)
    expect((await request(app).get('/api/simulation')).body.downUntil).toBeNull()
  })

  it("is set by a user's own down too (real downtime, whole stack)", async () => {
    const stack = await startStack()
    cleanups.push(() => stack.close())
    const { body } = signedRequest('usr_down')
    const before = Date.now()
    await post(stack.endpointUrl, body)
    const res = await fetch(new URL('/api/simulation', stack.adminUrl))
    const state = (await res.json()) as { override: unknown; downUntil: string | null }
    expect(state.override).toBeNull()
    expect(Date.parse(state.downUntil ?? '')).toBeGreaterThan(before)
    await fetch(new URL('/api/reset', stack.adminUrl), { method: 'POST' })
    const after = (await (await fetch(new URL('/api/simulation', stack.adminUrl))).json()) as {
      downUntil: unknown
    }
    expect(after.downUntil).toBeNull()
  })
})

describe('PATCH /api/users/:token (RFC 7396 merge patch)', () => {
  it('changes only the keys named: null removes one, fields merge key by key; kept on disk', async () => {
    const { app, reopen } = await setup()
    const res = await request(app)
      .patch('/api/users/usr_abc123')
      .type(MERGE_PATCH)
      .send(
        JSON.stringify({ plan: 'enterprise', email: null, fields: { seats: 6, company: null, vip: true } }),
      )
    expect(res.status).toBe(200)
    const expected = {
      userToken: 'usr_abc123',
      name: 'Alice Johnson',
      plan: 'enterprise',
      fields: { mrr: 149, signedUpAt: '2024-01-15', seats: 6, vip: true },
    }
    expect(res.body).toEqual(expected)
    expect(await (await reopen()).find('usr_abc123')).toEqual(expected)
  })

  it('adds a simulate without touching the profile (the README example), and null removes it', async () => {
    const { app, store } = await setup()
    const add = await request(app)
      .patch('/api/users/usr_abc123')
      .type(MERGE_PATCH)
      .send('{"simulate":{"scenario":"slow","delayMs":6000}}')
    expect(add.body).toEqual({ ...ALICE, simulate: { scenario: 'slow', delayMs: 6000 } })
    const remove = await request(app)
      .patch('/api/users/usr_abc123')
      .type(MERGE_PATCH)
      .send('{"simulate":null}')
    expect(remove.body).toEqual(ALICE)
    expect(await store.find('usr_abc123')).toEqual(ALICE)
  })

  const refused: [name: string, type: string, body: string | undefined, status: number, error: string][] = [
    ['application/json', 'application/json', '{"plan":"x"}', 415, 'unsupported_media_type'],
    ['text/plain', 'text/plain', '{"plan":"x"}', 415, 'unsupported_media_type'],
    ['zero bytes', MERGE_PATCH, undefined, 400, 'invalid_request'],
    ['a result that breaks the record', MERGE_PATCH, '{"fields":{"nested":{"a":1}}}', 400, 'invalid_request'],
    ['an unknown key', MERGE_PATCH, '{"nickname":"Al"}', 400, 'invalid_request'],
    ['a userToken of another user', MERGE_PATCH, '{"userToken":"usr_bob"}', 400, 'invalid_request'],
    ['a string instead of an object', MERGE_PATCH, '"Alice"', 400, 'invalid_request'],
    ['a forbidden key in fields', MERGE_PATCH, '{"fields":{"constructor":1}}', 400, 'invalid_request'],
  ]
  for (const [name, type, body, status, error] of refused) {
    it(`${name} → ${status} ${error}, nothing changed`, async () => {
      const { app, fileBytes, store } = await setup()
      const before = await fileBytes()
      let call = request(app).patch('/api/users/usr_abc123')
      if (body !== undefined) call = call.type(type).send(body)
      const res = await call
      expect(res.status).toBe(status)
      expect(res.body.error).toBe(error)
      expect(await fileBytes()).toEqual(before)
      expect(await store.find('usr_abc123')).toEqual(ALICE)
    })
  }

  it('an unknown user → 404 user_not_found, nothing created', async () => {
    const { app, store } = await setup()
    const res = await request(app).patch('/api/users/usr_nobody').type(MERGE_PATCH).send('{"name":"N"}')
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ error: 'user_not_found' })
    expect(await store.find('usr_nobody')).toBeUndefined()
  })
})

describe('a refused scenario says what is wrong and where, not just "Invalid input"', () => {
  const rows: [body: unknown, path: (string | number)[] | undefined, message: RegExp][] = [
    ['explode', undefined, /expected one of "ok"\|"slow"/],
    [{ scenario: 'explode' }, ['scenario'], /Expected 'ok' \| 'slow'/],
    [{ sequence: ['ok', 'down'] }, ['sequence', 1], /expected one of "ok".*"wrong_shape"$/],
    [{ scenario: 'error', status: 501 }, ['status'], /500\|502\|503\|504/],
    [{ scenario: 'flaky', failWith: 'flaky' }, ['failWith'], /expected one of/],
  ]
  for (const [body, path, message] of rows) {
    it(`${JSON.stringify(body)} → ${path?.join('.') ?? 'the body'}`, async () => {
      const { app } = await setup()
      const res = await request(app).put('/api/simulation').type('json').send(JSON.stringify(body))
      expect(res.status).toBe(400)
      expect(res.body.issues).toEqual([
        { message: expect.stringMatching(message), ...(path ? { path } : {}) },
      ])
    })
  }
})

describe('nothing is replaced by nothing', () => {
  for (const [name, headers] of [
    ['Content-Length: 0', { 'Content-Type': 'application/json', 'Content-Length': '0' }],
    ['chunked, no chunk', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }],
    ['no Content-Type either', { 'Content-Length': '0' }],
  ] as const) {
    it(`PUT with a zero-byte body (${name}) → 400, the record untouched`, async () => {
      const { app, fileBytes, store } = await setup()
      const { port } = await listen(app)
      const before = await fileBytes()
      const res = await sendRaw(port, { method: 'PUT', path: '/api/users/usr_abc123', headers })
      expect(res.status).toBe(400)
      expect(JSON.parse(res.body)).toEqual({
        error: 'invalid_request',
        issues: [{ message: 'a body is required (the request had zero bytes)' }],
      })
      expect(await fileBytes()).toEqual(before)
      expect(await store.find('usr_abc123')).toEqual(ALICE)
    })
  }

  it('PUT /api/simulation with zero bytes → 400, the override untouched', async () => {
    const { app, simulation } = await setup()
    await request(app).put('/api/simulation').send({ scenario: 'error', status: 503 })
    const before = snapshot(simulation)
    const res = await request(app).put('/api/simulation').set('Content-Type', 'application/json')
    expect(res.status).toBe(400)
    expectIssues(res.body)
    expect(snapshot(simulation)).toBe(before)
  })
})

describe('__proto__, constructor and prototype keys', () => {
  const rows: [name: string, method: 'put' | 'patch', body: string, path: (string | number)[]][] = [
    ['__proto__ at the top', 'put', '{"__proto__":{"x":1},"name":"A"}', ['__proto__']],
    [
      '__proto__ alone in fields',
      'put',
      '{"fields":{"__proto__":{"polluted":true}}}',
      ['fields', '__proto__'],
    ],
    ['constructor in fields', 'put', '{"fields":{"constructor":"x"}}', ['fields', 'constructor']],
    [
      'prototype in simulate',
      'put',
      '{"simulate":{"scenario":"ok","prototype":1}}',
      ['simulate', 'prototype'],
    ],
    ['__proto__ in a patch', 'patch', '{"fields":{"__proto__":null}}', ['fields', '__proto__']],
  ]
  for (const [name, method, body, path] of rows) {
    it(`${name} → 400 naming the key, nothing stored, no prototype touched`, async () => {
      const { app, fileBytes } = await setup()
      const before = await fileBytes()
      const res = await request(app)
        [method]('/api/users/usr_abc123')
        .type(method === 'patch' ? MERGE_PATCH : 'json')
        .send(body)
      expect(res.status).toBe(400)
      const key = String(path.at(-1))
      expect(res.body).toEqual({
        error: 'invalid_request',
        issues: [{ message: `the key "${key}" is not accepted anywhere in a body`, path }],
      })
      expect(await fileBytes()).toEqual(before)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  }
})

describe('query integers are decimal digits only', () => {
  for (const query of [
    'offset=0x10',
    'limit=1e3',
    'offset=',
    'limit=',
    'limit=+5',
    'limit=5.0',
    'offset=%205',
  ]) {
    it(`/api/users?${query} → 400`, async () => {
      const { app } = await setup()
      const res = await request(app).get(`/api/users?${query}`)
      expect(res.status).toBe(400)
      expectIssues(res.body)
    })
  }

  it('/api/requests?limit=0x10 → 400; ?limit=007 reads 7', async () => {
    const { app } = await setup()
    expect((await request(app).get('/api/requests?limit=0x10')).status).toBe(400)
    const users = await request(app).get('/api/users?limit=007')
    expect(users.body.limit).toBe(7)
  })
})

describe('a wrong method on any path of the document → 405 with Allow', () => {
  const document = buildOpenApiDocument({
    endpointPath: '/talki/customer',
    tokenField: 'userToken',
    // setup() builds the app without GET /metrics (METRICS=off), so its document leaves it out.
    metrics: false,
  })
  const methods = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const
  for (const [template, item] of Object.entries(document.paths)) {
    if (template === '/talki/customer') continue
    const allowed = methods.filter((m) => m in item)
    const path = template.replace('{token}', 'usr_bob')
    it(`${template}: ${methods.filter((m) => !allowed.includes(m)).join(', ')} → 405, Allow: ${allowed.join(', ')}`, async () => {
      const { app, fileBytes, simulation } = await setup()
      const before = { bytes: await fileBytes(), simulation: snapshot(simulation) }
      for (const method of methods) {
        if (allowed.includes(method)) continue
        const res = await request(app)[method](path)
        expect(res.status, `${method} ${path}`).toBe(405)
        expect(res.headers.allow?.split(', ').sort()).toEqual(allowed.map((m) => m.toUpperCase()).sort())
        if (method !== 'head') expect(res.body.error).toBe('method_not_allowed')
      }
      expect(await fileBytes()).toEqual(before.bytes)
      expect(snapshot(simulation)).toBe(before.simulation)
    })
  }
})

describe('bodies that are not JSON → 400 invalid_request saying so', () => {
  const rows: [name: string, headers: Record<string, string>, body: string | Buffer][] = [
    ['text that is not JSON', { 'Content-Type': 'application/json' }, 'name=Alice'],
    ['invalid UTF-8', { 'Content-Type': 'application/json' }, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])],
    [
      'charset=utf-16',
      { 'Content-Type': 'application/json; charset=utf-16' },
      Buffer.from('{"name":"A"}', 'utf16le'),
    ],
    [
      'a fake Content-Encoding: gzip',
      { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      '{}',
    ],
  ]
  for (const [name, headers, body] of rows) {
    it(`${name}`, async () => {
      const { app, fileBytes } = await setup()
      const { port } = await listen(app)
      const before = await fileBytes()
      const res = await sendRaw(port, { method: 'PUT', path: '/api/users/usr_bob', headers, body })
      expect(res.status).toBe(400)
      const answer = JSON.parse(res.body)
      expect(answer.error).toBe('invalid_request')
      expect(answer.issues[0].message).toMatch(/^the body is not JSON: /)
      expect(await fileBytes()).toEqual(before)
    })
  }

  it('/api/users/%ZZ → 400 invalid_request naming the token', async () => {
    const { app } = await setup()
    const res = await request(app).get('/api/users/%ZZ')
    expect(res.status).toBe(400)
    expect(res.body.issues).toEqual([{ message: 'the token is not valid percent-encoding', path: ['token'] }])
  })
})

describe('paths are exact, as the document writes them', () => {
  for (const path of ['/api/users/', '/API/users', '/Healthz', '/healthz/', '/api/simulation/']) {
    it(`${path} → 404 not_found`, async () => {
      const { app } = await setup()
      const res = await request(app).get(path)
      expect(res.status).toBe(404)
      expect(res.body).toEqual({ error: 'not_found' })
    })
  }
})

describe('a body sent with GET or DELETE is ignored', () => {
  it('GET /api/users with a text body, DELETE /api/requests with a gzip-declared one: answered as without', async () => {
    const { app } = await setup()
    const { port } = await listen(app)
    const get = await sendRaw(port, {
      method: 'GET',
      path: '/api/users?limit=1',
      headers: { 'Content-Type': 'text/plain', 'Content-Length': '5' },
      body: 'hello',
    })
    expect(get.status).toBe(200)
    expect(JSON.parse(get.body).users).toEqual([ALICE])
    const del = await sendRaw(port, {
      method: 'DELETE',
      path: '/api/requests',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': '3' },
      body: '{"x',
    })
    expect(del.status).toBe(204)
  })
})

describe('POST /api/reset with {"users":"seed"}', () => {
  it('restores the seed’s users, in order, on disk; {} and zero bytes leave users alone', async () => {
    const { app, store, reopen } = await setup()
    await request(app).put('/api/users/usr_abc123').send({ name: 'Wiped' })
    await request(app).delete('/api/users/usr_bob')
    await request(app).put('/api/users/usr_new').send({ plan: 'free' })
    expect((await request(app).post('/api/reset').send({})).status).toBe(204)
    expect((await request(app).post('/api/reset')).status).toBe(204)
    expect(await store.find('usr_new')).toEqual({ userToken: 'usr_new', plan: 'free' })
    const res = await request(app).post('/api/reset').send({ users: 'seed' })
    expect(res.status).toBe(204)
    const list = await request(app).get('/api/users')
    expect(list.body.users).toEqual([ALICE, BOB, CAROL])
    const reopened = await reopen()
    expect((await reopened.list({ offset: 0, limit: 10 })).users).toEqual([ALICE, BOB, CAROL])
  })

  for (const [name, body] of [
    ['{"users":"all"}', { users: 'all' }],
    ['null', null],
    ['["seed"]', ['seed']],
  ] as const) {
    it(`${name} → 400 and nothing reset`, async () => {
      const { app, simulation } = await setup()
      await request(app).put('/api/simulation').send({ scenario: 'error' })
      const before = snapshot(simulation)
      const res = await request(app).post('/api/reset').type('json').send(JSON.stringify(body))
      expect(res.status).toBe(400)
      expectIssues(res.body)
      expect(snapshot(simulation)).toBe(before)
    })
  }

  it('{"users":"all"} names the key', async () => {
    const { app, simulation } = await setup()
    await request(app).put('/api/simulation').send({ scenario: 'error' })
    const before = snapshot(simulation)
    const res = await request(app).post('/api/reset').send({ users: 'all' })
    expect(res.status).toBe(400)
    expect(res.body.issues[0].path).toEqual(['users'])
    expect(snapshot(simulation)).toBe(before)
  })

  it('a seed that cannot be read → 500 seed_unreadable and nothing reset', async () => {
    const { app, simulation, data, fileBytes } = await setup()
    await request(app).put('/api/simulation').send({ scenario: 'error' })
    const before = { simulation: snapshot(simulation), bytes: await fileBytes() }
    await rm(data.seedFile)
    const res = await request(app).post('/api/reset').send({ users: 'seed' })
    expect(res.status).toBe(500)
    expect(res.body.error).toBe('seed_unreadable')
    expect(snapshot(simulation)).toBe(before.simulation)
    expect(await fileBytes()).toEqual(before.bytes)
  })
})

describe('the TLS faults through the admin API', () => {
  it('refuses a TLS fault with 400 tls_not_enabled when the mock serves plain HTTP, and changes nothing', async () => {
    const { app } = await setup()
    for (const body of ['tls_expired', { scenario: 'tls_hang', maxMs: 1000 }]) {
      const res = await request(app)
        .put('/api/simulation')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body))
      expect(res.status).toBe(400)
      expect(res.body.error).toBe('tls_not_enabled')
      expect(res.body.issues[0].message).toMatch(/TLS=self-signed, or TLS_CERT and TLS_KEY/)
    }
    expect((await request(app).get('/api/simulation')).body.override).toBeNull()
  })

  it('sets a TLS fault with HTTPS on, without count or probability', async () => {
    const { app } = await setup({ tlsEnabled: true })
    const set = await request(app).put('/api/simulation').send({ scenario: 'tls_hang' })
    expect(set.status).toBe(200)
    expect(set.body.override).toEqual({ scenario: 'tls_hang', maxMs: 60000 })
    const counted = await request(app).put('/api/simulation').send({ scenario: 'tls_expired', count: 2 })
    expect(counted.status).toBe(400)
    expect(counted.body.error).toBe('invalid_request')
  })

  it('refuses a TLS fault as a user’s own scenario with a 400 that says it is global only', async () => {
    const { app } = await setup({ tlsEnabled: true })
    const res = await request(app).put('/api/users/usr_tls').send({ name: 'T', simulate: 'tls_untrusted' })
    expect(res.status).toBe(400)
    expect(res.body).toEqual({
      error: 'invalid_request',
      issues: [
        {
          message:
            "tls_untrusted acts on TLS handshakes, not on one user's requests: set it globally (PUT /api/simulation or SIMULATE)",
          path: ['simulate'],
        },
      ],
    })
  })

  it('says in the catalogue which scenarios take count and probability', async () => {
    const { app } = await setup()
    const { scenarios } = (await request(app).get('/api/scenarios')).body as {
      scenarios: { name: string; limits: boolean }[]
    }
    const without = scenarios.filter((s) => !s.limits).map((s) => s.name)
    expect(without).toEqual(['down', 'tls_expired', 'tls_wrong_host', 'tls_untrusted', 'tls_hang'])
  })
})
