import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { MAX_STREAMS } from '../../../src/mock/admin/api.js'
import { buildOpenApiDocument } from '../../../src/mock/admin/openapi.js'
import { ADMIN_ERROR_HEADERS, ADMIN_ERRORS, Refusal } from '../../../src/mock/admin/refusal.js'
import { ADMIN_TOKEN, listen, openStream, setup } from './harness.js'

// Every admin refusal is a Refusal answered by the app's one error handler, which writes the headers the
// refusal carries: those of its code (ADMIN_ERROR_HEADERS) and those of the one answer (the 405's Allow).

describe('Refusal', () => {
  it("carries its code's status and headers, and the headers of its own answer beside them", () => {
    const unauthorized = new Refusal('unauthorized')
    expect(unauthorized.status).toBe(401)
    expect(unauthorized.headers).toEqual({ 'WWW-Authenticate': 'Bearer' })
    expect(unauthorized.body).toEqual({ error: 'unauthorized' })

    const wrongMethod = new Refusal('method_not_allowed', [{ message: '/x answers GET' }], { Allow: 'GET' })
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers).toEqual({ Allow: 'GET' })
    expect(wrongMethod.body).toEqual({ error: 'method_not_allowed', issues: [{ message: '/x answers GET' }] })

    expect(new Refusal('store_unavailable').headers).toEqual({ 'Retry-After': '3' })
  })
})

describe('the admin app answers every refusal through its one error handler', () => {
  it('405: the Allow header and the issue come from the refusal the middleware passes on', async () => {
    const { app } = await setup()
    const res = await request(app).post('/api/simulation')
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET, PUT, DELETE')
    expect(res.body).toEqual({
      error: 'method_not_allowed',
      issues: [{ message: '/api/simulation answers GET, PUT, DELETE' }],
    })
  })

  it("401: WWW-Authenticate comes from the code's headers", async () => {
    const { app } = await setup({ adminToken: ADMIN_TOKEN })
    const res = await request(app).get('/api/users').set('Authorization', 'Bearer wrong')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body).toEqual({ error: 'unauthorized' })
  })

  it(`429: the stream past ${MAX_STREAMS} open ones is refused too_many_streams, and the next after one closes is served`, async () => {
    const { app } = await setup()
    const { port } = await listen(app)
    const open = await Promise.all(Array.from({ length: MAX_STREAMS }, () => openStream(port)))
    expect(open.every((res) => res.statusCode === 200)).toBe(true)

    const refused = await request(app).get('/api/requests/stream')
    expect(refused.status).toBe(429)
    expect(refused.headers['content-type']).toMatch(/^application\/json/)
    expect(refused.headers['cache-control']).toBe('no-store')
    expect(refused.body).toEqual({ error: 'too_many_streams' })

    const first = open[0]
    if (!first) throw new Error('no stream opened')
    const closed = new Promise((resolve) => first.once('close', resolve))
    first.destroy()
    await closed
    // The server sees the close a moment later: wait for a slot to come free (generous bound).
    let again = await openStream(port)
    for (let tries = 0; again.statusCode !== 200 && tries < 50; tries++) {
      again.destroy()
      await new Promise((resolve) => setTimeout(resolve, 100))
      again = await openStream(port)
    }
    expect(again.statusCode).toBe(200)
  })

  it('413: the refusal carries Connection: close, so the rest of the body is not read', async () => {
    const { app } = await setup()
    const res = await request(app)
      .put('/api/users/usr_big')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 1) }))
    expect(res.status).toBe(413)
    expect(res.headers.connection).toBe('close')
    expect(res.body.error).toBe('payload_too_large')
  })
})

describe('the document', () => {
  it("lists, beside each refusal's status, exactly the headers its codes carry", () => {
    const doc = buildOpenApiDocument({ endpointPath: '/talki/customer', tokenField: 'userToken' })
    let checked = 0
    for (const item of Object.values(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const operation of Object.values(item)) {
        const responses = (operation as { responses?: Record<string, Record<string, unknown>> }).responses
        for (const [status, response] of Object.entries(responses ?? {})) {
          const schema = (response.content as Record<string, { schema?: { properties?: unknown } }>)?.[
            'application/json'
          ]?.schema
          const codes = (schema?.properties as { error?: { enum?: string[] } } | undefined)?.error?.enum
          if (!codes || status === '405') continue
          const expected: Record<string, unknown> = {}
          for (const code of codes) {
            expect(ADMIN_ERRORS[code as keyof typeof ADMIN_ERRORS]).toBe(Number(status))
            for (const [name, value] of Object.entries(
              ADMIN_ERROR_HEADERS[code as keyof typeof ADMIN_ERRORS] ?? {},
            ))
              expected[name] = { schema: { type: 'string', const: value } }
          }
          expect(response.headers ?? {}).toEqual(expected)
          checked++
        }
      }
    }
    expect(checked).toBeGreaterThan(20)
  })
})
