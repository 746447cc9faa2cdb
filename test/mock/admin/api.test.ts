import { readdir } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import type { CompletedRequest, RequestLogEntry } from '../../../src/mock/state/request-log.js'
import type { UserRecord } from '../../../src/mock/users/record.js'
import { until } from '../../process.js'
import { ALICE } from '../../support.js'
import { ADMIN_TOKEN, BOB, CAROL, expectIssues, listen, openStream, setup, snapshot } from './harness.js'

function completed(token: string, status = 200): CompletedRequest {
  const now = performance.now()
  return {
    method: 'POST',
    path: '/talki/customer',
    headerNames: ['content-type', 'x-talki-signature'],
    bodyBytes: 25,
    token,
    verdict: 'valid',
    findings: null,
    scenario: null,
    status,
    latencyMs: 1,
    callerGaveUpMs: null,
    startedAt: now,
    endedAt: now + 1,
    arrivedAt: Date.now(),
  }
}

/** Reads the stream until `done` says the text so far is enough; bounded by a timeout. */
function readUntil(res: IncomingMessage, done: (text: string) => boolean, timeoutMs = 3000) {
  return new Promise<string>((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`stream gave only: ${JSON.stringify(text)}`)), timeoutMs)
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      text += chunk
      if (done(text)) {
        clearTimeout(timer)
        res.destroy()
        resolve(text)
      }
    })
  })
}

describe('admin app', () => {
  describe('GET /healthz', () => {
    it('answers 200 {"ok":true}, even while the endpoint is down', async () => {
      const { app, downtime } = await setup()
      downtime.start(10_000)
      const res = await request(app).get('/healthz')
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ ok: true })
    })

    it("sends helmet's headers with a CSP that allows self and never upgrades to HTTPS", async () => {
      const { app } = await setup()
      const res = await request(app).get('/healthz')
      const csp = res.headers['content-security-policy'] as string
      expect(csp).toContain("script-src 'self'")
      expect(csp).toContain("style-src 'self'")
      expect(csp).toContain("connect-src 'self'")
      expect(csp).not.toContain('upgrade-insecure-requests')
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['x-powered-by']).toBeUndefined()
    })
  })

  describe('unknown paths and the dashboard', () => {
    it('answers an unknown /api path with 404 JSON and no-store', async () => {
      const { app } = await setup()
      const res = await request(app).get('/api/nope')
      expect(res.status).toBe(404)
      expect(res.body).toEqual({ error: 'not_found' })
      expect(res.headers['cache-control']).toBe('no-store')
    })

    it("answers the endpoint's path with a 404 that names the endpoint's port", async () => {
      const { app } = await setup({ adminToken: ADMIN_TOKEN })
      for (const method of ['post', 'get'] as const) {
        const res = await request(app)[method]('/talki/customer').send('{"userToken":"usr_abc123"}')
        expect(res.status).toBe(404)
        expect(res.body).toEqual({
          error: 'not_found',
          issues: [
            {
              message:
                "this is the admin port; the endpoint /talki/customer listens on port 3000, send Talki's requests there",
            },
          ],
        })
      }
    })

    it('answers GET / with the dashboard, or a JSON 404 while the dashboard is not there', async () => {
      const { app } = await setup({ adminToken: ADMIN_TOKEN })
      const res = await request(app).get('/')
      expect([200, 404]).toContain(res.status)
      if (res.status === 404) expect(res.body).toEqual({ error: 'not_found' })
      else expect(res.headers['content-type']).toMatch(/text\/html/)
    })
  })

  describe('authentication', () => {
    const routes: [method: 'get' | 'put' | 'delete' | 'post', path: string][] = [
      ['get', '/api/simulation'],
      ['put', '/api/simulation'],
      ['delete', '/api/simulation'],
      ['post', '/api/reset'],
      ['get', '/api/users'],
      ['get', '/api/users/usr_abc123'],
      ['put', '/api/users/usr_abc123'],
      ['delete', '/api/users/usr_abc123'],
      ['get', '/api/requests'],
      ['delete', '/api/requests'],
      ['get', '/api/openapi.json'],
      ['get', '/api/no-such-route'],
    ]

    describe('without ADMIN_TOKEN', () => {
      it('leaves /api open', async () => {
        const { app } = await setup()
        const res = await request(app).get('/api/simulation')
        expect(res.status).toBe(200)
        expect(res.body).toEqual({ override: null, remaining: null, startup: null, downUntil: null })
      })
    })

    describe('with ADMIN_TOKEN set', () => {
      const wrong = [
        ['no Authorization header', undefined],
        ['a wrong token', `Bearer ${ADMIN_TOKEN}x`],
        ['a one-character token', 'Bearer x'],
        ['a very long token', `Bearer ${'a'.repeat(5000)}`],
        ['the token without the Bearer scheme', ADMIN_TOKEN],
        ['Basic credentials', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`],
      ] as const
      for (const [method, path] of routes) {
        for (const [name, header] of wrong) {
          it(`${method.toUpperCase()} ${path} with ${name} → 401 unauthorized, nothing changed`, async () => {
            const { app, simulation, fileBytes, requestLog, downtime } = await setup({
              adminToken: ADMIN_TOKEN,
            })
            requestLog.record(completed('usr_abc123'))
            const before = { state: snapshot(simulation), bytes: await fileBytes() }
            let call = request(app)[method](path)
            if (header !== undefined) call = call.set('Authorization', header)
            const res = await call.send(method === 'put' ? { scenario: 'slow' } : undefined)
            expect(res.status).toBe(401)
            expect(res.body).toEqual({ error: 'unauthorized' })
            expect(res.headers['www-authenticate']).toBe('Bearer')
            expect(snapshot(simulation)).toBe(before.state)
            expect(await fileBytes()).toEqual(before.bytes)
            expect(requestLog.list()).toHaveLength(1)
            expect(downtime.calls).toEqual([])
          })
        }
      }

      it('accepts the right bearer token (scheme in any case)', async () => {
        const { app } = await setup({ adminToken: ADMIN_TOKEN })
        const res = await request(app).get('/api/users').set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        expect(res.status).toBe(200)
        expect(res.body.total).toBe(3)
        const lower = await request(app).get('/api/simulation').set('Authorization', `bearer ${ADMIN_TOKEN}`)
        expect(lower.status).toBe(200)
      })

      it('refuses ?token= on every route but the stream', async () => {
        const { app } = await setup({ adminToken: ADMIN_TOKEN })
        const res = await request(app).get(`/api/users?token=${ADMIN_TOKEN}`)
        expect(res.status).toBe(401)
        expect(res.body).toEqual({ error: 'unauthorized' })
      })

      it('accepts ?token= on the stream, and refuses a wrong one', async () => {
        const { app } = await setup({ adminToken: ADMIN_TOKEN })
        const { port } = await listen(app)
        const refused = await request(app).get('/api/requests/stream?token=wrong')
        expect(refused.status).toBe(401)
        const res = await openStream(port, `/api/requests/stream?token=${ADMIN_TOKEN}`)
        expect(res.statusCode).toBe(200)
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
        res.destroy()
      })

      it('leaves /healthz open', async () => {
        const { app } = await setup({ adminToken: ADMIN_TOKEN })
        const res = await request(app).get('/healthz')
        expect(res.status).toBe(200)
      })
    })
  })

  describe('/api/simulation', () => {
    it('shows the SIMULATE scenario with its defaults filled as startup', async () => {
      const { app } = await setup({ startup: 'slow' })
      const res = await request(app).get('/api/simulation')
      expect(res.body).toEqual({
        override: null,
        remaining: null,
        startup: { scenario: 'slow', delayMs: 6000, jitterMs: 0 },
        downUntil: null,
      })
      expect(res.headers['cache-control']).toBe('no-store')
    })

    const puts: [name: string, body: unknown, override: unknown, remaining: number | null][] = [
      ['a bare name', 'slow', { scenario: 'slow', delayMs: 6000, jitterMs: 0 }, null],
      ['an error status', { scenario: 'error', status: 503 }, { scenario: 'error', status: 503 }, null],
      [
        'count and probability',
        { scenario: 'error', status: 502, count: 2, probability: 0.5 },
        { scenario: 'error', status: 502, count: 2, probability: 0.5 },
        2,
      ],
      [
        'flaky',
        'flaky',
        { scenario: 'flaky', failWith: { scenario: 'error', status: 503 }, windowMs: 10_000 },
        null,
      ],
      [
        'a sequence',
        { sequence: ['error', { scenario: 'slow', delayMs: 100 }, 'ok'], count: 5 },
        {
          sequence: [
            { scenario: 'error', status: 500 },
            { scenario: 'slow', delayMs: 100, jitterMs: 0 },
            { scenario: 'ok' },
          ],
          windowMs: 10_000,
          count: 5,
        },
        5,
      ],
    ]
    for (const [name, body, override, remaining] of puts) {
      it(`PUT ${name} → 200 with the filled override, and GET shows the same`, async () => {
        const { app, downtime } = await setup()
        const res = await request(app).put('/api/simulation').send(JSON.stringify(body)).type('json')
        expect(res.status).toBe(200)
        expect(res.body).toEqual({ override, remaining, startup: null, downUntil: null })
        const get = await request(app).get('/api/simulation')
        expect(get.body).toEqual(res.body)
        expect(downtime.calls).toEqual([])
      })
    }

    it('PUT down closes the port at once and shows the override until it reopens', async () => {
      const { app, downtime } = await setup()
      const res = await request(app).put('/api/simulation').send({ scenario: 'down', durationMs: 2500 })
      expect(res.status).toBe(200)
      expect(res.body.override).toEqual({ scenario: 'down', durationMs: 2500 })
      expect(downtime.calls).toEqual(['start:2500'])
    })

    it('PUT of another scenario over a global down ends the downtime first', async () => {
      const { app, downtime, simulation } = await setup()
      await request(app).put('/api/simulation').send({ scenario: 'down' })
      const res = await request(app).put('/api/simulation').send({ scenario: 'slow', delayMs: 4500 })
      expect(res.status).toBe(200)
      expect(downtime.calls).toEqual(['start:10000', 'end'])
      expect(simulation.override?.simulation).toEqual({ scenario: 'slow', delayMs: 4500, jitterMs: 0 })
    })

    it('PUT down over a global down moves its end without reopening the port', async () => {
      const { app, downtime } = await setup()
      await request(app).put('/api/simulation').send({ scenario: 'down', durationMs: 60_000 })
      const res = await request(app).put('/api/simulation').send({ scenario: 'down', durationMs: 2000 })
      expect(res.body.override).toEqual({ scenario: 'down', durationMs: 2000 })
      expect(downtime.calls).toEqual(['start:60000', 'start:2000'])
    })

    it('DELETE → 204, clears the override and ends any downtime', async () => {
      const { app, downtime, simulation } = await setup()
      await request(app).put('/api/simulation').send({ scenario: 'down', durationMs: 60_000 })
      const res = await request(app).delete('/api/simulation')
      expect(res.status).toBe(204)
      expect(res.text).toBe('')
      expect(simulation.override).toBeNull()
      expect(downtime.calls).toEqual(['start:60000', 'end'])
      expect((await request(app).get('/api/simulation')).body.override).toBeNull()
    })

    const refused: [name: string, body: string][] = [
      ['an unknown scenario', '{"scenario":"explode"}'],
      ['an unknown bare name', '"slo"'],
      ['down with count', '{"scenario":"down","count":1}'],
      ['down with probability', '{"scenario":"down","probability":0.5}'],
      ['probability above 1', '{"scenario":"slow","probability":1.5}'],
      ['probability below 0', '{"scenario":"slow","probability":-0.1}'],
      ['count 0', '{"scenario":"slow","count":0}'],
      ['a fractional count', '{"scenario":"slow","count":1.5}'],
      ['a negative delay', '{"scenario":"slow","delayMs":-1}'],
      ['a delay over 600000', '{"scenario":"slow","delayMs":600001}'],
      ['a delay as a string', '{"scenario":"slow","delayMs":"6000"}'],
      ['an unknown key', '{"scenario":"slow","delay":6000}'],
      ['an unsupported status', '{"scenario":"error","status":501}'],
      ['an empty sequence', '{"sequence":[]}'],
      ['down inside a sequence', '{"sequence":["error","down"]}'],
      ['flaky inside a sequence', '{"sequence":["flaky"]}'],
      ['a number', '5'],
      ['null', 'null'],
      ['an array', '["slow"]'],
      ['an empty object', '{}'],
    ]
    for (const [name, body] of refused) {
      it(`PUT ${name} → 400 invalid_request with issues, nothing changed`, async () => {
        const { app, simulation, downtime, fileBytes } = await setup()
        await request(app).put('/api/simulation').send({ scenario: 'error', status: 503, count: 3 })
        simulation.cursors.set('override:1:10000:usr_a', { index: 1, lastAt: 5 })
        const before = { state: snapshot(simulation), bytes: await fileBytes() }
        const res = await request(app).put('/api/simulation').type('json').send(body)
        expect(res.status).toBe(400)
        expectIssues(res.body)
        expect(snapshot(simulation)).toBe(before.state)
        expect(await fileBytes()).toEqual(before.bytes)
        expect(downtime.calls).toEqual([])
      })
    }

    it('names the offending field in the issue path', async () => {
      const { app } = await setup()
      const res = await request(app).put('/api/simulation').send({ scenario: 'slow', probability: 2 })
      expect(res.body.issues).toEqual([{ path: ['probability'], message: expect.stringMatching(/1/) }])
    })

    it('answers bad JSON with 400 invalid_request saying the body is not JSON, nothing changed', async () => {
      const { app, simulation } = await setup()
      const before = snapshot(simulation)
      const res = await request(app).put('/api/simulation').type('json').send('{"scenario":')
      expect(res.status).toBe(400)
      expect(res.body).toEqual({
        error: 'invalid_request',
        issues: [{ message: expect.stringMatching(/^the body is not JSON: /) }],
      })
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js/)
      expect(snapshot(simulation)).toBe(before)
    })

    it('answers a body over 1 MB with 413 payload_too_large', async () => {
      const { app, simulation } = await setup()
      const before = snapshot(simulation)
      const body = JSON.stringify({ sequence: Array.from({ length: 300_000 }, () => 'ok') })
      const res = await request(app).put('/api/simulation').type('json').send(body)
      expect(res.status).toBe(413)
      expect(res.headers.connection).toBe('close')
      expect(res.body).toEqual({
        error: 'payload_too_large',
        issues: [{ message: 'the body is over 1048576 bytes' }],
      })
      expect(snapshot(simulation)).toBe(before)
    })

    it('answers a body that is not declared JSON with 415', async () => {
      const { app, simulation } = await setup()
      const before = snapshot(simulation)
      const res = await request(app).put('/api/simulation').type('text/plain').send('{"scenario":"slow"}')
      expect(res.status).toBe(415)
      expect(res.body).toEqual({
        error: 'unsupported_media_type',
        issues: [{ message: 'PUT takes an application/json body (Content-Type: application/json)' }],
      })
      expect(snapshot(simulation)).toBe(before)
    })

    it('answers a missing body with 400 invalid_request', async () => {
      const { app, simulation } = await setup()
      const before = snapshot(simulation)
      const res = await request(app).put('/api/simulation')
      expect(res.status).toBe(400)
      expectIssues(res.body)
      expect(snapshot(simulation)).toBe(before)
    })
  })

  describe('POST /api/reset', () => {
    it('→ 204: clears the override, every sequence state and the request log, and ends downtime', async () => {
      const { app, simulation, requestLog, downtime } = await setup({ startup: 'slow' })
      await request(app)
        .put('/api/simulation')
        .send({ sequence: ['error', 'ok'] })
      simulation.cursors.set('user:0:10000:usr_flaky_twice', { index: 1, lastAt: 1 })
      requestLog.record(completed('usr_abc123'))
      const res = await request(app).post('/api/reset')
      expect(res.status).toBe(204)
      expect(simulation.override).toBeNull()
      expect(simulation.cursors.size).toBe(0)
      expect(requestLog.list()).toEqual([])
      expect(downtime.calls).toEqual(['end'])
      // SIMULATE stays: it is configuration, not run-time state.
      expect((await request(app).get('/api/simulation')).body.startup).toEqual({
        scenario: 'slow',
        delayMs: 6000,
        jitterMs: 0,
      })
    })
  })

  describe('/api/users', () => {
    it('lists users in store order with total, offset and limit', async () => {
      const { app } = await setup()
      const res = await request(app).get('/api/users')
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ total: 3, offset: 0, limit: 50, users: [ALICE, BOB, CAROL] })
    })

    const queries: [query: string, tokens: string[], total: number][] = [
      ['q=ALICE', ['usr_abc123'], 1],
      ['q=example', ['usr_abc123', 'usr_bob'], 2],
      ['q=pro', ['usr_abc123', 'usr_carol'], 2],
      ['q=usr_c', ['usr_carol'], 1],
      ['q=nobody', [], 0],
      ['q=', ['usr_abc123', 'usr_bob', 'usr_carol'], 3],
      ['offset=1&limit=1', ['usr_bob'], 3],
      ['offset=5', [], 3],
      ['q=example&offset=1', ['usr_bob'], 2],
      ['limit=1000', ['usr_abc123', 'usr_bob', 'usr_carol'], 3],
    ]
    for (const [query, tokens, total] of queries) {
      it(`?${query} → ${tokens.join(', ') || 'none'} of ${total}`, async () => {
        const { app } = await setup()
        const res = await request(app).get(`/api/users?${query}`)
        expect(res.status).toBe(200)
        expect(res.body.total).toBe(total)
        expect(res.body.users.map((user: UserRecord) => user.userToken)).toEqual(tokens)
      })
    }

    for (const query of ['limit=1001', 'limit=0', 'offset=-1', 'limit=abc', 'limit=2.5', 'limit=1&limit=2']) {
      it(`?${query} → 400 invalid_request`, async () => {
        const { app } = await setup()
        const res = await request(app).get(`/api/users?${query}`)
        expect(res.status).toBe(400)
        expectIssues(res.body)
      })
    }

    it('GET one → the stored record with userToken and simulate', async () => {
      const { app } = await setup()
      const res = await request(app).get('/api/users/usr_bob')
      expect(res.status).toBe(200)
      expect(res.body).toEqual(BOB)
    })

    for (const token of ['usr_missing', '__proto__', 'constructor', 'toString']) {
      it(`GET ${token} → 404 user_not_found`, async () => {
        const { app } = await setup()
        const res = await request(app).get(`/api/users/${token}`)
        expect(res.status).toBe(404)
        expect(res.body).toEqual({ error: 'user_not_found' })
      })
    }

    it('PUT a new user → 201 with the stored record, last in the list, kept on disk', async () => {
      const { app, reopen } = await setup()
      const dave = { userToken: 'usr_dave', name: 'Dave', fields: { seats: 3, vip: true, note: 'hi' } }
      const res = await request(app).put('/api/users/usr_dave').send(dave)
      expect(res.status).toBe(201)
      expect(res.body).toEqual(dave)
      const list = await request(app).get('/api/users')
      expect(list.body.users.map((user: UserRecord) => user.userToken)).toEqual([
        'usr_abc123',
        'usr_bob',
        'usr_carol',
        'usr_dave',
      ])
      const fromDisk = await reopen()
      expect(await fromDisk.find('usr_dave')).toEqual(dave)
    })

    it('PUT an existing user → 200, replaced in place (not merged), kept on disk', async () => {
      const { app, reopen } = await setup()
      const bob = { name: 'Robert Stone', plan: 'enterprise', simulate: { scenario: 'error', status: 503 } }
      const res = await request(app).put('/api/users/usr_bob').send(bob)
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ userToken: 'usr_bob', ...bob })
      const list = await request(app).get('/api/users')
      expect(list.body.users.map((user: UserRecord) => user.userToken)).toEqual([
        'usr_abc123',
        'usr_bob',
        'usr_carol',
      ])
      expect(list.body.users[1]).toEqual({ userToken: 'usr_bob', ...bob })
      const fromDisk = await reopen()
      const stored = await fromDisk.find('usr_bob')
      expect(stored).toEqual({ userToken: 'usr_bob', ...bob })
      expect(stored?.email).toBeUndefined()
      expect((await fromDisk.list({ offset: 0, limit: 10 })).users.map((user) => user.userToken)).toEqual([
        'usr_abc123',
        'usr_bob',
        'usr_carol',
      ])
    })

    it('PUT {} stores a user with only its token (Talki shows an empty profile)', async () => {
      const { app } = await setup()
      const res = await request(app).put('/api/users/usr_empty').send({})
      expect(res.status).toBe(201)
      expect(res.body).toEqual({ userToken: 'usr_empty' })
    })

    const badRecords: [name: string, body: string][] = [
      ['a userToken that differs from the path', '{"userToken":"usr_other","name":"X"}'],
      ['an unknown key', '{"name":"X","phone":"123"}'],
      ['a nested object in fields', '{"fields":{"address":{"city":"Paris"}}}'],
      ['a number as name', '{"name":42}'],
      ['a bad simulate', '{"simulate":{"scenario":"slow","delayMs":-5}}'],
      ['an unknown simulate', '{"simulate":"explode"}'],
      ['an array', '[{"name":"X"}]'],
      ['a string', '"X"'],
      ['null', 'null'],
    ]
    for (const [name, body] of badRecords) {
      it(`PUT ${name} → 400 invalid_request, file bytes unchanged`, async () => {
        const { app, fileBytes, store } = await setup()
        const before = await fileBytes()
        const res = await request(app).put('/api/users/usr_bob').type('json').send(body)
        expect(res.status).toBe(400)
        expectIssues(res.body)
        expect(await fileBytes()).toEqual(before)
        expect(await store.find('usr_bob')).toEqual(BOB)
      })
    }

    it('names userToken as the issue when it differs from the path', async () => {
      const { app } = await setup()
      const res = await request(app).put('/api/users/usr_bob').send({ userToken: 'usr_carol' })
      expect(res.body.issues).toEqual([
        { path: ['userToken'], message: 'userToken in the body must match the token in the path' },
      ])
    })

    it('accepts a userToken in the body that matches the path', async () => {
      const { app } = await setup()
      const res = await request(app).put('/api/users/usr_new').send({ userToken: 'usr_new', plan: 'free' })
      expect(res.status).toBe(201)
      expect(res.body).toEqual({ userToken: 'usr_new', plan: 'free' })
    })

    it('DELETE → 204, then 404; the deletion is kept on disk', async () => {
      const { app, reopen } = await setup()
      const res = await request(app).delete('/api/users/usr_bob')
      expect(res.status).toBe(204)
      const again = await request(app).delete('/api/users/usr_bob')
      expect(again.status).toBe(404)
      expect(again.body).toEqual({ error: 'user_not_found' })
      const fromDisk = await reopen()
      expect(await fromDisk.find('usr_bob')).toBeUndefined()
      expect((await fromDisk.list({ offset: 0, limit: 10 })).total).toBe(2)
    })

    describe('tokens are keys, never file paths', () => {
      const tricky = [
        '../../etc/passwd',
        '..\\..\\windows',
        '/etc/hosts',
        'a/b',
        '%2e%2e',
        'usr x',
        'ü🙂',
        '\u0000nul',
      ]

      for (const token of tricky) {
        it(`${JSON.stringify(token)}: 404 before, stored as is by PUT, read back, no file touched`, async () => {
          const { app, data, reopen } = await setup()
          const path = `/api/users/${encodeURIComponent(token)}`
          const filesBefore = (await readdir(data.dir)).sort()
          expect((await request(app).get(path)).status).toBe(404)
          const put = await request(app).put(path).send({ name: 'Tricky' })
          expect(put.status).toBe(201)
          expect(put.body).toEqual({ userToken: token, name: 'Tricky' })
          const get = await request(app).get(path)
          expect(get.status).toBe(200)
          expect(get.body.userToken).toBe(token)
          expect((await readdir(data.dir)).sort()).toEqual(filesBefore)
          expect(await (await reopen()).find(token)).toEqual({ userToken: token, name: 'Tricky' })
          expect((await request(app).delete(path)).status).toBe(204)
        })
      }

      it('a 257-character token → 400; 256 is fine', async () => {
        const { app, fileBytes } = await setup()
        const before = await fileBytes()
        const long = await request(app)
          .put(`/api/users/${'t'.repeat(257)}`)
          .send({ name: 'Long' })
        expect(long.status).toBe(400)
        expectIssues(long.body)
        expect((await request(app).get(`/api/users/${'t'.repeat(257)}`)).status).toBe(400)
        expect(await fileBytes()).toEqual(before)
        const ok = await request(app)
          .put(`/api/users/${'t'.repeat(256)}`)
          .send({ name: 'Long' })
        expect(ok.status).toBe(201)
      })

      it('a broken percent-encoding → 400 JSON, never a 5xx', async () => {
        const { app } = await setup()
        const res = await request(app).get('/api/users/%E0%A4%A')
        expect(res.status).toBe(400)
        expect(res.body).toEqual({
          error: 'invalid_request',
          issues: [{ message: 'the token is not valid percent-encoding', path: ['token'] }],
        })
      })
    })
  })

  describe('/api/requests', () => {
    it('lists entries newest first, honours ?limit, and DELETE clears them', async () => {
      const { app, requestLog } = await setup()
      requestLog.record(completed('usr_a'))
      requestLog.record(completed('usr_b', 404))
      requestLog.record(completed('usr_c', 503))
      const res = await request(app).get('/api/requests')
      expect(res.status).toBe(200)
      expect(res.body.requests.map((entry: RequestLogEntry) => entry.token)).toEqual([
        'usr_c',
        'usr_b',
        'usr_a',
      ])
      expect(res.body.requests[0]).toEqual(requestLog.list()[0])
      const one = await request(app).get('/api/requests?limit=1')
      expect(one.body.requests.map((entry: RequestLogEntry) => entry.status)).toEqual([503])
      expect((await request(app).get('/api/requests?limit=0')).status).toBe(400)
      const cleared = await request(app).delete('/api/requests')
      expect(cleared.status).toBe(204)
      expect((await request(app).get('/api/requests')).body).toEqual({ requests: [] })
    })
  })

  describe('GET /api/requests/stream', () => {
    it('sends `data: <entry>` for a request completed after connecting, and lets go on close', async () => {
      const { app, requestLog } = await setup()
      const { port } = await listen(app)
      const res = await openStream(port)
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
      expect(res.headers['cache-control']).toBe('no-store')
      await until(() => requestLog.subscribers === 1)
      requestLog.record(completed('usr_streamed', 200))
      const [entry] = requestLog.list(1)
      const text = await readUntil(res, (sofar) => {
        const start = sofar.indexOf('data: ')
        return start >= 0 && sofar.includes('\n\n', start)
      })
      const line = text.split('\n').find((l) => l.startsWith('data: '))
      expect(JSON.parse(line?.slice('data: '.length) ?? '')).toEqual(entry)
      await until(() => requestLog.subscribers === 0)
    })

    it('sends a heartbeat comment while idle', async () => {
      const { app } = await setup({ heartbeatMs: 30 })
      const { port } = await listen(app)
      const res = await openStream(port)
      const text = await readUntil(res, (sofar) => sofar.includes(': heartbeat\n\n'))
      expect(text).not.toContain('data: ')
    })
  })
})
